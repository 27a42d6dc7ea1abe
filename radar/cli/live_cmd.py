"""`radar up | status | stop`: the live/paper actor system.

`radar up` starts (or joins) Ray, optionally an in-process Bitget emulator replaying candles, boots the
actors (actors/live_system.py) and shows the live status until Ctrl-C / SIGTERM / `radar stop`, then
shuts down in reverse order (final candle flush and state save). Everything that touches Ray lives in
`actors/live_system.py` (imported at run time), so `radar/` never imports Ray.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from radar.errors import RadarError

STOP_FILE = "radar.stop"


def register(sub: argparse._SubParsersAction) -> None:
    up = sub.add_parser("up", help="run the live/paper trading system (actors) until stopped")
    mode = up.add_mutually_exclusive_group()
    mode.add_argument("--paper", action="store_true", default=True, help="paper trading (default)")
    mode.add_argument("--live", action="store_true",
                      help="live trading: real orders. Also needs RADAR_LIVE_TRADING=1 and BITGET_API_KEY, "
                           "BITGET_SECRET, BITGET_PASSPHRASE in the environment (with --exchange emulator: the "
                           "emulator's account takes those keys, a rehearsal)")
    up.add_argument("--exchange", choices=("bitget", "emulator"), default="bitget",
                    help="the real Bitget, or a local emulator replaying candles")
    up.add_argument("--data", type=Path, default=None, help="emulator: serve this CSV as every symbol")
    up.add_argument("--synthetic", action="store_true", help="emulator: seeded synthetic candles (default without --data)")
    up.add_argument("--speed", type=float, default=3600.0, help="emulator: simulated seconds per real second")
    up.add_argument("--emulator-start", default=None,
                    help="emulator: replay clock start (YYYY-MM-DD, ISO time or epoch ms; default: 1 candle into the "
                         "data). A restart passes a later time so the replay continues; REST back-fills the gap")
    up.add_argument("--symbols", default=None, help="emulator: symbols to serve (default: the enabled strategies')")
    up.add_argument("--address", default=None, help="Ray cluster address (default: a new local Ray)")
    up.add_argument("--duration", type=float, default=None, help="stop after this many seconds (demo, tests)")
    up.add_argument("--detached", action="store_true", help="detached actors (outlive this process; radar stop ends them)")
    up.add_argument("--json", action="store_true", help="print a final JSON summary instead of the live table")
    up.add_argument("--api-host", default=None, help="API + dashboard bind address (default 127.0.0.1 / RADAR_API_HOST)")
    up.add_argument("--api-port", type=int, default=None, help="API + dashboard port (default 8000 / RADAR_API_PORT; 0: any)")
    up.add_argument("--no-api", action="store_true", help="do not serve the API and dashboard")
    up.set_defaults(func=cmd_up)

    st = sub.add_parser("status", help="runners, positions, PnL, kill switches and feed health")
    st.add_argument("--watch", action="store_true", help="refresh every second until Ctrl-C")
    st.add_argument("--json", action="store_true")
    st.add_argument("--address", default="auto")
    st.set_defaults(func=cmd_status)

    sp = sub.add_parser("stop", help="stop a running `radar up` cleanly (state saved, candles flushed)")
    sp.set_defaults(func=cmd_stop)


def _data_dir() -> Path:
    from radar.config.settings import get_settings

    d = Path(get_settings().data_dir)
    d.mkdir(parents=True, exist_ok=True)
    return d


def cmd_up(args: argparse.Namespace) -> int:
    if args.live:
        _require_live_switch()
    from actors.live_system import LiveOptions, LiveSystem, connect
    from radar.config import load_config
    from radar.config.settings import get_settings

    cfg = load_config(args.config)
    settings = get_settings()
    data_dir = _data_dir()
    stop_file = data_dir / STOP_FILE
    stop_file.unlink(missing_ok=True)
    emulator_ctx = None
    url = None
    speed = 1.0
    if args.exchange == "emulator":
        emulator_ctx, url, speed = _start_emulator(args, cfg)
    connect(args.address)
    from radar.telegram.settings import telegram_settings_from_env

    system = LiveSystem(cfg, LiveOptions(str(data_dir), settings.database_url, exchange_url=url, speed=speed,
                                         detached=args.detached, telegram=telegram_settings_from_env(),
                                         mode="live" if args.live else "paper"))
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    api_server = None
    try:
        system.boot()
        if not getattr(args, "no_api", False):
            api_server = _serve_api(args, cfg, settings.database_url)
        if emulator_ctx is not None:
            emulator_ctx[0].clock.start()
        _watch(system, args, stopping, stop_file)
    except KeyboardInterrupt:
        pass
    finally:
        summary = _final(system)
        if api_server is not None:
            api_server.__exit__(None, None, None)  # the API first: it reads the actors
        system.shutdown()
        if emulator_ctx is not None:
            emulator_ctx[1].__exit__(None, None, None)
        stop_file.unlink(missing_ok=True)
    if args.json:
        print(json.dumps(summary, default=str))
    return 0


def _serve_api(args: argparse.Namespace, cfg: Any, database_url: str) -> Any:
    """The REST API, /ws/live and the dashboard in a thread of this driver (its Ray connection is the actors')."""
    import sys

    from api.app import create_app
    from api.ray_client import RaySystemClient
    from api.server import ServerThread
    from api.settings import ApiSettings

    api_settings = ApiSettings.from_env(host=getattr(args, "api_host", None), port=getattr(args, "api_port", None),
                                        database_url=database_url, config_dir=cfg.config_dir)
    client = RaySystemClient(database_url=database_url, config_dir=cfg.config_dir,
                             live_trading=bool(getattr(args, "live", False)))
    try:
        server = ServerThread(create_app(client, api_settings), api_settings.host, api_settings.port).__enter__()
    except RuntimeError as exc:
        raise RadarError(f"API: cannot serve on {api_settings.host}:{api_settings.port} ({exc}); "
                         f"pass --api-port PORT (0: any free port) or --no-api") from None
    # stderr: stays readable next to the live table and out of --json's stdout
    print(f"dashboard: {server.url}/  (API {server.url}/docs)", file=sys.stderr, flush=True)
    return server


def _require_live_switch() -> None:
    """Live trading needs two switches: `--live` and RADAR_LIVE_TRADING=1, plus the three Bitget keys."""
    from radar.config.settings import get_settings

    settings = get_settings()
    if not settings.live_trading:
        raise RadarError("live trading must be switched on explicitly: --live AND RADAR_LIVE_TRADING=1 in the "
                         "environment (without it use --paper)")
    settings.exchange_credentials()  # ConfigError naming each missing variable, never a value


def _rehearsal_account(cfg: Any, market: Any) -> dict[str, Any]:
    """`--exchange emulator --live`: the emulator's trading account (risk.yaml initial capital) accepts the
    keys from the environment, so the live executor trades against it end to end."""
    from radar.config.settings import get_settings
    from radar.exchange.emulator import Account, AccountConfig, Credentials

    creds = get_settings().exchange_credentials()
    risk = cfg.risk
    account = Account(AccountConfig(balance=float(risk.initial_capital), maker_fee=risk.fees.maker,
                                    taker_fee=risk.fees.taker), specs=market.spec)
    return {"account": account, "credentials": Credentials(creds["apiKey"], creds["secret"], creds["password"])}


def _start_emulator(args: argparse.Namespace, cfg: Any) -> tuple[Any, str, float]:
    from radar.cli.emulator_cmd import build_market, parse_symbols, replay_start_ms
    from radar.exchange.emulator import BitgetEmulator, Clock, EmulatorThread

    symbols = parse_symbols(args.symbols) if args.symbols else sorted(
        {s for st in cfg.enabled_strategies() for s in st.symbols})
    market = build_market(symbols, "1h", data=args.data, synthetic=args.data is None, seed=0)
    if args.emulator_start is None:
        start = min(int(market.all_candles(m, "1h").timestamp[0]) for m in market.symbols()) + 3_600_000
    else:
        start = replay_start_ms(market, "1h", args.emulator_start)
    # Paused until the actors are up, so a slow boot does not eat the replay (the feed's server clock sees
    # the pause in two equal readings and stops extrapolating).
    clock = Clock.replay(start, args.speed, running=False)
    emulator = BitgetEmulator(market, clock, **(_rehearsal_account(cfg, market) if args.live else {}))
    thread = EmulatorThread(emulator)
    url = thread.__enter__()
    return (emulator, thread), url, args.speed


def _watch(system: Any, args: argparse.Namespace, stopping: threading.Event, stop_file: Path) -> None:
    from actors.live_system import status

    t0 = time.monotonic()
    if args.json:
        while not _done(t0, args, stopping, stop_file):
            time.sleep(0.2)
        return
    from rich.live import Live

    with Live(_table(status()), refresh_per_second=2) as live:
        while not _done(t0, args, stopping, stop_file):
            time.sleep(0.5)
            live.update(_table(status()))


def _done(t0: float, args: argparse.Namespace, stopping: threading.Event, stop_file: Path) -> bool:
    return stopping.is_set() or stop_file.exists() or (args.duration is not None and time.monotonic() - t0 >= args.duration)


def _final(system: Any) -> dict[str, Any]:
    from actors.live_system import status

    try:
        return status()
    except Exception as exc:  # the summary must not stop the shutdown
        return {"error": str(exc)}


def _table(st: dict[str, Any]):  # -> rich renderable
    from rich.table import Table

    t = Table(title="Scalp Radar (paper)")
    for col in ("runner", "symbols", "candles", "events", "restored"):
        t.add_column(col)
    for r in st.get("runners", []):
        t.add_row(r["name"], ", ".join(r["symbols"]), str(r["candles"]), str(r["events"]), str(r["restored"]))
    feed = st.get("feed") or {}
    ex = st.get("executor") or {}
    lat = feed.get("latency_ms") or {}
    latency = (f" latency p50={lat['p50']:.1f} ms p99={lat['p99']:.1f} ms" if lat.get("samples") else "")
    t.caption = (f"feed connected={feed.get('connected')} reconnects={feed.get('reconnects')} "
                 f"backfilled={feed.get('backfilled')}{latency} | fills={ex.get('fills')} "
                 f"open positions={len(ex.get('open_positions', []))} | trades stored={st.get('trades')}")
    return t


def cmd_status(args: argparse.Namespace) -> int:
    from actors.live_system import connect, status

    connect(args.address, start_local=False)
    st = status()
    if not st["runners"] and st["feed"] is None:
        raise RadarError("no running system found in namespace scalp_radar (start one with radar up)")
    if args.json:
        print(json.dumps(st, default=str))
        return 0
    from rich.console import Console

    console = Console()
    while True:
        console.print(_table(st))
        if not args.watch:
            return 0
        time.sleep(1.0)
        st = status()


def cmd_stop(args: argparse.Namespace) -> int:
    stop_file = _data_dir() / STOP_FILE
    stop_file.write_text(str(os.getpid()))
    print(f"stop requested ({stop_file}); radar up saves state, flushes candles and exits")
    return 0
