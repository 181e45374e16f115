"""Replay saved mentions from JSONL, JSON or CSV files.

The same reader backs three things: the ``jsonl`` source (replays a file,
cursor = records already served), the bundled offline ``demo`` source, and
``sentiment-monitor import``. A record is an object with the keys of
:class:`~connectors.base.Mention` (``platform``, ``id``, ``text``, ``author``,
``url``, ``created_at``, ``lang``, ``likes``, ``replies``, ``reposts``,
``followers``) plus an optional ``brand``; other keys are kept in ``raw``, so
``sentiment-monitor mentions --format json`` output imports back unchanged.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

from connectors.base import Batch, BadPayload, BrandQuery, Mention, parse_iso_datetime

FORMATS = ("jsonl", "json", "csv", "tsv")
_INT_FIELDS = ("likes", "replies", "reposts", "followers")
_TEXT_FIELDS = ("author", "url", "lang")

# A CSV cell may hold a whole Reddit post; the csv module's default is 128 KiB.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


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
    if suffix in ("jsonl", "ndjson"):
        return "jsonl"
    if suffix in ("csv", "tsv"):
        return suffix
    if suffix == "json":
        with path.open("rb") as fh:
            head = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
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
    """
    path = Path(path)
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    try:
        fh = path.open("r", encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise BadPayload(f"{path}: {exc.strerror}") from None
    with fh:
        try:
            if fmt == "jsonl":
                yield from _jsonl(path, fh, default_platform)
            elif fmt == "json":
                yield from _json_array(path, fh, default_platform)
            else:
                yield from _csv(path, fh, default_platform, "\t" if fmt == "tsv" else ",")
        except UnicodeDecodeError as exc:
            raise BadPayload(
                f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason}); save it as UTF-8"
            ) from None


