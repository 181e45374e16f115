"""Errors meant for people: printed as one line, never as a traceback."""


class MonitorError(Exception):
    """A user-facing error: bad input, bad config, a missing file."""


class ConfigError(MonitorError):
    """The configuration is invalid. The message names the file and the key."""
