"""Fetch → classify → store.

:func:`poll_source` runs one poll of one source: fetch a batch from its
connector, assign brands, drop excluded noise, classify, then store the
mentions, the new cursor and the poll-run record in ONE transaction, so a
crash never moves a cursor past unsaved mentions. Errors are recorded against
the source and never move its cursor. :func:`import_file` backfills a saved
file through the same classification and storage path.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from connectors import csvfile
from connectors.base import ConnectorError, Mention, RateLimited, TransientError, requests_made
from connectors.jsonl import BadRecord, InvalidRecord, iter_objects
from monitor import backfill, logs, plugins
from monitor.brands import BrandMatcher
from monitor.checked import CheckedClassifier
from monitor.config import Config, SentimentConfig, SourceConfig, secrets_in
from monitor.errors import MonitorError, did_you_mean
from monitor.interrupts import interrupts_held_inside
from monitor.storage import Store, describe_error, error_kind, is_explained
from monitor.storage.labels import Rescored, given_lang
from monitor.storage.mentions import IMPORT_SOURCE
from monitor.storage.scored import ScoredMention
from monitor.storage.sources import PollRun
from monitor.timeutil import ceil_second, utcnow
from sentiment.base import Classifier
from sentiment.language import Classified, LanguageGate

log = logging.getLogger(__name__)

#: Rows per import transaction. The primary key takes a new import's rows in random
#: order, so a transaction dirties about one index page per row: 5,000 rows share
#: pages that 1,000 would write to the WAL again and again (a quarter less CPU per
#: row; bench/ingest.py), and hold the write lock for about 0.1 s (~23 us a row).
IMPORT_BATCH = 5000
#: A failed poll's error is printed and stored up to this many characters (a server's message may be long).
ERROR_CHARS = 300
#: Files of fewer records import too fast for a progress bar to be worth drawing.
PROGRESS_MIN_RECORDS = 1000


def build_classifier(
    config: Config,
    name: str | None = None,
    *,
    brand_terms: Sequence[str] = (),
    positive_threshold: float | None = None,
    negative_threshold: float | None = None,
) -> Classifier:
    """The configured classifier (or the one registered as ``name``), masking every
    configured brand's names and handles plus ``brand_terms``.

    The configured thresholds and options belong to the configured classifier;
    another one named here gets its own defaults. ``positive_threshold`` /
    ``negative_threshold`` override one or both of those; an override that crosses
    the other threshold raises ``ValueError``.
    """
    sentiment = config.with_plugins().sentiment  # a config loaded without plugins is checked now
    name = name or sentiment.classifier
    cls = plugins.classifier_class(name)
    default = getattr(cls, "default_thresholds", None)
    own = name == sentiment.classifier
    thresholds = sentiment.thresholds_for(default) if own else default
    # The overrides layer on what the classifier would use without them, as the
    # configured thresholds layer on its default.
    overrides = SentimentConfig(positive_threshold=positive_threshold, negative_threshold=negative_threshold)
    thresholds = overrides.thresholds_for(thresholds)
    terms = list(dict.fromkeys([*config.brand_terms(), *brand_terms]))
    arguments = {"thresholds": thresholds, "brand_terms": terms, **(sentiment.option_values if own else {})}
    try:  # checked before the call: a TypeError from inside the constructor is a bug, not this
        inspect.signature(cls).bind(**arguments)
    except TypeError as exc:  # options it requires are not configured, or unknown ones are
        raise MonitorError(
            f'classifier "{name}" cannot be built: {exc}; set its options in [sentiment]'
            f' with classifier = "{name}"'
        ) from None
    with plugins.blamed(plugins.CLASSIFIERS, name, "failed to start"):
        try:
            classifier = cls(**arguments)
        except (OSError, ValueError, ImportError) as exc:  # e.g. a model directory that is not there
            raise MonitorError(f'classifier "{name}": {exc}') from None
    return CheckedClassifier(classifier, name)


def build_connector(source: SourceConfig) -> Any:
    return plugins.connector_class(source.platform)(source.options)


class Pipeline:
    """Brand assignment, noise exclusion, language and classification, shared by
    polls, imports and re-classification."""

    def __init__(self, config: Config, classifier: Classifier | None = None) -> None:
        self.config = config
        self.classifier = classifier or build_classifier(config)
        self.classifier_id = f"{self.classifier.name}/{self.classifier.version}"
        self.brands = BrandMatcher(config.brands)
        self.languages = LanguageGate(
            getattr(self.classifier, "languages", None), config.sentiment.detect_language
        )
        # One connector per source for the pipeline's life (a daemon's, until a reload), so
        # what a connector keeps between polls lasts: Reddit's access token, clients, sessions.
        self._connectors: dict[str, tuple[SourceConfig, Any]] = {}

    def connector(self, source: SourceConfig) -> Any:
        """The connector of ``source``, built on first use and again if its config changed.
        A source is polled by one thread at a time, so its connector is never shared."""
        kept = self._connectors.get(source.name)
        if kept is not None and kept[0] == source and kept[0].options == source.options:
            return kept[1]
        connector = build_connector(source)
        self._connectors[source.name] = (source, connector)
        return connector

    def classify(self, texts: Sequence[str], langs: Sequence[str | None]) -> list[Classified]:
        """Language and score per text (see :meth:`LanguageGate.classify`)."""
        return self.languages.classify(self.classifier, texts, langs)

    def score(
        self,
        mentions: Sequence[Mention],
        *,
        source: str | None,
        brand: str | None = None,
        own_posts: bool = False,
    ) -> tuple[list[ScoredMention], int]:
        """Scored mentions to store, and how many were dropped as excluded noise;
        ``brand`` (a source's) applies to every mention, else each is matched. A brand's
        own posts are dropped too (:meth:`BrandMatcher.assign`) unless ``own_posts``."""
        kept: list[tuple[Mention, str | None]] = []
        excluded = 0
        for mention in mentions:
            assigned, drop = self.brands.assign(
                mention.text, brand, None if own_posts else mention.author, mention.platform
            )
            if drop:
                excluded += 1
            else:
                kept.append((mention, assigned))
        results = self.classify([m.text for m, _ in kept], [m.lang for m, _ in kept])
        return [
            ScoredMention(m, source, b, r.compound, r.label, self.classifier_id, lang=r.lang, lang_detected=r.detected)
            for (m, b), r in zip(kept, results)
        ], excluded


@dataclass(frozen=True)
class PollResult(PollRun):
    """A poll run as ``poll`` reports it: what was recorded, how long it took and,
    when the platform rate-limited it (or a server error said when), when it may be retried."""

    seconds: float = 0.0
    retry_at: datetime | None = None

    #: The keys of ``poll --format json``, in order.
    REPORTED = (
        "source", "platform", "status", "fetched", "new", "duplicates", "excluded",
        "requests", "seconds", "error", "error_kind", "retry_at",
    )

    def as_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.REPORTED}
        out["seconds"] = round(self.seconds, 3)
        out["retry_at"] = self.retry_at.isoformat() if self.retry_at else None
        return out


def poll_source(store: Store, pipeline: Pipeline, source: SourceConfig) -> PollResult:
    """One poll of one source. Never raises for the source's own failures; a database
    that cannot record the poll (read-only) raises a MonitorError before anything is fetched."""
    store.check_writable()
    started = utcnow()
    clock = time.monotonic()
    cursor = store.sources.cursor(source.name)
    requests = 0
    try:
        connector = pipeline.connector(source)
        query = source.query
        if query is None:
            brand = pipeline.config.brand(source.brand) if source.brand else None
            query = connector.build_query(brand.query) if brand else ""
        batch = connector.fetch(query, cursor)
        requests = batch.requests
        # An X source with exclude_own_posts = false asked for the brand's own posts: kept.
        own_posts = getattr(source.options, "exclude_own_posts", True) is False
        scored, excluded = pipeline.score(batch.mentions, source=source.name, brand=source.brand, own_posts=own_posts)
        run = PollResult(
            source.name, source.platform, started, utcnow(), "ok",
            fetched=len(batch.mentions), excluded=excluded, requests=requests,
            cursor_before=cursor, cursor_after=batch.next_cursor,
        )
        with store.transaction():
            counts = store.mentions.upsert(scored, fetched_at=started)
            run = replace(run, new=counts.new, duplicates=counts.duplicates)
            store.sources.record(run)
    except KeyboardInterrupt:  # Ctrl-C (or SIGTERM, as the commands turn it into one): stop
        raise
    except BaseException as exc:  # noqa: BLE001 - a source's failure is recorded, not raised: a
        # plugin's SystemExit or asyncio.CancelledError too (it would stop `poll` or the daemon)
        requests = requests_made(exc) or requests  # a fetch that failed marks its requests on exc
        if isinstance(exc, ConnectorError):
            kind, message = exc.kind, str(exc)
        elif is_explained(exc):  # a lock held too long, a full disk, a damaged file: no bug of ours
            kind, message = error_kind(exc) or "internal", describe_error(exc, store.path)
        else:
            kind = "internal"
            message = str(exc) if isinstance(exc, MonitorError) else f"{type(exc).__name__}: {exc}"
            message = message if str(exc) else type(exc).__name__  # CancelledError() says nothing more
        # A MonitorError says what is wrong (a classifier's bad score): as a ConnectorError, it is
        # the poll's result that the caller prints or logs; a traceback would only show the check.
        # One wrapping a plugin's own exception keeps it: where that was raised is worth seeing.
        said = isinstance(exc, MonitorError) and exc.__cause__ is None
        if kind == "internal" and not is_explained(exc) and not said:
            log.error("source %s: unexpected error", source.name, exc_info=True)
        # Printed and stored: masked as the logs are (a server may echo the credential back),
        # with the source's own secrets as they are now (a rotated token file included).
        message = logs.redact(message, logs.revealed(secrets_in(source.options, masked=True)))
        if len(message) > ERROR_CHARS:  # shortened only once masked: a token cut in two is not masked
            message = message[: ERROR_CHARS - 1] + "…"
        run = PollResult(
            source.name, source.platform, started, utcnow(), "error",
            requests=requests, cursor_before=cursor, error=message, error_kind=kind,
            # A rate limit's retry time, or a server error's Retry-After (TransientError).
            retry_at=exc.retry_at if isinstance(exc, (RateLimited, TransientError)) else None,
        )
        try:
            # After a lock that outlasted the busy timeout, no second wait as long: the
            # message says how long it waited, and it would be twice that.
            with store.without_waiting() if kind == "locked" else contextlib.nullcontext():
                with store.transaction():
                    store.sources.record(run)
                    if run.retry_at is not None:  # `status` and `run --once` wait for it, not only the daemon
                        store.sources.set_next_poll(source.name, source.platform, ceil_second(run.retry_at))
        except Exception as again:  # noqa: BLE001 - recording must not hide the original error
            if is_explained(again):  # no bug of ours: one line
                log.error("source %s: could not record the failed poll: %s", source.name,
                          describe_error(again, store.path))
            else:
                log.exception("source %s: could not record the failed poll", source.name)
        return replace(run, seconds=time.monotonic() - clock)
    result = replace(run, seconds=time.monotonic() - clock)
    log.info(
        "poll %s: %d fetched, %d new, %d duplicates, %d excluded, %d requests in %.2fs",
        source.name, result.fetched, result.new, result.duplicates, result.excluded,
        result.requests, result.seconds,
    )
    return result


def select_sources(config: Config, names: Sequence[str] = ()) -> list[SourceConfig]:
    """The named sources (enabled or not, each once), or every enabled one."""
    if not names:
        return [s for s in config.sources if s.enabled]
    chosen = []
    for name in dict.fromkeys(names):
        source = config.source(name)
        if source is None:
            names_known = [s.name for s in config.sources]
            known = ", ".join(names_known) or "none configured"
            raise MonitorError(f'no source named "{name}" in {config.label}{did_you_mean(name, names_known)}'
                               f" (sources: {known})")
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
    #: The brand rule the check applied (configured names by their lower case, ``None``:
    #: records' brands not checked); the import applies the same one.
    brands: Mapping[str, str] | None = None


def check_file(
    path: str | Path, *, fmt: str | None = None, skip_bad: bool = False, workers: int | None = None,
    brands: Iterable[str] | None = None,
) -> FileCheck:
    """Read the whole file once without writing anything.

    Without ``skip_bad`` the first bad record raises a MonitorError naming
    file, line and reason. ``brands``: the configured brand names; a record
    naming another brand is bad (``None``: records' brands are not checked, as
    when the import assigns one brand to all). A large JSONL file is checked by
    ``workers`` processes (default: one per CPU; see :mod:`monitor.backfill`).
    """
    path = Path(path)
    names = None if brands is None else {name.lower(): name for name in brands}
    try:
        csvfile.check_file(path)
        parallel = backfill.workers_for(path, fmt, workers)
        if parallel:
            good, bad = backfill.check_jsonl(path, parallel, stop_at_first=not skip_bad, brands=names)
        else:
            good, bad = _check_here(path, fmt, names, stop_at_first=not skip_bad)
    except ConnectorError as exc:  # unreadable file, wrong encoding
        raise MonitorError(str(exc)) from None
    if bad and not skip_bad:
        raise MonitorError(f"{bad[0]} (nothing was imported; fix it or use --skip-bad)")
    return FileCheck(path, fmt, good, [str(b) for b in bad], names)


def _check_here(
    path: Path, fmt: str | None, brands: Mapping[str, str] | None, *, stop_at_first: bool
) -> tuple[int, list[BadRecord]]:
    good = 0
    bad: list[BadRecord] = []
    for item in iter_objects(path, fmt=fmt):
        if not isinstance(item, BadRecord):
            try:
                backfill.checked_fields(item[1], brands)
            except InvalidRecord as exc:
                item = BadRecord(item[0], str(exc))
            else:
                good += 1
                continue
        bad.append(item)
        if stop_at_first:
            break
    return good, bad


def import_file(
    store: Store,
    pipeline: Pipeline,
    check: FileCheck,
    *,
    brand: str | None = None,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> ImportResult:
    """Backfill the mentions of a checked file (see :func:`check_file`) in batches.

    Each batch is its own transaction so a long import never holds the daemon
    off; re-running an interrupted import is harmless (upserts on
    ``(platform, id)``) and converges to the full file. A large JSONL file is
    scored by ``workers`` processes while this one writes (same labels).
    """
    path, fmt = check.path, check.fmt
    scorer = backfill.Scorer(
        pipeline.classifier, pipeline.classifier_id, pipeline.brands, pipeline.languages,
        brand=brand, source=IMPORT_SOURCE, names=None if brand else check.brands,
    )
    try:
        parallel = backfill.workers_for(path, fmt, workers)
        batches = (
            backfill.score_jsonl(scorer, path, parallel) if parallel
            else backfill.score_here(scorer, iter_objects(path, fmt=fmt), IMPORT_BATCH)
        )
        # closed here, whatever stops the writes (Ctrl-C, a locked or full database): the
        # worker processes end now, in this thread, not whenever the garbage collector
        # finalizes the generator (in a thread of the pool, where it fails)
        with contextlib.closing(batches):
            done = backfill.write_rows(store, batches, IMPORT_BATCH, progress)
    except ConnectorError as exc:  # the file became unreadable since the check
        raise MonitorError(str(exc)) from None
    result = ImportResult(
        str(path), records=done.records, new=done.new, duplicates=done.duplicates,
        excluded=done.excluded, skipped=check.bad,
    )
    if result.records != check.records:  # the file changed between the two passes
        log.warning(
            "%s changed during the import: %d records expected, %d imported",
            path, check.records, result.records,
        )
    return result


RESCORE_BATCH = 1000


@dataclass
class ReclassifyResult:
    classifier: str
    scanned: int = 0
    updated: int = 0  # score, label, classifier or language (or its source) changed
    labels_changed: int = 0  # the classifier's label changed
    overridden: int = 0  # of those, how many keep a person's label

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


class ReclassifyInterrupted(KeyboardInterrupt):
    """A reclassify stopped by Ctrl-C (or SIGTERM, where the command turns it into one):
    ``result`` counts the whole batches stored before it."""

    def __init__(self, result: ReclassifyResult) -> None:
        super().__init__()
        self.result = result


def reclassify(
    store: Store,
    pipeline: Pipeline,
    *,
    since: datetime | None = None,
    progress: Callable[[int], None] | None = None,
    workers: int = 1,
    dry_run: bool = False,
) -> ReclassifyResult:
    """Re-score stored mentions (created at or after ``since``) exactly as a poll
    or import would now: same pipeline, same language decision (``dry_run``: count
    what would change, write nothing).

    Manual overrides stay the effective label. Each batch is its own
    transaction, so the daemon's writes are never held off for long; an
    interrupted run can simply be run again (a Ctrl-C is taken between batches and
    raised as :class:`ReclassifyInterrupted`). With ``workers`` > 1 the texts are
    classified by that many processes while this one reads and writes (same labels).
    """
    result = ReclassifyResult(pipeline.classifier_id)
    batches = _to_rescore(store, since)
    if workers > 1:
        scorer = backfill.Scorer(
            pipeline.classifier, pipeline.classifier_id, pipeline.brands, pipeline.languages,
            brand=None, source="reclassify",
        )
        decided = backfill.classify_rows(scorer, batches, workers)
    else:
        decided = ((rows, pipeline.classify([r["text"] for r in rows], [given_lang(r) for r in rows]))
                   for rows in batches)
    try:
        with contextlib.closing(decided):  # the worker processes end before a stop is reported (see import_file)
            for rows, classified in decided:
                scores = [Rescored.decided(r, c, pipeline.classifier_id) for r, c in zip(rows, classified)]
                # Ctrl-C stops the wait for the write lock; once it is taken, a batch is stored and
                # counted whole once committed, then Ctrl-C is taken (a dry run writes nothing:
                # no lock to wait for, no commit to fail).
                def count() -> None:
                    result.scanned += len(rows)
                    result.updated += counts.updated
                    result.labels_changed += counts.labels_changed
                    result.overridden += counts.overridden

                with interrupts_held_inside(contextlib.nullcontext() if dry_run else store.transaction(), committed=count):
                    counts = store.labels.rescore(rows, scores, at=utcnow(), dry_run=dry_run)
                if progress:
                    progress(len(rows))
    except KeyboardInterrupt:
        raise ReclassifyInterrupted(result) from None
    log.info("reclassify%s with %s: %s", " (dry run)" if dry_run else "", pipeline.classifier_id, result.as_dict())
    return result


def _to_rescore(store: Store, since: datetime | None) -> Iterator[list[dict[str, Any]]]:
    """The mentions to re-score, ``RESCORE_BATCH`` at a time (read ahead of the writes:
    these never change the (created_at, rowid) key the batches are read by)."""
    after: tuple[str, int] | None = None
    while rows := store.labels.batch_to_rescore(since, after, RESCORE_BATCH):
        yield rows
        after = (rows[-1]["created_at"], rows[-1]["rowid"])
