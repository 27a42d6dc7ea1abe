"""`radar emulator`: run the loopback Bitget emulator (REST + public WebSocket replay, and a trading
account behind signed private endpoints) until Ctrl-C."""
from __future__ import annotations

import argparse
import asyncio
import math
import os
from pathlib import Path

from radar.cli.common import fmt_ms, parse_date_ms
from radar.errors import DataError
from radar.models import TIMEFRAME_MS, timeframe_ms

DEFAULT_PORT = 8123
DEFAULT_SYMBOLS = "BTC/USDT:USDT"
# Without --start the replay begins this many candles into the data, so REST has history to warm up on.
DEFAULT_WARMUP_CANDLES = 1000
DEFAULT_SYNTHETIC_CANDLES = 5000
DEFAULT_BALANCE = 10_000.0
# Credentials may come from the environment so they stay out of shell history and `ps`.
CREDENTIAL_ENV = {"api_key": "RADAR_EMULATOR_API_KEY", "secret": "RADAR_EMULATOR_SECRET",
                  "passphrase": "RADAR_EMULATOR_PASSPHRASE"}


def register(sub: argparse._SubParsersAction) -> None:
    em = sub.add_parser("emulator", help="run a local Bitget emulator (REST + WebSocket candle replay) until Ctrl-C")
    em.add_argument("--host", default="127.0.0.1")
    em.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT}; 0 = any free port)")
    em.add_argument("--speed", type=float, default=1.0,
                    help="simulated seconds per real second (3600 = one 1h candle per second; default 1)")
    em.add_argument("--symbols", default=DEFAULT_SYMBOLS, help=f"comma-separated ccxt symbols (default {DEFAULT_SYMBOLS})")
    em.add_argument("--timeframe", default="1h", choices=list(TIMEFRAME_MS))
    source = em.add_mutually_exclusive_group()
    source.add_argument("--data", type=Path, metavar="FILE", help="serve this CSV (timestamp,open,high,low,close,volume) "
                        "as every listed symbol")
    source.add_argument("--synthetic", action="store_true", help="serve seeded synthetic candles")
    em.add_argument("--seed", type=int, default=0, help="seed of --synthetic (symbol k uses seed + k)")
    em.add_argument("--candles", type=int, default=DEFAULT_SYNTHETIC_CANDLES, help="length of the --synthetic series")
    em.add_argument("--exchange", default="bitget", help="store exchange label to serve (default bitget; "
                    "`radar data synth --store` writes 'synthetic')")
    em.add_argument("--start", default=None, help="replay start (YYYY-MM-DD, ISO time or epoch ms; default: "
                    f"{DEFAULT_WARMUP_CANDLES} candles into the data)")
    em.add_argument("--paused", action="store_true", help="start with the clock paused (POST /_emulator/clock {\"run\": true})")
    trading = em.add_argument_group("trading account (private REST + /v2/ws/private; all three credentials or none)")
    trading.add_argument("--api-key", default=None, help=f"API key (or env {CREDENTIAL_ENV['api_key']})")
    trading.add_argument("--secret", default=None, help=f"API secret (or env {CREDENTIAL_ENV['secret']})")
    trading.add_argument("--passphrase", default=None, help=f"API passphrase (or env {CREDENTIAL_ENV['passphrase']})")
    trading.add_argument("--balance", type=float, default=DEFAULT_BALANCE,
                         help=f"starting USDT balance of the account (default {DEFAULT_BALANCE:g})")
    em.set_defaults(func=cmd_emulator)


def resolve_credentials(api_key: str | None, secret: str | None, passphrase: str | None,
                        env: dict[str, str] | None = None):  # -> Credentials | None
    """The account credentials from the flags, else the environment; None when none is given.

    Errors name the missing setting, never a value.
    """
    from radar.exchange.emulator import Credentials

    env = os.environ if env is None else env
    given = {"api_key": api_key, "secret": secret, "passphrase": passphrase}
    values = {name: given[name] if given[name] else env.get(var, "") for name, var in CREDENTIAL_ENV.items()}
    if not any(values.values()):
        return None
    missing = [f"--{name.replace('_', '-')} (or {CREDENTIAL_ENV[name]})" for name, v in values.items() if not v]
    if missing:
        raise DataError(f"emulator: trading credentials are incomplete, missing {', '.join(missing)}")
    return Credentials(values["api_key"], values["secret"], values["passphrase"])


def parse_symbols(text: str) -> list[str]:
    from radar.exchange.bitget import to_bitget_id

    symbols = [s.strip() for s in text.split(",") if s.strip()]
    if not symbols:
        raise DataError("emulator: --symbols is empty")
    for s in symbols:
        to_bitget_id(s)  # a clear error for anything that is not a USDT-M swap symbol
    return symbols


