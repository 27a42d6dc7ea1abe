"""Trading costs and margin arithmetic shared by every position manager (SPEC §5)."""
from __future__ import annotations

from dataclasses import dataclass

# Bitget tier-1 maintenance margin rate (risk.yaml: liquidation.maintenance_margin_rate).
DEFAULT_MAINTENANCE_MARGIN = 0.004


@dataclass(frozen=True, slots=True)
class CostModel:
    taker_fee: float = 0.0006
    maker_fee: float = 0.0002
    slippage: float = 0.0005

    def entry_fill(self, level_price: float, side: int) -> float:
        """Entry fills are worse for the trader: above the level for a long, below for a short."""
        return level_price * (1.0 + self.slippage) if side > 0 else level_price * (1.0 - self.slippage)


def liquidation_price(avg_entry: float, side: int, leverage: float, maintenance: float = DEFAULT_MAINTENANCE_MARGIN) -> float:
    """Isolated-equivalent liquidation price of a position of margin = notional / leverage.

    Liquidation when equity (margin + unrealised PnL) falls to maintenance * notional:
    long: entry * (1 - 1/leverage + maintenance); short mirrors.
    """
    if side > 0:
        return avg_entry * (1.0 - 1.0 / leverage + maintenance)
    return avg_entry * (1.0 + 1.0 / leverage - maintenance)


def cross_margin_liquidated(equity: float, notional: float, maintenance: float = DEFAULT_MAINTENANCE_MARGIN) -> bool:
    """Cross margin: the whole account is liquidated when equity < maintenance * total notional (SPEC §8)."""
    return notional > 0 and equity < maintenance * notional
