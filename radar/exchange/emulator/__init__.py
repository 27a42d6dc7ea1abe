"""A loopback Bitget v2 emulator for tests and demos: REST market data and the public WebSocket with
candle replay on a controllable clock, and a trading account behind signed private REST endpoints and
the private WebSocket."""
from radar.exchange.emulator.account import (
    Account, AccountConfig, Balance, Fill, Order, Position, TradingError, TriggerOrder,
)
from radar.exchange.emulator.auth import Credentials
from radar.exchange.emulator.faults import FaultAction, Faults
from radar.exchange.emulator.market import Clock, ContractSpec, MarketData, load_csv_candles, synthetic_candles
from radar.exchange.emulator.marks import MarkPrices, PriceTick
from radar.exchange.emulator.private_ws import WS_PRIVATE_PATH, PrivateWebSocket
from radar.exchange.emulator.replay import CandleRow, CandleStream, Replayer
from radar.exchange.emulator.server import BitgetEmulator, EmulatorThread, RequestRecord, running_emulator
from radar.exchange.emulator.ws import WS_PUBLIC_PATH, PublicWebSocket

__all__ = [
    "Account", "AccountConfig", "Balance", "BitgetEmulator", "CandleRow", "CandleStream", "Clock", "ContractSpec",
    "Credentials", "EmulatorThread", "FaultAction", "Faults", "Fill", "MarkPrices", "MarketData", "Order", "Position",
    "PriceTick", "PrivateWebSocket", "PublicWebSocket", "Replayer", "RequestRecord", "TradingError", "TriggerOrder",
    "WS_PRIVATE_PATH", "WS_PUBLIC_PATH", "load_csv_candles", "running_emulator", "synthetic_candles",
]
