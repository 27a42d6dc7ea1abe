"""`radar api`: serve the REST API, /ws/live and the dashboard (uvicorn) for the running system.

`--fake` serves an in-memory fake system instead (dashboard development, no Ray); `--demo-db` adds a
database of real-candle history for it. The API package (and Ray, for the real system) is imported only
when the command runs, so `radar/` itself stays free of both.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from radar.errors import RadarError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("api", help="serve the REST API, /ws/live and the dashboard for the running system")
    p.add_argument("--host", default=None, help="bind address (default $RADAR_API_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default $RADAR_API_PORT or 8000)")
    p.add_argument("--fake", action="store_true", help="serve an in-memory fake system (no Ray; dashboard work)")
    p.add_argument("--address", default="auto", help="Ray cluster of the running system (default: auto)")
    p.add_argument("--demo-db", type=Path, default=None,
                   help="with --fake: serve this SQLite file, first filled with history from --data if missing")
    p.add_argument("--data", type=Path, default=None, help="with --demo-db: the 1h candle CSV to trade")
    p.set_defaults(func=cmd_api)


add_parser = register  # the name the API issue asked for; main.py registers modules through `register`


def cmd_api(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app
    from api.settings import ApiSettings

    settings = ApiSettings.from_env(host=args.host, port=args.port)
    if args.demo_db is not None:
        if not args.fake:
            raise RadarError("--demo-db serves made-up history: use it with --fake")
        settings = settings.model_copy(update={"database_url": _demo_db(args.demo_db, args.data)})
    if args.fake:
        from api.fake_client import FakeSystemClient

        client = FakeSystemClient(simulate_every_s=settings.ws_update_interval_s)
    else:
        from api.ray_client import RaySystemClient
        from radar.config.settings import get_settings

        client = RaySystemClient.connect(args.address, database_url=settings.database_url,
                                         config_dir=settings.config_dir, live_trading=get_settings().live_trading)
    if settings.host not in ("127.0.0.1", "::1", "localhost"):
        print(f"radar api: listening on {settings.host} (not loopback): reads are open to that network")
    if settings.api_key is None:
        print("radar api: RADAR_API_KEY is not set: write endpoints are refused")
    uvicorn.run(create_app(client, settings), host=settings.host, port=settings.port, log_level=settings.log_level,
                ws="websockets-sansio")
    return 0


def _demo_db(path: Path, data: Path | None) -> str:
    url = f"sqlite:///{path}"
    if path.exists():
        return url
    if data is None or not data.is_file():
        raise RadarError(f"--demo-db {path} does not exist yet: give --data with a 1h candle CSV to fill it")
    from api.demo_db import seed_demo_db

    seed_demo_db(url, data)
    return url
