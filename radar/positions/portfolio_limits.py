"""The shared-capital rules of SPEC §8 that no single runner can check on its own: the global margin limit
and the per-asset cap. The portfolio backtester and the live portfolio guard both ask `MarginLimits`, so a
live run refuses exactly the entries the backtest refuses.
"""
from __future__ import annotations

from dataclasses import dataclass

MARGIN_LIMIT = "margin_limit"
ASSET_CAP = "asset_cap"


@dataclass(frozen=True, slots=True)
class MarginLimits:
    """`capital` is the portfolio's initial capital C0, the same base the fixed sizing uses.

    - global: total margin of all runners *after* the fill must stay strictly below `max_margin_ratio * C0`
      (less 1e-9 * C0: sums of margins are taken in a different order before and after a fill and may differ
      by an ulp, so the strict bound keeps that far clear);
    - per asset: the margin of one symbol across its runners after the fill is <= `max_asset_fraction * C0`
      (plus 1e-9 * C0: a full fixed-size grid lands exactly on the cap when C0 / n_assets >= 0.25 * C0).
    """

    capital: float
    max_margin_ratio: float = 0.70
    max_asset_fraction: float = 0.25

    def __post_init__(self) -> None:
        if not self.capital > 0:
            raise ValueError(f"portfolio capital must be > 0, got {self.capital}")
        if not 0 < self.max_margin_ratio <= 1 or not 0 < self.max_asset_fraction <= 1:
            raise ValueError(f"max_margin_ratio and max_asset_fraction must be in (0, 1], got "
                             f"{self.max_margin_ratio} and {self.max_asset_fraction}")

    @property
    def margin_limit(self) -> float:
        return self.max_margin_ratio * self.capital - 1e-9 * self.capital

    @property
    def asset_limit(self) -> float:
        return self.max_asset_fraction * self.capital + 1e-9 * self.capital

    def refusal(self, total_margin: float, asset_margin: float, margin: float) -> str | None:
        """Why a fill of `margin` is refused (MARGIN_LIMIT / ASSET_CAP), or None when it is allowed."""
        if total_margin + margin >= self.margin_limit:
            return MARGIN_LIMIT
        if asset_margin + margin > self.asset_limit:
            return ASSET_CAP
        return None
