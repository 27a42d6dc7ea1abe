"""vwap_rsi (5m): fade an RSI extreme stretched away from VWAP on a volume spike, only while the
15m ADX says the market is not trending (SPEC §6). Fixed percent TP/SL; a RANGING -> TRENDING
regime change closes the position."""
from __future__ import annotations

import math

from radar.strategies.base import IndicatorSpec, Signal, SingleStrategy, StrategyContext, finite
from radar.strategies.bollinger_mr import REGIME_SPEC
from radar.strategies.registry import register
from radar.strategies.supertrend import percent_stops

_NEEDED = ("rsi", "vwap", "vol_sma", "adx_15m")


@register
class VwapRsi(SingleStrategy):
    name = "vwap_rsi"
    # A mean-reversion trade has no edge once the market trends: leave on a RANGING -> TRENDING change.
    close_on_regime_change = True

    def indicator_specs(self) -> dict[str, IndicatorSpec]:
        p = self.params
        return {"rsi": IndicatorSpec("rsi", (p.rsi_period,)),
                "vwap": IndicatorSpec("vwap", (p.vwap_period,)),
                "vol_sma": IndicatorSpec("sma", (p.vol_sma_period, "volume")),
                "adx_15m": IndicatorSpec("adx", (p.adx_period,), htf="15m"),
                "regime": REGIME_SPEC}

    def is_ready(self, ctx: StrategyContext) -> bool:
        return finite(*(ctx.cur.get(k, math.nan) for k in _NEEDED))

    def evaluate(self, ctx: StrategyContext) -> Signal | None:
        p, cur, close = self.params, ctx.cur, ctx.candle.close
        if cur["adx_15m"] >= p.adx_15m_max or not ctx.candle.volume > cur["vol_sma"] * p.vol_spike_mult:
            return None
        dev = p.vwap_dev_pct / 100
        side = 0
        if cur["rsi"] < p.rsi_long and close < cur["vwap"] * (1 - dev):
            side = 1
        elif cur["rsi"] > p.rsi_short and close > cur["vwap"] * (1 + dev):
            side = -1
        if side == 0:
            return None
        tp, sl = percent_stops(close, side, p.tp_percent, p.sl_percent)
        return Signal(side, tp, sl, "rsi_oversold_below_vwap" if side > 0 else "rsi_overbought_above_vwap")
