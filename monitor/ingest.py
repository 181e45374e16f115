"""Fetch → classify → store.

:func:`poll_source` runs one poll of one source: fetch a batch from its
connector, assign brands, drop excluded noise, classify, then store the
mentions, the new cursor and the poll-run record in ONE transaction, so a
crash never moves a cursor past unsaved mentions. Errors are recorded against
the source and never move its cursor. :func:`import_file` backfills a saved
file through the same classification and storage path.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from connectors.base import ConnectorError, Mention, RateLimited
from connectors.jsonl import BadRecord, Record, iter_records
from monitor import plugins
from monitor.brands import BrandMatcher
from monitor.config import Config, SourceConfig
from monitor.errors import MonitorError
from monitor.storage import Store
from monitor.storage.mentions import ScoredMention
from monitor.storage.sources import PollRun
from monitor.timeutil import utcnow
from sentiment.base import Classifier

log = logging.getLogger(__name__)

IMPORT_BATCH = 1000


def build_classifier(config: Config) -> Classifier:
    """The configured classifier, masking every configured brand's names and handles."""
    cls = plugins.classifier_class(config.sentiment.classifier)
    return cls(thresholds=config.sentiment.thresholds, brand_terms=config.brand_terms())


def build_connector(source: SourceConfig) -> Any:
    return plugins.connector_class(source.platform)(source.options)


class Pipeline:
    """Brand assignment, noise exclusion and classification, shared by polls and imports."""

    def __init__(self, config: Config, classifier: Classifier | None = None) -> None:
        self.config = config
        self.classifier = classifier or build_classifier(config)
        self.classifier_id = f"{self.classifier.name}/{self.classifier.version}"
        self.brands = BrandMatcher(config.brands)

    def score(
        self,
        mentions: Sequence[Mention],
        *,
        source: str | None,
        brand: str | None = None,
        brands: Sequence[str | None] | None = None,
    ) -> tuple[list[ScoredMention], int]:
        """Scored mentions to store, and how many were dropped as excluded noise.

        ``brand`` applies to every mention (a source's brand); ``brands`` gives
        one per mention (an import's per-record brand), ``None`` meaning "match".
        """
        kept: list[tuple[Mention, str | None]] = []
        excluded = 0
        for i, mention in enumerate(mentions):
            given = brand if brands is None or brands[i] is None else brands[i]
            assigned, drop = self.brands.assign(mention.text, given)
            if drop:
                excluded += 1
            else:
                kept.append((mention, assigned))
        scores = self.classifier.score_many([m.text for m, _ in kept])
        return [
            ScoredMention(m, source, b, s.compound, s.label, self.classifier_id)
            for (m, b), s in zip(kept, scores)
        ], excluded


@dataclass(frozen=True)
class PollResult:
    source: str
    platform: str
    status: str  # "ok" or "error"
    fetched: int = 0
    new: int = 0
    duplicates: int = 0
    excluded: int = 0
    requests: int = 0
    seconds: float = 0.0
    error: str | None = None
    error_kind: str | None = None
    retry_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["seconds"] = round(self.seconds, 3)
        out["retry_at"] = self.retry_at.isoformat() if self.retry_at else None
        return out


def poll_source(store: Store, pipeline: Pipeline, source: SourceConfig) -> PollResult:
    """One poll of one source. Never raises for the source's own failures."""
    started = utcnow()
    clock = time.monotonic()
    cursor = store.sources.cursor(source.name)
    requests = 0
    try:
        connector = build_connector(source)
        query = source.query
        if query is None:
            brand = pipeline.config.brand(source.brand) if source.brand else None
            query = connector.build_query(brand.query) if brand else ""
        batch = connector.fetch(query, cursor)
        requests = batch.requests
        scored, excluded = pipeline.score(batch.mentions, source=source.name, brand=source.brand)
        run = PollRun(
            source.name, source.platform, started, utcnow(), "ok",
            fetched=len(batch.mentions), excluded=excluded, requests=requests,
            cursor_before=cursor, cursor_after=batch.next_cursor,
        )
        with store.transaction():
            counts = store.mentions.upsert(scored, fetched_at=started)
            run = replace(run, new=counts.new, duplicates=counts.duplicates)
            store.sources.record(run)
    except Exception as exc:  # noqa: BLE001 - a source's failure is recorded, not raised
        kind = exc.kind if isinstance(exc, ConnectorError) else "internal"
        message = str(exc) if isinstance(exc, (ConnectorError, MonitorError)) else f"{type(exc).__name__}: {exc}"
        if kind == "internal":
            log.error("source %s: unexpected error", source.name, exc_info=True)
        run = PollRun(
            source.name, source.platform, started, utcnow(), "error",
            requests=requests, cursor_before=cursor, error=message, error_kind=kind,
        )
        try:
            store.sources.record(run)
        except Exception:  # noqa: BLE001 - recording must not hide the original error
            log.exception("source %s: could not record the failed poll", source.name)
        return PollResult(
            source.name, source.platform, "error", requests=requests,
            seconds=time.monotonic() - clock, error=message, error_kind=kind,
            retry_at=exc.retry_at if isinstance(exc, RateLimited) else None,
        )
    result = PollResult(
        source.name, source.platform, "ok", fetched=run.fetched, new=run.new,
        duplicates=run.duplicates, excluded=run.excluded, requests=requests,
        seconds=time.monotonic() - clock,
    )
    log.info(
        "poll %s: %d fetched, %d new, %d duplicates, %d excluded, %d requests in %.2fs",
        source.name, result.fetched, result.new, result.duplicates, result.excluded,
        result.requests, result.seconds,
    )
    return result


