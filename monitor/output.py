"""Print results as a table (for people), JSON or CSV (for scripts), and the
display forms shared by tables, alert texts and the digest (:func:`percent`).

JSON is one array or object on stdout and nothing else; CSV quotes texts
with commas, quotes and newlines (RFC 4180). Tables shorten long texts;
the other formats never do.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping, Sequence
from datetime import tzinfo
from typing import Any, TextIO

FORMATS = ("table", "json", "csv")
_SPACE = re.compile(r"\s+")


def percent(ratio: float | None, digits: int = 0) -> str | None:
    """A share (0-1) as people read it: 0.257 -> "26%" (``digits=1``: "25.7%").
    None stays None: tables show "-", the digest its own dash."""
    return None if ratio is None else f"{ratio:.{digits}%}"


def window_text(start: str, end: str, tz: tzinfo) -> str:
    """A window of stored (UTC) times as people read it: local times in ``tz``."""
    from monitor.timeutil import from_db

    return f"{from_db(start).astimezone(tz):%Y-%m-%d %H:%M} to {from_db(end).astimezone(tz):%Y-%m-%d %H:%M}"


def to_json(value: Any, stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    json.dump(value, stream, ensure_ascii=False, indent=2, default=str)
    stream.write("\n")


def to_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], stream: TextIO | None = None) -> None:
    import csv

    writer = csv.DictWriter(
        stream or sys.stdout, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n"
    )
    writer.writeheader()
    writer.writerows(rows)


def shorten(value: Any, width: int) -> str:
    text = _SPACE.sub(" ", str(value)).strip()
    return text if len(text) <= width else text[: width - 1] + "…"


def to_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    *,
    headers: Sequence[str] | None = None,
    widths: Mapping[str, int] | None = None,
    stream: TextIO | None = None,
    empty: str = "(nothing to show)",
) -> None:
    stream = stream or sys.stdout
    if not rows:
        stream.write(empty + "\n")
        return
    from tabulate import tabulate  # here: an empty answer needs no table
    widths = widths or {}
    body = [
        [
            "-" if row.get(c) is None else shorten(row[c], widths[c]) if c in widths else row[c]
            for c in columns
        ]
        for row in rows
    ]
    stream.write(tabulate(body, headers=list(headers or columns), disable_numparse=True) + "\n")


def emit(
    fmt: str,
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    *,
    json_value: Any = None,
    headers: Sequence[str] | None = None,
    widths: Mapping[str, int] | None = None,
    empty: str = "(nothing to show)",
) -> None:
    """Print ``rows`` in ``fmt``; ``json_value`` replaces the rows for JSON output."""
    if fmt == "json":
        to_json(rows if json_value is None else json_value)
    elif fmt == "csv":
        to_csv(rows, columns)
    else:
        to_table(rows, columns, headers=headers, widths=widths, empty=empty)