def build_market(symbols: list[str], timeframe: str, *, data: Path | None = None, synthetic: bool = False,
                 seed: int = 0, candles: int = DEFAULT_SYNTHETIC_CANDLES, exchange: str = "bitget"):  # -> MarketData
    """The candles to serve: a CSV as every symbol, a synthetic series per symbol, or the store's."""
    from radar.exchange.bitget import to_bitget_id
    from radar.exchange.emulator import MarketData

    market = MarketData()
    if data is not None:
        from radar.data.csv_io import read_candle_csv

        series, report = read_candle_csv(data, timeframe)
        misaligned = report.rejected.get("misaligned_timestamp", 0)
        if misaligned:
            # A 5m file read as 1h would silently keep only the hour-aligned rows: refuse instead.
            raise DataError(f"{data}: {misaligned} rows are not aligned to {timeframe} open times "
                            "(pass the file's --timeframe)")
        if len(series) == 0:
            raise DataError(f"{data}: no valid {timeframe} candles ({report.summary()})")
        for symbol in symbols:
            market.add(to_bitget_id(symbol), timeframe, series)
        return market
    if synthetic:
        from radar.data.synth import synth_candles

        if candles < 2:
            raise DataError(f"emulator: --candles must be >= 2, got {candles}")
        for k, symbol in enumerate(symbols):
            market.add(to_bitget_id(symbol), timeframe, synth_candles(candles, timeframe, seed=seed + k))
        return market
    from radar.cli.common import open_store

    store = open_store()
    for symbol in symbols:
        series = store.load_candles(exchange, symbol, timeframe)
        if len(series) == 0:
            raise DataError(f"emulator: no {timeframe} candles stored for {symbol} on {exchange} "
                            "(radar data import / fetch / synth --store first, or use --data FILE or --synthetic)")
        market.add(to_bitget_id(symbol), timeframe, series)
    return market


def replay_start_ms(market, timeframe: str, start: str | None) -> int:  # market: MarketData
    """`--start`, checked against the served range; by default `DEFAULT_WARMUP_CANDLES` into the data."""
    tf = timeframe_ms(timeframe)
    series = [market.all_candles(m, timeframe) for m in market.symbols()]
    first = max(int(c.timestamp[0]) for c in series if c is not None and len(c))
    last = min(int(c.timestamp[-1]) for c in series if c is not None and len(c))
    if start is None:
        n = min(len(c) for c in series if c is not None)
        return min(first + DEFAULT_WARMUP_CANDLES * tf, int(first + (n - 1) * tf), last)
    start_ms = parse_date_ms(start, "--start")
    if not first <= start_ms <= last + tf:
        raise DataError(f"emulator: --start {fmt_ms(start_ms)} is outside the served candles "
                        f"({fmt_ms(first)} .. {fmt_ms(last + tf)} UTC)")
    return start_ms


def cmd_emulator(args: argparse.Namespace) -> int:
    from radar.exchange.emulator import Account, AccountConfig, BitgetEmulator, Clock

    if not args.speed > 0:
        raise DataError(f"emulator: --speed must be > 0, got {args.speed}")
    if not (math.isfinite(args.balance) and args.balance >= 0):
        raise DataError(f"emulator: --balance must be a number >= 0, got {args.balance}")
    credentials = resolve_credentials(args.api_key, args.secret, args.passphrase)
    symbols = parse_symbols(args.symbols)
    market = build_market(symbols, args.timeframe, data=args.data, synthetic=args.synthetic, seed=args.seed,
                          candles=args.candles, exchange=args.exchange)
    start = replay_start_ms(market, args.timeframe, args.start)
    clock = Clock.replay(start, args.speed, running=not args.paused)
    account = Account(AccountConfig(balance=args.balance), specs=market.spec)
    emulator = BitgetEmulator(market, clock, account=account, credentials=credentials)

    async def serve() -> None:
        base_url = await emulator.start(args.host, args.port)
        try:
            source = str(args.data) if args.data else ("synthetic" if args.synthetic else f"store ({args.exchange})")
            print(f"Bitget emulator: {', '.join(symbols)} {args.timeframe} from {source}", flush=True)
            print(f"  REST {base_url}", flush=True)
            print(f"  WS   {emulator.ws_url}", flush=True)
            if credentials is not None:
                print(f"  trading: {args.balance:g} USDT account, private WS {emulator.private_ws_url} "
                      "(API key, secret and passphrase as given; state: GET /_emulator/account)", flush=True)
            else:
                print("  trading: off (no --api-key/--secret/--passphrase)", flush=True)
            print(f"  clock {fmt_ms(start)} UTC, speed {args.speed:g}x{' (paused)' if args.paused else ''}; "
                  f"control: POST {base_url}/_emulator/clock, faults: POST {base_url}/_emulator/faults", flush=True)
            print("  Ctrl-C to stop", flush=True)
            await asyncio.Event().wait()
        finally:
            await emulator.stop()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        print("emulator stopped", flush=True)
    except OSError as exc:
        raise DataError(f"emulator: cannot listen on {args.host}:{args.port} ({exc.strerror or exc})") from None
    return 0
