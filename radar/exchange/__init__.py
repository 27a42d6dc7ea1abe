"""Exchange adapters (ccxt clients, symbol mapping) and the local Bitget emulator used by tests and demos."""
