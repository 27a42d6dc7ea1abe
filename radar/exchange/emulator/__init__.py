"""A loopback Bitget v2 emulator for tests and demos: REST market data and the public WebSocket with
candle replay on a controllable clock (trading later)."""
from radar.exchange.emulator.faults import FaultAction, Faults
from radar.exchange.emulator.market import Clock, ContractSpec, MarketData, load_csv_candles, synthetic_candles
from radar.exchange.emulator.replay import CandleRow, CandleStream, Replayer
from radar.exchange.emulator.server import BitgetEmulator, EmulatorThread, RequestRecord, running_emulator
from radar.exchange.emulator.ws import WS_PUBLIC_PATH, PublicWebSocket

__all__ = [
    "BitgetEmulator", "CandleRow", "CandleStream", "Clock", "ContractSpec", "EmulatorThread", "FaultAction", "Faults",
    "MarketData", "PublicWebSocket", "Replayer", "RequestRecord", "WS_PUBLIC_PATH", "load_csv_candles",
    "running_emulator", "synthetic_candles",
]
