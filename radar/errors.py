"""Errors a user can cause. The CLI prints them as one line (no traceback) and exits non-zero."""


class RadarError(Exception):
    """Base class of every error caused by bad user input (files, parameters, config)."""


class ConfigError(RadarError):
    """A configuration file is missing, unreadable or invalid. Message: `file: key.path: reason`."""


class DataError(RadarError):
    """Candle data is missing, malformed or inconsistent."""


class StrategyError(RadarError):
    """Unknown strategy, unknown parameter or parameter out of range."""