def _jsonl(path: Path, fh: io.TextIOBase, default_platform: str | None):
    for number, line in enumerate(fh, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield BadRecord(where, f"invalid JSON ({exc.msg} at column {exc.colno})")
            continue
        yield _record(where, obj, default_platform)


def _json_array(path: Path, fh: io.TextIOBase, default_platform: str | None):
    try:
        items = json.load(fh)
    except json.JSONDecodeError as exc:
        yield BadRecord(f"{path}:{exc.lineno}", f"invalid JSON ({exc.msg})")
        return
    if not isinstance(items, list):
        yield BadRecord(f"{path}:1", "expected a JSON array of mention objects")
        return
    for number, obj in enumerate(items, start=1):
        yield _record(f"{path} item {number}", obj, default_platform)


def _csv(path: Path, fh: io.TextIOBase, default_platform: str | None, delimiter: str):
    reader = csv.reader(fh, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        yield BadRecord(f"{path}:1", f"bad CSV header ({exc})")
        return
    header = [h.strip() for h in header]
    missing = [c for c in ("id", "text", "created_at") if c not in header]
    if "platform" not in header and not default_platform:
        missing.insert(0, "platform")
    if missing:
        yield BadRecord(
            f"{path}:1",
            f"missing column(s) {', '.join(missing)}; found: {', '.join(header)}",
        )
        return
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield BadRecord(f"{path}:{start}", f"bad CSV ({exc})")
            return
        where = f"{path}:{start}"
        start = reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            yield BadRecord(where, f"expected {len(header)} fields, found {len(row)}")
            continue
        obj = {k: (v if v != "" else None) for k, v in zip(header, row)}
        yield _record(where, obj, default_platform)


def _record(where: str, obj: Any, default_platform: str | None) -> Record | BadRecord:
    try:
        return _parse(where, obj, default_platform)
    except _Invalid as exc:
        return BadRecord(where, str(exc))


class _Invalid(Exception):
    pass


def _parse(where: str, obj: Any, default_platform: str | None) -> Record:
    if not isinstance(obj, Mapping):
        raise _Invalid(f"expected an object, found {type(obj).__name__}")

    def text_field(key: str, required: bool) -> str | None:
        value = obj.get(key)
        if value is None or value == "":
            if required:
                raise _Invalid(f'missing "{key}"')
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise _Invalid(f'"{key}" must be text, found {json.dumps(value)[:40]}')
        return str(value)

    platform = text_field("platform", required=default_platform is None) or default_platform
    mention_id = text_field("id", required=True)
    text = obj.get("text")
    if not isinstance(text, str):
        raise _Invalid('missing "text"' if text is None else '"text" must be a string')
    created = obj.get("created_at")
    try:
        if isinstance(created, (int, float)) and not isinstance(created, bool):
            created_at = datetime.fromtimestamp(created, tz=timezone.utc)
        elif isinstance(created, str) and created.strip():
            created_at = parse_iso_datetime(created)
        else:
            raise _Invalid('missing "created_at"')
    except (ValueError, OverflowError, OSError):
        raise _Invalid(
            f'"created_at" {created!r} is not an ISO 8601 time (e.g. 2026-01-31T08:00:00Z)'
        ) from None
    counts: dict[str, int | None] = {}
    for key in _INT_FIELDS:
        value = obj.get(key)
        if value is None or value == "":
            counts[key] = None
            continue
        if isinstance(value, int) and not isinstance(value, bool):
            counts[key] = value
        elif isinstance(value, float) and value.is_integer():
            counts[key] = int(value)
        elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
            counts[key] = int(value)
        else:
            raise _Invalid(f'"{key}" must be a whole number, found {value!r}')
    raw = obj.get("raw")
    mention = Mention(
        platform=platform,  # type: ignore[arg-type]
        id=mention_id,  # type: ignore[arg-type]
        text=text,
        author=text_field("author", False),
        url=text_field("url", False),
        created_at=created_at,
        raw=raw if isinstance(raw, Mapping) else dict(obj),
        lang=text_field("lang", False),
        **counts,
    )
    return Record(where, mention, text_field("brand", False))


@dataclass(frozen=True)
class JsonlOptions:
    path: str
    #: Move every timestamp so the newest record is a few minutes old (demos).
    shift_to_now: bool = False
    #: Records served per poll; the cursor advances by what was served.
    max_per_poll: int = 10_000
    #: Platform for records that carry none.
    platform: str | None = None


class JsonlConnector:
    """Serve the records of a saved file, in order, a poll at a time.

    The cursor is the number of records already served. A bad record fails
    the poll (naming file and line) and leaves the cursor where it was.
    """

    platform: ClassVar[str] = "jsonl"
    Options: ClassVar[type] = JsonlOptions

    def __init__(self, options: JsonlOptions) -> None:
        self.options = options

    def _path(self) -> Path:
        return Path(self.options.path)

    def build_query(self, brand: BrandQuery) -> str:
        return ""  # a replay serves the whole file; the core assigns brands

    def fetch(self, query: str, cursor: str | None) -> Batch:
        try:
            done = int(cursor) if cursor else 0
        except ValueError:
            raise BadPayload(f"jsonl cursor {cursor!r} is not a record count") from None
        path = self._path()
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
        return Batch(records, str(served) if records else None, requests=0)


@dataclass(frozen=True)
class DemoOptions:
    max_per_poll: int = 10_000


class DemoConnector(JsonlConnector):
    """The bundled offline demo: mentions of the fictional brand Acme and its
    competitor Globex over two weeks, shifted so the newest is minutes old."""

    platform: ClassVar[str] = "demo"
    Options: ClassVar[type] = DemoOptions

    def __init__(self, options: DemoOptions | None = None) -> None:
        options = options or DemoOptions()
        super().__init__(
            JsonlOptions(path="", shift_to_now=True, max_per_poll=options.max_per_poll)
        )

    def _path(self) -> Path:
        return Path(str(resources.files("connectors") / "data" / "demo.jsonl"))
