"""Replay saved mentions from JSONL, JSON or CSV files.

The same reader backs three things: the ``jsonl`` source (replays a file,
cursor = records of that file already served), the bundled offline ``demo`` source, and
``sentiment-monitor import``. A record is an object with the keys of
:class:`~connectors.base.Mention` (``platform``, ``id``, ``text``, ``author``,
``url``, ``created_at``, ``lang``, ``likes``, ``replies``, ``reposts``,
``followers``) plus an optional ``brand``; other keys are kept in ``raw``, so
``sentiment-monitor mentions --format json`` output imports back unchanged.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

from connectors.base import (
    BadPayload,
    Batch,
    BrandQuery,
    Mention,
    check_at_least_one,
    decode_cursor,
    encode_cursor,
    parse_iso_datetime,
    whole_number,
)
from connectors.csvfile import open_export, undecodable

FORMATS = ("jsonl", "json", "csv", "tsv")


class BadRecord(BadPayload):
    """One record of a file could not be read. ``where`` is ``file:line``."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


@dataclass(frozen=True)
class Record:
    where: str  # "file.jsonl:12", for messages
    mention: Mention
    brand: str | None = None


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("csv", "tsv"):
        return suffix
    if suffix in ("json", "jsonl", "ndjson"):
        # Told apart by content whatever the extension: one JSON array (a line of JSON
        # lines is an object), else JSON lines.
        try:
            with path.open("rb") as fh:
                head = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
        except OSError as exc:  # as reading it would say
            raise BadPayload(f"{path}: {exc.strerror}") from None
        return "json" if head.startswith(b"[") else "jsonl"
    raise BadPayload(
        f"{path}: cannot tell the format from the extension {path.suffix!r};"
        f" use one of .jsonl, .json, .csv, .tsv (or say which with --input-format)"
    )


def iter_records(
    path: str | Path, *, fmt: str | None = None, default_platform: str | None = None
) -> Iterator[Record | BadRecord]:
    """Yield each record of ``path`` in order, or a :class:`BadRecord` for each bad one.

    Bad records are yielded, not raised, so a caller can either stop at the
    first (the default for imports) or skip and list them (``--skip-bad``).
    What makes the whole file unreadable (a CSV header without the mention
    columns, a JSON file that is not an array of objects) is raised: there is
    no record to skip.
    """
    for item in iter_objects(path, fmt=fmt, default_platform=default_platform):
        yield item if isinstance(item, BadRecord) else _record(item[0], item[1], default_platform)


