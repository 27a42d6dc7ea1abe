"""`radar status`' table: runners and the feed line, including the feed's own candle latency percentiles."""
from __future__ import annotations

from radar.cli.live_cmd import _table


def _status(latency: dict) -> dict:
    return {"runners": [{"name": "grid_atr", "symbols": ["BTC/USDT:USDT"], "candles": 120, "events": 4,
                         "restored": False}],
            "feed": {"connected": True, "reconnects": 1, "backfilled": 3, "latency_ms": latency},
            "executor": {"fills": 4, "open_positions": [{}]}, "trades": 2}


def test_the_feed_line_shows_the_candle_latency_percentiles():
    table = _table(_status({"samples": 120, "p50": 5.34, "p99": 18.76}))

    assert table.caption == ("feed connected=True reconnects=1 backfilled=3 latency p50=5.3 ms p99=18.8 ms | "
                             "fills=4 open positions=1 | trades stored=2")
    assert table.row_count == 1


def test_no_latency_is_shown_before_the_first_candle():
    table = _table(_status({"samples": 0, "p50": None, "p99": None}))

    assert "latency" not in table.caption and "backfilled=3 | fills=4" in table.caption
