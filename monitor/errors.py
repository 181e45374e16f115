"""Errors meant for people: printed as one line, never as a traceback."""


class MonitorError(Exception):
    """A user-facing error: bad input, bad config, a missing file."""


class ConfigError(MonitorError):
    """The configuration is invalid. The message names the file and the key."""


def did_you_mean(word: str, candidates: list[str]) -> str:
    """' (did you mean "x"?)' for the candidate closest to ``word``, or ""."""
    import difflib  # only when there is an error to explain

    close = difflib.get_close_matches(word, candidates, n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""