def select_sources(config: Config, names: Sequence[str] = ()) -> list[SourceConfig]:
    """The named sources (enabled or not), or every enabled one."""
    if not names:
        return [s for s in config.sources if s.enabled]
    chosen = []
    for name in names:
        source = config.source(name)
        if source is None:
            known = ", ".join(s.name for s in config.sources) or "none configured"
            raise MonitorError(f'no source named "{name}" in {config.label} (sources: {known})')
        chosen.append(source)
    return chosen


def poll(store: Store, config: Config, names: Sequence[str] = (), pipeline: Pipeline | None = None) -> list[PollResult]:
    """One pass over the enabled (or named) sources."""
    sources = select_sources(config, names)
    pipeline = pipeline or Pipeline(config)
    return [poll_source(store, pipeline, source) for source in sources]


@dataclass
class ImportResult:
    path: str
    records: int = 0
    new: int = 0
    duplicates: int = 0
    excluded: int = 0
    skipped: list[str] = field(default_factory=list)  # "file:line: reason" per bad record

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path, "records": self.records, "new": self.new,
            "duplicates": self.duplicates, "excluded": self.excluded,
            "skipped": len(self.skipped), "skipped_records": self.skipped,
        }


@dataclass(frozen=True)
class FileCheck:
    """The first pass of an import: how many good records, which bad ones."""

    path: Path
    fmt: str | None
    records: int
    bad: list[str]


def check_file(path: str | Path, *, fmt: str | None = None, skip_bad: bool = False) -> FileCheck:
    """Read the whole file once without writing anything.

    Without ``skip_bad`` the first bad record raises a MonitorError naming
    file, line and reason.
    """
    path = Path(path)
    if not path.is_file():
        raise MonitorError(f"{path}: file not found")
    good = 0
    bad: list[str] = []
    for item in _records(path, fmt):
        if isinstance(item, BadRecord):
            if not skip_bad:
                raise MonitorError(f"{item} (nothing was imported; fix it or use --skip-bad)")
            bad.append(str(item))
        else:
            good += 1
    return FileCheck(path, fmt, good, bad)


def _records(path: Path, fmt: str | None) -> Iterable[Record | BadRecord]:
    try:
        yield from iter_records(path, fmt=fmt)
    except ConnectorError as exc:  # unreadable file, wrong encoding
        raise MonitorError(str(exc)) from None


def import_file(
    store: Store,
    pipeline: Pipeline,
    check: FileCheck,
    *,
    brand: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Backfill the mentions of a checked file (see :func:`check_file`) in batches.

    Each batch is its own transaction so a long import never holds the daemon
    off; re-running an interrupted import is harmless (upserts on
    ``(platform, id)``) and converges to the full file.
    """
    path, fmt = check.path, check.fmt
    result = ImportResult(str(path), skipped=check.bad)
    batch: list[Record] = []

    def flush() -> None:
        scored, excluded = pipeline.score(
            [r.mention for r in batch], source="import", brand=brand,
            brands=None if brand else [r.brand for r in batch],
        )
        counts = store.mentions.upsert(scored, fetched_at=utcnow())
        result.records += len(batch)
        result.new += counts.new
        result.duplicates += counts.duplicates
        result.excluded += excluded
        if progress:
            progress(len(batch))
        batch.clear()

    for item in _records(path, fmt):
        if isinstance(item, Record):
            batch.append(item)
            if len(batch) >= IMPORT_BATCH:
                flush()
    if batch:
        flush()
    if result.records != check.records:  # the file changed between the two passes
        log.warning(
            "%s changed during the import: %d records expected, %d imported",
            path, check.records, result.records,
        )
    return result
