"""StopLossGuard: the watchdog's exchange-side check (SPEC §9 "position without SL"): each round, list the
exchange positions without a stop-loss and protect them (`radar.live.reconcile.fix_missing_sl`: a stop
`sl_pct` percent from the exchange's entry, verified, else an emergency close).

`grace_s`: a position is fixed only once it has been seen unprotected for that long, so the guard does not
race the executor, which places its own stop right after a fill (a guard stop placed first would make the
executor's placement fail with "stop already exists"). 0 fixes on first sight. The round still REPORTS every
unprotected position at once (the watchdog's `missing_sl` alert).
"""
from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from radar.live.reconcile import AlertFn, Journal, Outcome, fix_missing_sl, positions_without_sl
from radar.live.stop_loss import check_sl_pct

log = logging.getLogger(__name__)


class StopLossGuard:
    def __init__(self, client: Any, sl_pct: float, alert: AlertFn | None = None, *, journal: Journal | None = None,
                 symbols: Iterable[str] | None = None, grace_s: float = 0.0, retries: int = 3, backoff_s: float = 0.2,
                 sl_pct_by_symbol: Mapping[str, float] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """`client`: a ccxt async client with trading keys. `alert(kind, text)` receives each fix (kind
        `reconcile`); `None` until the owner (the watchdog actor) sets its own. `symbols`: None = every symbol.
        `sl_pct_by_symbol`: a symbol's own stop distance (its strategy's `sl_percent`), else `sl_pct`."""
        self.client = client
        self.sl_pct = check_sl_pct(sl_pct)
        self.sl_pct_by_symbol = {s: check_sl_pct(v) for s, v in (sl_pct_by_symbol or {}).items()}
        if grace_s < 0:
            raise ValueError(f"stop-loss guard grace_s must be >= 0, got {grace_s}")
        self.alert = alert
        self.journal = journal
        self.symbols = None if symbols is None else sorted(set(symbols))
        self.grace_s, self.retries, self.backoff_s = float(grace_s), int(retries), float(backoff_s)
        self.clock = clock
        self.first_seen: dict[str, float] = {}
        self.fixes: list[Outcome] = []  # every fix attempted, for status views and tests

    async def check_and_fix(self) -> list[str]:
        """Symbols found without a stop-loss this round (the watchdog alerts them); those unprotected for
        `grace_s` or longer are fixed before returning."""
        missing = await positions_without_sl(self.client, self.symbols)
        now = self.clock()
        self.first_seen = {s: self.first_seen.get(s, now) for s in missing}
        for sym in missing:
            if now - self.first_seen[sym] < self.grace_s:
                continue
            try:
                out = await fix_missing_sl(self.client, sym, self.sl_pct_by_symbol.get(sym, self.sl_pct),
                                           journal=self.journal, alert=self.alert, retries=self.retries,
                                           backoff_s=self.backoff_s)
            except Exception:  # one symbol's failure must not hide the others; next round retries
                log.exception("fixing the missing stop-loss of %s failed", sym)
                continue
            if out is not None:
                self.fixes.append(out)
                self.first_seen.pop(sym, None)
        return missing

    async def close(self) -> None:
        """Close the ccxt client (its HTTP session)."""
        await self.client.close()


def _build_guard(exchange_url: str | None, sl_pct: float, symbols: list[str] | None, grace_s: float,
                 sl_pct_by_symbol: dict[str, float] | None, database_url: str | None) -> StopLossGuard:
    from radar.config.settings import get_settings
    from radar.exchange.bitget import make_bitget_client

    creds = get_settings().exchange_credentials()  # ConfigError naming the missing variables
    client = make_bitget_client(exchange_url, api_key=creds["apiKey"], secret=creds["secret"],
                                password=creds["password"], async_=True)
    journal = None
    if database_url is not None:
        from sqlalchemy import create_engine

        from radar.live.reconcile_journal import ReconcileJournal

        journal = ReconcileJournal(create_engine(database_url), source="watchdog").record
    return StopLossGuard(client, sl_pct, journal=journal, symbols=symbols, grace_s=grace_s,
                         sl_pct_by_symbol=sl_pct_by_symbol)


def guard_factory(exchange_url: str | None, sl_pct: float, *, symbols: Iterable[str] | None = None,
                  grace_s: float = 30.0, sl_pct_by_symbol: Mapping[str, float] | None = None,
                  database_url: str | None = None) -> Callable[[], StopLossGuard]:
    """A picklable no-argument factory for the watchdog actor's `sl_guard`: it builds the ccxt client in the
    actor's process, with the keys read there from the environment (never passed as actor arguments).
    `exchange_url` None = the real Bitget. `database_url`: journal the fixes in `reconcile_events`."""
    check_sl_pct(sl_pct)
    return functools.partial(_build_guard, exchange_url, float(sl_pct), None if symbols is None else sorted(symbols),
                             float(grace_s), dict(sl_pct_by_symbol or {}) or None, database_url)
