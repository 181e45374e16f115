"""Errors meant for people: printed as one line, never as a traceback."""

from __future__ import annotations

from os import PathLike


class MonitorError(Exception):
    """A user-facing error: bad input, bad config, a missing file."""


class ConfigError(MonitorError):
    """The configuration is invalid. The message names the file and the key."""


def did_you_mean(word: str, candidates: list[str]) -> str:
    """' (did you mean "x"?)' for the candidate closest to ``word`` in any case, or ""."""
    import difflib  # only when there is an error to explain

    # "acm" is as close to "Acme" as "Acm" is: brands are named in any case, and a
    # name that differs only in case ("DEMO" for "demo") is the likeliest meant
    folded: dict[str, str] = {}
    for candidate in candidates:
        folded.setdefault(candidate.casefold(), candidate)
    close = difflib.get_close_matches(word.casefold(), list(folded), n=1)
    return f' (did you mean "{folded[close[0]]}"?)' if close else ""


def relative_to_cwd(path: str | PathLike[str]) -> str:
    """' (a relative path is read from the working directory, /here)' for a relative ``path``,
    else "": from cron or a service the working directory is often not the one meant."""
    import os

    return "" if os.path.isabs(path) else f" (a relative path is read from the working directory, {os.getcwd()})"