def iter_objects(
    path: str | Path, *, fmt: str | None = None, default_platform: str | None = None
) -> Iterator[tuple[str, Any] | BadRecord]:
    """Yield ``(where, object)`` for each record of ``path`` as read (not checked: see
    :func:`fields`), or a :class:`BadRecord` for one that cannot be read at all."""
    path = Path(path)
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    if fmt in ("csv", "tsv"):
        yield from _csv(path, default_platform)
        return
    try:
        fh = path.open("r", encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise BadPayload(f"{path}: {exc.strerror}") from None
    with fh:
        try:
            if fmt == "jsonl":
                yield from _jsonl(path, fh)
            else:
                yield from _json_array(path, fh)
        except UnicodeDecodeError as exc:
            raise not_utf8(path, exc) from None


def not_utf8(path: str | Path, exc: UnicodeError) -> BadPayload:
    """The error for a JSON or JSONL file that is not UTF-8 text, naming the line and byte
    offset of its first byte that is not."""
    path = Path(path)
    return undecodable(path, lambda: path.open("rb"), "utf-8", exc, name="UTF-8")


def _jsonl(path: Path, fh: io.TextIOBase):
    for number, line in enumerate(fh, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            obj = json.loads(line.rstrip("\r\n"))  # the column of an error is on this line
        except json.JSONDecodeError as exc:
            yield BadRecord(where, f"invalid JSON ({exc.msg} at column {exc.colno})")
            continue
        yield where, obj


def _json_array(path: Path, fh: io.TextIOBase):
    try:
        items = json.load(fh)
    except json.JSONDecodeError as exc:  # one document: nothing of it can be read
        raise BadRecord(f"{path}:{exc.lineno}", f"invalid JSON ({exc.msg})") from None
    if not isinstance(items, list):
        raise BadRecord(f"{path}:1", "expected a JSON array of mention objects")
    for number, obj in enumerate(items, start=1):
        yield f"{path} item {number}", obj


_WHOLE = re.compile(r"-?[0-9]+")  # not str.isdigit(): "²" and "--5" are no numbers int() reads
#: The counts SQLite stores (a 64-bit integer); a larger one is no count a platform gives.
COUNT_MIN, COUNT_MAX = -(2**63), 2**63 - 1
#: How Excel writes a long number (a post id) it has rounded to 6 digits: the id itself is lost.
_EXCEL_ROUNDED = re.compile(r"[0-9]([.,][0-9]+)?E\+[0-9]+")  # "1,23457E+18" in Europe
_FIELD_NAMES = (
    "platform", "id", "text", "author", "url", "created_at", "lang", "likes", "replies", "reposts", "followers",
    "brand",
)


def _csv(path: Path, default_platform: str | None = None):
    """A CSV or TSV file as real exports come (see :mod:`connectors.csvfile`): UTF-8
    with or without BOM, Windows-1252 or UTF-16; comma, semicolon or tab separated."""
    with open_export(path, option=None) as export:
        # A spreadsheet's "Created At" or "ID" names our field: matched in any case, spaces as "_".
        header = [key if (key := c.strip().lower().replace(" ", "_")) in _FIELD_NAMES else c for c in export.header]
        for name in _FIELD_NAMES:
            if header.count(name) > 1:
                where = ", ".join(str(i + 1) for i, c in enumerate(header) if c == name)
                raise BadRecord(f"{path}:1", f'the column "{name}" is in the header {header.count(name)} times'
                                             f" (columns {where}); keep one")
        missing = [c for c in ("id", "text", "created_at") if c not in header]
        if "platform" not in header and not default_platform:
            missing.insert(0, "platform")
        if missing:  # the header: no row can be read
            raise BadRecord(f"{path}:1", f"missing column(s) {', '.join(missing)}; found: {', '.join(export.header)}")
        for line, row in export.rows():
            if len(row) != len(header):
                yield BadRecord(f"{path}:{line}", f"expected {len(header)} fields, found {len(row)}")
                continue
            record = {k: (v if v != "" else None) for k, v in zip(header, row)}
            if record.get("id") and _EXCEL_ROUNDED.fullmatch(record["id"].strip()):
                yield BadRecord(f"{path}:{line}", f'"id" {record["id"]!r} is a number Excel rounded and wrote in'
                                                  " scientific notation: the real id is lost; import the file as"
                                                  " exported (or open it in Excel with that column as Text)")
                continue
            yield f"{path}:{line}", record


def _record(where: str, obj: Any, default_platform: str | None) -> Record | BadRecord:
    try:
        return _parse(where, obj, default_platform)
    except InvalidRecord as exc:
        return BadRecord(where, str(exc))


class InvalidRecord(ValueError):
    """A record object that is not a mention; the message says why."""


class Fields(NamedTuple):
    """A record's checked values (what :class:`Mention` is built from)."""

    platform: str
    id: str
    text: str
    author: str | None
    url: str | None
    created_at: datetime  # aware UTC
    created_text: str | None  # the record's own text when already "YYYY-MM-DDTHH:MM:SSZ"
    lang: str | None
    likes: int | None
    replies: int | None
    reposts: int | None
    followers: int | None
    brand: str | None
    raw: Mapping[str, Any]


def _text_field(obj: Mapping[str, Any], key: str, required: bool) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise InvalidRecord(f'missing "{key}"')
        return None
    if type(value) is str:
        if required and value.isspace():  # an id of spaces names no post
            raise InvalidRecord(f'"{key}" is blank')
        return value
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidRecord(f'"{key}" must be text, found {json.dumps(value)[:40]}')
    return str(value)


def _count(obj: Mapping[str, Any], key: str) -> int | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    # A negative number is kept: Reddit's score (stored as likes) goes below zero.
    if isinstance(value, int) and not isinstance(value, bool):
        count = value
    elif isinstance(value, float) and value.is_integer():
        count = int(value)
    elif isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
        count = int(value)
    else:
        raise InvalidRecord(f'"{key}" must be a whole number, found {value!r}')
    if not COUNT_MIN <= count <= COUNT_MAX:
        raise InvalidRecord(f'"{key}" {value!r} is out of range for a count (-2^63 to 2^63 - 1)')
    return count


def fields(obj: Any, default_platform: str | None = None) -> Fields:
    """Check one record object; raise :class:`InvalidRecord` saying what is wrong."""
    if type(obj) is dict:
        plain = _plain_fields(obj)
        if plain is not None:
            return plain
    if not isinstance(obj, Mapping):
        raise InvalidRecord(f"expected an object, found {type(obj).__name__}")
    # Platform names are lower case ("x", "reddit"), as connectors write them and filters match.
    platform = (_text_field(obj, "platform", required=default_platform is None) or default_platform).lower()  # type: ignore[union-attr]
    mention_id = _text_field(obj, "id", required=True)
    text = obj.get("text")
    if not isinstance(text, str):
        raise InvalidRecord('missing "text"' if text is None else '"text" must be a string')
    created = obj.get("created_at")
    created_text = None
    if created is None or (isinstance(created, str) and not created.strip()):
        raise InvalidRecord('missing "created_at"')
    try:
        if isinstance(created, str) and len(created) == 20 and created[10] == "T" and created[19] == "Z":
            created_at = datetime.fromisoformat(created)  # the stored form already: the common case
            created_text = created
        elif isinstance(created, (int, float)) and not isinstance(created, bool):
            created_at = _epoch(created)
        elif isinstance(created, str):
            created_at = parse_iso_datetime(created)
        else:
            raise ValueError(created)  # a bool, a list, an object
    except InvalidRecord:
        raise
    except (ValueError, OverflowError, OSError):
        raise InvalidRecord(
            f'"created_at" {created!r} is not an ISO 8601 time (e.g. 2026-01-31T08:00:00Z)'
        ) from None
    raw = obj.get("raw")
    return Fields(
        platform, mention_id, text,  # type: ignore[arg-type]
        _text_field(obj, "author", False), _text_field(obj, "url", False), created_at, created_text,
        _text_field(obj, "lang", False),
        _count(obj, "likes"), _count(obj, "replies"), _count(obj, "reposts"), _count(obj, "followers"),
        _text_field(obj, "brand", False), raw if isinstance(raw, Mapping) else obj,
    )


def _epoch(seconds: float) -> datetime:
    """A ``created_at`` written as a number: seconds since 1970-01-01 UTC."""
    try:
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (ValueError, OverflowError, OSError):
        if seconds != seconds or seconds in (float("inf"), float("-inf")):
            raise  # NaN, infinity: no time at all
    raise InvalidRecord(
        f'"created_at" {seconds!r} is out of range as seconds since 1970-01-01 UTC'
        f"{' (milliseconds? divide by 1000)' if seconds > 0 else ''}"
    )


def _plain_fields(obj: dict[str, Any]) -> Fields | None:
    """:func:`fields` of the common record (every value text, a whole number or null,
    ``created_at`` in the stored form), in a few type tests; ``None`` for any other
    record, which :func:`fields` then checks key by key (and explains what is wrong).
    An import checks and reads every record: this halves the cost of both."""
    get = obj.get
    platform, mention_id, text, created = get("platform"), get("id"), get("text"), get("created_at")
    author, url, lang, brand = get("author"), get("url"), get("lang"), get("brand")
    likes, replies, reposts, followers = get("likes"), get("replies"), get("reposts"), get("followers")
    if not (type(platform) is str and platform and type(mention_id) is str and mention_id
            and not mention_id.isspace() and not platform.isspace()
            and type(text) is str and type(created) is str and len(created) == 20
            and created[10] == "T" and created[19] == "Z"
            and (author is None or type(author) is str) and (url is None or type(url) is str)
            and (lang is None or type(lang) is str) and (brand is None or type(brand) is str)
            and (likes is None or type(likes) is int and COUNT_MIN <= likes <= COUNT_MAX)
            and (replies is None or type(replies) is int and COUNT_MIN <= replies <= COUNT_MAX)
            and (reposts is None or type(reposts) is int and COUNT_MIN <= reposts <= COUNT_MAX)
            and (followers is None or type(followers) is int and COUNT_MIN <= followers <= COUNT_MAX)):
        return None  # a bool, a float, a string of digits, a count too large, another time format: the general rules
    try:
        created_at = datetime.fromisoformat(created)
    except ValueError:
        return None
    raw = get("raw")
    return Fields(  # "" counts as absent
        platform.lower(), mention_id, text, author or None, url or None, created_at, created, lang or None,
        likes, replies, reposts, followers, brand or None,
        raw if isinstance(raw, Mapping) else obj,
    )


def _parse(where: str, obj: Any, default_platform: str | None) -> Record:
    f = fields(obj, default_platform)
    mention = Mention(
        platform=f.platform, id=f.id, text=f.text, author=f.author, url=f.url,
        created_at=f.created_at, raw=f.raw if f.raw is not obj else dict(obj), lang=f.lang,
        likes=f.likes, replies=f.replies, reposts=f.reposts, followers=f.followers,
    )
    return Record(where, mention, f.brand)


def line_ranges(path: str | Path, size: int = 1 << 20) -> list[tuple[int, int]]:
    """``(start, end)`` byte ranges of about ``size`` covering a file, each ending after a
    line break (or at the end), so each can be read and split into lines on its own."""
    ranges = []
    with open(path, "rb") as fh:
        start = 0
        while True:
            fh.seek(start + size)
            tail = fh.readline()
            end = fh.tell() if tail else fh.seek(0, io.SEEK_END)
            if end <= start:
                break
            ranges.append((start, end))
            start = end
    return ranges


def read_lines(path: str | Path, start: int, end: int) -> list[bytes]:
    """The lines of ``path`` in ``[start, end)`` (a range from :func:`line_ranges`), split
    where text files break lines (\\n, \\r\\n, \\r), a UTF-8 BOM dropped."""
    with open(path, "rb") as fh:
        fh.seek(start)
        block = fh.read(end - start)
    if start == 0 and block.startswith(b"\xef\xbb\xbf"):
        block = block[3:]
    return block.splitlines()


@dataclass(frozen=True)
class JsonlOptions:
    path: str
    #: Move every timestamp so the newest record is a few minutes old (demos).
    shift_to_now: bool = False
    #: Records served per poll; the cursor advances by what was served.
    max_per_poll: int = 10_000
    #: Platform for records that carry none.
    platform: str | None = None

    def __post_init__(self) -> None:
        if not self.path.strip():  # Path("") is the working directory
            raise ValueError("path: must not be empty")
        check_at_least_one(self, "max_per_poll")


class JsonlConnector:
    """Serve the records of a saved file, in order, a poll at a time.

    The cursor is the number of records already served, scoped to the file's
    ``path`` (``{"for": "exports/nov.jsonl", "served": 360}``, the shared cursor
    scope): a source pointed at another file reads it from its start, as a changed
    query does, instead of skipping as many of its records. A bad record fails the poll (naming file and line) and
    leaves the cursor where it was.
    """

    platform: ClassVar[str] = "jsonl"
    Options: ClassVar[type] = JsonlOptions
    #: The cursor names the file it counts; the demo's file is fixed: a bare count.
    keyed: ClassVar[bool] = True
    takes_query: ClassVar[bool] = False  # everything is read: there is nothing to search

    def __init__(self, options: JsonlOptions) -> None:
        self.options = options

    def build_query(self, brand: BrandQuery) -> str:
        return ""  # a replay serves the whole file; the core assigns brands

    def _served(self, cursor: str | None) -> int:
        """Records of this file already served, by ``cursor`` (a bare count, as older
        versions wrote it, counts the configured file)."""
        if not cursor:
            return 0
        if cursor.strip().isdigit():
            return int(cursor)
        if not cursor.lstrip().startswith("{"):
            raise BadPayload(f"jsonl cursor {cursor!r} is not a record count")
        done = whole_number(decode_cursor(cursor, self.platform, self.options.path), "served")  # another file: 0
        return done if done is not None and done >= 0 else 0

    def _cursor(self, served: int) -> str:
        return encode_cursor({"served": served}, self.options.path) if self.keyed else str(served)

    def fetch(self, query: str, cursor: str | None) -> Batch:
        done = self._served(cursor)
        path = Path(self.options.path).expanduser()  # "~/..." as in every path of the config
        if not path.exists():
            raise BadPayload(f"{path}: file not found")
        records: list[Mention] = []
        newest: datetime | None = None
        served = 0
        for number, item in enumerate(
            iter_records(path, default_platform=self.options.platform)
        ):
            if isinstance(item, BadRecord):
                raise item
            if newest is None or item.mention.created_at > newest:
                newest = item.mention.created_at
            if number >= done and len(records) < self.options.max_per_poll:
                records.append(item.mention)
                served = number + 1
            elif not self.options.shift_to_now and len(records) >= self.options.max_per_poll:
                break  # no need to read on unless the shift needs the newest time
        if self.options.shift_to_now and newest is not None and records:
            delta = datetime.now(timezone.utc) - timedelta(minutes=5) - newest
            records = [replace(m, created_at=m.created_at + delta) for m in records]
        return Batch(records, self._cursor(served) if records else None, requests=0)


@dataclass(frozen=True)
class DemoOptions:
    max_per_poll: int = 10_000

    def __post_init__(self) -> None:
        check_at_least_one(self, "max_per_poll")


class DemoConnector(JsonlConnector):
    """The bundled offline demo: mentions of the fictional brand Acme and its
    competitor Globex over two weeks, shifted so the newest is minutes old."""

    platform: ClassVar[str] = "demo"
    Options: ClassVar[type] = DemoOptions
    keyed: ClassVar[bool] = False

    def __init__(self, options: DemoOptions | None = None) -> None:
        options = options or DemoOptions()
        demo = str(resources.files("connectors") / "data" / "demo.jsonl")
        super().__init__(JsonlOptions(path=demo, shift_to_now=True, max_per_poll=options.max_per_poll))
