"""Print results as a table (for people), JSON or CSV (for scripts), and the
display forms shared by tables, alert texts and the digest (:func:`percent`).

JSON is one array or object on stdout and nothing else; CSV quotes texts
with commas, quotes and newlines (RFC 4180). Tables shorten long texts;
the other formats never do. A table is measured in terminal columns (an
emoji or a CJK character takes two, a combining accent none: ``wcwidth``,
which tabulate uses too), and shows a control character in a text (an
escape sequence in a post or an author's name) as a visible symbol instead
of sending it to the terminal.

Whatever the locale, nothing here fails on a character stdout's encoding lacks
(:func:`tolerant_stdout`): JSON and CSV are then written in UTF-8, whole, and a
table or message line shows such a character in a plain form ("…" as "...").
"""

from __future__ import annotations

import codecs
import io
import json
import re
import sys
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import tzinfo
from typing import Any, TextIO

FORMATS = ("table", "json", "csv")
_SPACE = re.compile(r"\s+")
#: C0 and C1 control characters and DEL, but tabs and line feeds (a shortened text has none
#: left; in another cell a line feed is tabulate's line break).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_ZWJ = "\u200d"
_EMBEDDINGS = "\u202a\u202b\u202d\u202e"  # LRE, RLE, LRO, RLO: closed by PDF
_ISOLATES = "\u2066\u2067\u2068"  # LRI, RLI, FSI: closed by PDI
_PDF, _PDI = "\u202c", "\u2069"
_BIDI = re.compile("[\u202a\u202b\u202d\u202e\u2066-\u2068]")
_REGIONAL = ("\U0001f1e6", "\U0001f1ff")


def percent(ratio: float | None, digits: int = 0) -> str | None:
    """A share (0-1) as people read it: 0.257 -> "26%" (``digits=1``: "25.7%").
    None stays None: tables show "-", the digest its own dash."""
    return None if ratio is None else f"{ratio:.{digits}%}"


def signed(value: float | None) -> str | None:
    """A net sentiment (-1 to 1) with its sign, to 2 decimals: 0.25 -> "+0.25"; one that
    rounds to zero is "+0.00", never "-0.00". None stays None."""
    return None if value is None else f"{round(value, 2) + 0.0:+.2f}"


def window_text(start: str, end: str, tz: tzinfo) -> str:
    """A window of stored (UTC) times as people read it: local times in ``tz``."""
    from monitor.timeutil import from_db

    return f"{from_db(start).astimezone(tz):%Y-%m-%d %H:%M} to {from_db(end).astimezone(tz):%Y-%m-%d %H:%M}"


#: How a table or a message shows a character stdout's encoding lacks (else NFKD's letters, else "?").
_PLAIN = {
    "\u2026": "...", "\u2713": "ok", "\u2717": "x", "\u2265": ">=", "\u2264": "<=", "\u00b1": "+-",
    "\u00d7": "x", "\u2192": "->", "\u2013": "-", "\u2014": "-", "\u2022": "*", "\u2248": "~",
}
_FALLBACK = "sentiment-monitor-plain"


def _plain(exc: UnicodeError) -> tuple[str, int]:
    """The error handler of :func:`tolerant_stdout`: each character the encoding lacks in a
    form it has ("é" as "e" in ASCII, "✓" as "ok"), else "?"."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    shown = []
    for char in exc.object[exc.start:exc.end]:
        plain = _PLAIN.get(char) or "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        try:
            plain.encode(exc.encoding)
        except UnicodeError:
            plain = ""
        shown.append(plain or "?")
    return "".join(shown), exc.end


codecs.register_error(_FALLBACK, _plain)


def _speaks_unicode(stream: TextIO) -> bool:
    """Whether ``stream`` can write every character (a UTF encoding)."""
    try:
        return codecs.lookup(getattr(stream, "encoding", None) or "ascii").name.startswith("utf")
    except LookupError:
        return False


def tolerant_stdout() -> None:
    """Make stdout write any text without a ``UnicodeEncodeError``, before anything is printed.

    An ASCII stdout (``LC_ALL=C`` with ``PYTHONUTF8=0``) becomes UTF-8, as click already makes
    its own lines, and as Python makes the C locale's by default; any other encoding that
    lacks characters (``PYTHONIOENCODING=latin-1``) keeps its encoding and shows those
    characters in a plain form. JSON and CSV never go through that (:func:`_whole`)."""
    stream = sys.stdout
    if stream is None or _speaks_unicode(stream) or not hasattr(stream, "reconfigure"):
        return
    if codecs.lookup(stream.encoding).name == "ascii":
        stream.reconfigure(encoding="utf-8")
    else:
        stream.reconfigure(errors=_FALLBACK)


@contextmanager
def _whole(stream: TextIO) -> Iterator[TextIO]:
    """``stream``, or a UTF-8 writer on its bytes where its encoding lacks characters: JSON
    and CSV are for programs, and they are written whole, never with a text changed."""
    buffer = getattr(stream, "buffer", None)
    if buffer is None or _speaks_unicode(stream):
        yield stream
        return
    stream.flush()  # what was written before goes first
    utf8 = io.TextIOWrapper(buffer, encoding="utf-8", errors="surrogateescape")
    try:
        yield utf8
    finally:
        try:
            utf8.flush()
        finally:
            utf8.detach()  # the stream stays open for stdout's own writer


def to_json(value: Any, stream: TextIO | None = None) -> None:
    with _whole(stream or sys.stdout) as out:
        json.dump(value, out, ensure_ascii=False, indent=2, default=str)
        out.write("\n")


#: What makes a spreadsheet read a cell as a formula (Excel, LibreOffice, Google Sheets).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    """A text that a spreadsheet would run as a formula (``=HYPERLINK(...)``, ``@SUM(...)``,
    ``-2+3``: a public post can be written so) gets a leading ``'``, so a spreadsheet reads it
    as text instead of running it; numbers, and texts that are numbers ("-0.5"), stay as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


