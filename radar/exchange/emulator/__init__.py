"""A loopback Bitget v2 emulator for tests and demos (REST market data now; WebSocket/trading later)."""
from radar.exchange.emulator.faults import FaultAction, Faults
from radar.exchange.emulator.market import Clock, ContractSpec, MarketData, load_csv_candles, synthetic_candles
from radar.exchange.emulator.server import BitgetEmulator, EmulatorThread, RequestRecord, running_emulator

__all__ = [
    "BitgetEmulator", "Clock", "ContractSpec", "EmulatorThread", "FaultAction", "Faults", "MarketData",
    "RequestRecord", "load_csv_candles", "running_emulator", "synthetic_candles",
]
