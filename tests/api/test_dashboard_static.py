"""The built dashboard (api/dashboard/dist, made by `make dashboard`) served by the FastAPI app at `/`."""
from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

warnings.filterwarnings("ignore", message=".*httpx.*starlette.testclient.*")

from fastapi.testclient import TestClient  # noqa: E402

from api.app import create_app  # noqa: E402
from api.fake_client import FakeSystemClient  # noqa: E402
from api.settings import DASHBOARD_DIST, ApiSettings  # noqa: E402

ASSET = re.compile(r'(?:src|href)="\.?/?(assets/[^"]+\.(?:js|css))"')


@pytest.fixture(scope="module")
def dist() -> Path:
    if not (DASHBOARD_DIST / "index.html").is_file():
        pytest.skip(f"the dashboard is not built ({DASHBOARD_DIST}/index.html missing): run `make dashboard`")
    return DASHBOARD_DIST


@pytest.fixture
def client(dist: Path) -> Iterator[TestClient]:
    with TestClient(create_app(FakeSystemClient(seed=7), ApiSettings(dashboard_dir=dist))) as c:
        yield c


def test_root_serves_the_built_index_html(client: TestClient, dist: Path) -> None:
    res = client.get("/")

    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/html")
    assert res.text == (dist / "index.html").read_text()
    assert '<div id="root">' in res.text


def test_every_asset_the_index_references_is_served_with_its_type(client: TestClient, dist: Path) -> None:
    assets = ASSET.findall(client.get("/").text)

    assert {Path(a).suffix for a in assets} == {".js", ".css"}
    for asset in assets:
        res = client.get(f"/{asset}")
        assert res.status_code == 200, asset
        assert res.content == (dist / asset).read_bytes()
        expected = "javascript" if asset.endswith(".js") else "text/css"
        assert expected in res.headers["content-type"], (asset, res.headers["content-type"])


def test_the_bundle_talks_to_the_live_socket_and_the_api_of_this_server(client: TestClient) -> None:
    script = next(a for a in ASSET.findall(client.get("/").text) if a.endswith(".js"))

    bundle = client.get(f"/{script}").text

    # Same-origin paths only: the page works wherever the server runs, with no host baked in.
    assert "/ws/live" in bundle
    assert "/api/wfo/jobs" in bundle
    assert "127.0.0.1:8000" not in bundle


def test_api_routes_still_win_over_the_mounted_dashboard(client: TestClient) -> None:
    health = client.get("/health")
    missing = client.get("/api/not-a-route")

    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/json")


def test_without_a_built_dashboard_the_root_is_a_plain_404(tmp_path: Path) -> None:
    settings = ApiSettings(dashboard_dir=tmp_path / "no-dist")

    with TestClient(create_app(FakeSystemClient(seed=7), settings)) as c:
        res = c.get("/")

    assert res.status_code == 404