def to_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], stream: TextIO | None = None) -> None:
    import csv

    with _whole(stream or sys.stdout) as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_csv_cell(row.get(c)) for c in columns] for row in rows)


def printable(text: str) -> str:
    """``text`` with each control character shown as its symbol (ESC as ␛, C1 controls as
    U+FFFD): what a table writes cannot move the cursor, clear the screen or retitle the
    terminal; and with its right-to-left overrides and isolates closed (:func:`closed_bidi`)."""
    return closed_bidi(_CONTROL.sub(_control_symbol, text))


def closed_bidi(text: str) -> str:
    """``text`` with the bidirectional embeddings, overrides and isolates it opens and leaves
    open (U+202A-U+202E, U+2066-U+2068; a name such as "\u202evil", or a text cut short) closed
    at its end: what follows it on the line (a time, a score) is not shown reversed."""
    if not _BIDI.search(text):
        return text
    open_: list[str] = []
    for char in text:
        if char in _EMBEDDINGS:
            open_.append(_PDF)
        elif char in _ISOLATES:
            open_.append(_PDI)
        elif char == _PDF and open_ and open_[-1] == _PDF:  # closes the innermost embedding
            open_.pop()
        elif char == _PDI and _PDI in open_:  # closes the innermost isolate and what it holds
            del open_[len(open_) - 1 - open_[::-1].index(_PDI):]
    return text + "".join(reversed(open_))


def _control_symbol(match: re.Match[str]) -> str:
    code = ord(match.group())
    return chr(0x2400 + code) if code < 0x20 else "\u2421" if code == 0x7F else "\ufffd"


def shorten(value: Any, width: int) -> str:
    """``value`` on one line, at most ``width`` terminal columns, cut with "…" between two
    characters as people see them (never between a letter and its accent, inside an emoji
    sequence or a flag)."""
    text = printable(_SPACE.sub(" ", str(value)).strip())
    if len(text) <= width // 2:  # fits whatever its characters' widths
        return text
    from wcwidth import wcswidth

    if wcswidth(text) <= width:  # closing bidi controls take no column
        return text
    lo, hi = 0, len(text)  # the longest prefix that leaves a column for "…"
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if wcswidth(text[:mid]) <= width - 1:
            lo = mid
        else:
            hi = mid - 1
    return closed_bidi(text[: _boundary(text, lo)]) + "…"


def _boundary(text: str, cut: int) -> int:
    """``cut`` moved back to the nearest place where a character, as people see it, begins."""
    from wcwidth import wcwidth

    while 0 < cut < len(text) and (
        wcwidth(text[cut]) == 0 or text[cut - 1] == _ZWJ or "\U0001f3fb" <= text[cut] <= "\U0001f3ff"
    ):
        cut -= 1
    flags = 0  # a flag is two regional indicators: never keep half of one
    while flags < cut and _REGIONAL[0] <= text[cut - 1 - flags] <= _REGIONAL[1]:
        flags += 1
    return cut - flags % 2


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
            "-" if row.get(c) is None else shorten(row[c], widths[c]) if c in widths
            else printable(row[c]) if isinstance(row[c], str) else row[c]
            for c in columns
        ]
        for row in rows
    ]
    stream.write(tabulate(body, headers=list(headers or columns), disable_numparse=True) + "\n")


def details(heading: str, lines: Sequence[tuple[str, Any]], stream: TextIO | None = None) -> None:
    """Under a table, one row told in full (the table cuts long values short): ``heading``, then
    ``"  label: value"`` for each value that is not None or empty."""
    stream = stream or sys.stdout
    stream.write(printable(heading) + "\n")
    for label, value in lines:
        if value not in (None, ""):
            stream.write(f"  {label}: {printable(str(value))}\n")


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
