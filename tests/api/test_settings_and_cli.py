"""ApiSettings from the environment (loopback by default, key as a secret, CORS off until origins are
given, clear errors), CORS behaviour of the app, and `radar api --fake` serving on 127.0.0.1."""
from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from api.settings import ApiSettings
from radar.cli.api_cmd import register
from radar.errors import ConfigError, RadarError
from tests.conftest import REPO_ROOT


def test_defaults_bind_loopback_with_cors_off_and_no_key():
    s = ApiSettings.from_env({})
    assert (s.host, s.port, s.cors_origins, s.api_key, s.ws_update_interval_s) == ("127.0.0.1", 8000, (), None, 3.0)
    assert s.database_url == "sqlite:///data/radar.db"


def test_environment_overrides_and_the_key_never_shows():
    env = {"RADAR_API_KEY": "s3cret-value", "RADAR_API_PORT": "8123", "DATABASE_URL": "sqlite:////tmp/x.db",
           "RADAR_API_CORS_ORIGINS": "http://localhost:5173, http://127.0.0.1:5173", "RADAR_API_WS_INTERVAL_S": "1.5"}
    s = ApiSettings.from_env(env, host="0.0.0.0")

    assert (s.host, s.port, s.ws_update_interval_s) == ("0.0.0.0", 8123, 1.5)
    assert s.cors_origins == ("http://localhost:5173", "http://127.0.0.1:5173")
    assert s.api_key is not None and s.api_key.get_secret_value() == "s3cret-value"
    assert "s3cret-value" not in repr(s) and "s3cret-value" not in str(s) and "s3cret" not in s.model_dump_json()


def test_a_bad_variable_is_a_config_error_naming_the_field():
    with pytest.raises(ConfigError, match=r"port.*65535.*RADAR_API_PORT"):
        ApiSettings.from_env({"RADAR_API_PORT": "70000"})
    with pytest.raises(ConfigError, match="ws_update_interval_s"):
        ApiSettings.from_env({"RADAR_API_WS_INTERVAL_S": "0"})


def test_cors_is_off_by_default_and_allows_only_listed_origins(make_client, fake):
    default = make_client(fake)
    listed = make_client(fake, cors_origins=("http://localhost:5173",))
    origin = {"Origin": "http://localhost:5173"}

    assert "access-control-allow-origin" not in default.get("/health", headers=origin).headers
    assert listed.get("/health", headers=origin).headers["access-control-allow-origin"] == "http://localhost:5173"
    other = listed.get("/health", headers={"Origin": "http://evil.example"}).headers
    assert "access-control-allow-origin" not in other


def test_the_dashboard_build_is_served_at_the_root_when_present(make_client, fake, tmp_path):
    (tmp_path / "index.html").write_text("<html>scalp radar</html>")
    api = make_client(fake, dashboard_dir=tmp_path)

    assert api.get("/").text == "<html>scalp radar</html>"
    assert api.get("/health").json()["status"] == "ok"  # routes win over the static mount
    assert make_client(fake).get("/").status_code == 404  # no build: nothing mounted


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="radar")
    register(parser.add_subparsers(dest="command"))
    return parser


def test_demo_db_needs_fake():
    args = _parser().parse_args(["api", "--demo-db", "/tmp/x.db"])
    with pytest.raises(RadarError, match="--demo-db serves made-up history: use it with --fake"):
        args.func(args)


@pytest.mark.timeout(120)
def test_radar_api_fake_serves_on_loopback(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = ("import sys; from radar.cli.api_cmd import register; import argparse; p = argparse.ArgumentParser(); "
            "register(p.add_subparsers()); a = p.parse_args(sys.argv[1:]); sys.exit(a.func(a))")
    env = {"PATH": "/usr/bin:/bin", "RADAR_DATA_DIR": str(tmp_path), "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen([sys.executable, "-c", code, "api", "--fake", "--port", str(port)], cwd=REPO_ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, body = time.monotonic() + 60, None
        while body is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                body = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).read())
            except OSError:
                time.sleep(0.2)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    assert body is not None, out
    assert body["client"] == "fake" and body["status"] == "ok"
    assert "RADAR_API_KEY is not set: write endpoints are refused" in out
    assert f"127.0.0.1:{port}" in out
