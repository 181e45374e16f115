"""``sentiment-monitor import``: saved mentions checked, scored and stored, fast.

A JSONL file is cut into byte ranges of whole lines (:func:`connectors.jsonl.line_ranges`).
Worker processes read their own ranges (nothing but a pair of offsets crosses to them),
parse, check, assign brands, drop noise, decide languages and score; the main process
only writes the rows they send back, 5,000 per transaction (``IMPORT_BATCH``), in file order, while they
work on the next ranges. A bounded number of ranges is in flight, so memory does not
grow with the file. The check pass (the whole file read before anything is written) is
spread over the workers the same way.

Other formats (CSV, a JSON array), small files and ``workers=1`` go through the very
same :class:`Scorer` in one process: the labels are the same either way.
"""

from __future__ import annotations

import gc
import json
import marshal
import os
import signal
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from connectors.jsonl import (
    BadRecord,
    Fields,
    InvalidRecord,
    detect_format,
    fields,
    line_ranges,
    not_utf8,
    read_lines,
)
from monitor.brands import BrandMatcher
from monitor.errors import MonitorError, did_you_mean
from monitor.interrupts import interrupts_held_inside
from monitor.storage import Store, describe_error, is_explained
from monitor.storage.labels import given_lang
from monitor.storage.scored import mention_row
from monitor.timeutil import FIRST_DATE, LAST_DATE, to_db, utcnow

#: Bytes of a JSONL file per task: big enough to keep IPC overhead small.
RANGE_BYTES = 1 << 20
#: Files smaller than this are not worth starting worker processes for.
PARALLEL_MIN_BYTES = 4 << 20
#: Nor are fewer stored mentions than this to re-score.
PARALLEL_MIN_MENTIONS = 10_000
#: Worker processes at most (``--workers`` is bounded by it too).
MAX_WORKERS = 64


def workers_for(path: Path, fmt: str | None, workers: int | None) -> int:
    """How many worker processes to use for ``path`` (0: score in this process); by default
    one per CPU, no more than the file has ranges (nor :data:`MAX_WORKERS`)."""
    size = path.stat().st_size
    if workers is None:
        workers = min(os.cpu_count() or 1, MAX_WORKERS, -(-size // RANGE_BYTES))
    if workers <= 1 or (fmt or detect_format(path)) != "jsonl" or size < PARALLEL_MIN_BYTES:
        return 0
    return workers


def workers_to_rescore(mentions: int, workers: int | None, per_task: int) -> int:
    """How many processes re-score ``mentions`` stored mentions, ``per_task`` a task (1: this one
    alone); by default one per CPU, no more than there are tasks (nor :data:`MAX_WORKERS`)."""
    if workers is None:
        workers = min(os.cpu_count() or 1, MAX_WORKERS, -(-mentions // per_task))
    return workers if workers > 1 and mentions >= PARALLEL_MIN_MENTIONS else 1


def checked_fields(obj: Any, brands: Mapping[str, str] | None) -> Fields:
    """:func:`connectors.jsonl.fields` of a record to import, created on a date the commands
    take (:data:`~monitor.timeutil.FIRST_DATE` to :data:`~monitor.timeutil.LAST_DATE`); with ``brands`` (configured
    names by their lower case, as :func:`monitor.ingest.check_file` builds them) a record naming a brand must
    name a configured one, in any case. ``None``: the import assigns its own brand."""
    f = fields(obj)
    if not FIRST_DATE <= f.created_at.date() <= LAST_DATE:  # a mention no command could ever show
        created = obj["created_at"]
        number = not isinstance(created, str)
        raise InvalidRecord(
            f'"created_at" {created!r} is out of range'
            f'{f" (as seconds since 1970-01-01 UTC: {f.created_at:%Y-%m-%d})" if number else ""}:'
            f" dates run from {FIRST_DATE} to {LAST_DATE}"
        )
    if brands is not None and f.brand is not None and f.brand.lower() not in brands:
        raise InvalidRecord(
            f'brand "{f.brand}" is not a configured [[brands]] name{did_you_mean(f.brand, list(brands.values()))}'
        )
    return f


class Scorer:
    """Records in, mention rows out (``monitor.storage.mentions`` column order).

    Everything a worker needs, picklable: the classifier (as its constructor
    arguments), the brand matcher, the language gate.
    """

    def __init__(
        self, classifier: Any, classifier_id: str, brands: BrandMatcher, languages: Any,
        *, brand: str | None, source: str, names: Mapping[str, str] | None = None,
    ) -> None:
        self.classifier = classifier
        self.classifier_id = classifier_id
        self.brands = brands
        self.languages = languages
        self.brand = brand
        self.source = source
        self.names = names  # the brand rule of checked_fields: the check pass's

    def rows(self, objects: Iterable[Any], fetched: str) -> tuple[list[tuple[Any, ...]], int, int]:
        """``(rows, excluded, invalid)`` for record objects (invalid ones are skipped)."""
        kept = []
        excluded = invalid = 0
        assign = self.brands.assign
        names = self.names
        for obj in objects:
            try:
                f = checked_fields(obj, names)
            except InvalidRecord:
                invalid += 1
                continue
            brand, drop = assign(f.text, self.brand or f.brand, f.author, f.platform)
            if drop:
                excluded += 1
            else:
                kept.append((f, brand))
        results = self.languages.classify(self.classifier, [f.text for f, _ in kept], [f.lang for f, _ in kept])
        out = []
        for (f, brand), c in zip(kept, results):
            out.append(mention_row(
                f.platform, f.id, self.source, brand, f.text, f.author, f.url,
                f.created_text or to_db(f.created_at), fetched, c.lang or f.lang,
                f.likes, f.replies, f.reposts, f.followers, c.compound, c.label, self.classifier_id, f.raw,
                lang_detected=c.detected,
            ))
        return out, excluded, invalid


def _objects(lines: list[bytes]) -> Iterator[tuple[int, Any]]:
    """``(index, value)`` of each non-blank JSON line. A line that is not JSON yields its
    :class:`json.JSONDecodeError` as the value; a line that is not UTF-8 raises
    :class:`UnicodeDecodeError` with the line's index as ``start``."""
    for index, line in enumerate(lines):
        try:
            yield index, orjson.loads(line)  # the common case: no decode, no copy
            continue
        except orjson.JSONDecodeError:
            pass
        # The exact rules and messages of the json module (big integers, NaN, blank
        # lines of Unicode spaces), and a clear error for text that is not UTF-8.
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UnicodeDecodeError("utf-8", line, index, index + 1, exc.reason) from None
        if not text.strip():
            continue
        try:
            yield index, json.loads(text)
        except json.JSONDecodeError as exc:
            yield index, exc


# --- the work done in worker processes --------------------------------------------------
_WORKER_SCORER: Scorer | None = None  # set once per worker process by _start_worker


def _start_worker(scorer: Scorer | None) -> None:
    global _WORKER_SCORER
    _WORKER_SCORER = scorer
    # What a worker holds for its life (modules, the scorer and its lexicons) is frozen:
    # the cyclic collector no longer walks it (nor touches the pages a fork shares). The
    # collector is paused too: a task allocates a few objects per record, which would set it
    # off every 700 allocations for next to no garbage; each task ends with one collection
    # instead (_task). About 4% of a worker's CPU (bench/ingest.py).
    gc.freeze()
    gc.disable()
    # Ctrl-C reaches the whole process group: the import that started this worker stops
    # it (and reports what it stored); a worker's own KeyboardInterrupt would only add noise.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()


def _task(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` in a worker, then the reference cycles it left collected."""
    try:
        return fn(*args)
    finally:
        gc.collect()


def _exit_with_parent(parent: int) -> None:
    """End this worker once the import that started it is gone (``kill -9``): its
    siblings hold the task pipe open, so a worker waiting for work would never see EOF."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


@dataclass(frozen=True)
class RangeCheck:
    """The check of one byte range: its lines, good records, bad ones (relative line numbers)."""

    lines: int
    good: int
    bad: list[tuple[int, str]]  # (line index in the range, reason)
    undecodable: tuple[int, str] | None = None  # (line index in the range, reason)


def check_range(path: str, start: int, end: int, brands: Mapping[str, str] | None = None) -> RangeCheck:
    """Check the records of one range of a JSONL file (see :func:`checked_fields`)."""
    lines = read_lines(path, start, end)
    good, bad = 0, []
    try:
        for index, value in _objects(lines):
            if isinstance(value, json.JSONDecodeError):
                bad.append((index, f"invalid JSON ({value.msg} at column {value.colno})"))
                continue
            try:
                checked_fields(value, brands)
            except InvalidRecord as exc:
                bad.append((index, str(exc)))
            else:
                good += 1
    except UnicodeDecodeError as exc:
        return RangeCheck(len(lines), good, bad, (exc.start, exc.reason))
    return RangeCheck(len(lines), good, bad)


def score_range(path: str, start: int, end: int, fetched: str) -> tuple[bytes, int, int]:
    """Rows (``marshal``-ed: half the cost of pickling them), excluded and invalid counts
    of one range (in a worker: :func:`_start_worker` ran)."""
    assert _WORKER_SCORER is not None
    objects = []
    invalid = 0
    try:
        for _index, value in _objects(read_lines(path, start, end)):
            if isinstance(value, json.JSONDecodeError):
                invalid += 1  # the check pass reported it (or the file changed since)
            else:
                objects.append(value)
    except UnicodeDecodeError:
        invalid += 1
    rows, excluded, bad = _WORKER_SCORER.rows(objects, fetched)
    return marshal.dumps(rows), excluded, invalid + bad


def classify_texts(texts: list[str], langs: list[str | None]) -> list[Any]:
    """:meth:`~sentiment.language.LanguageGate.classify` of texts (in a worker:
    :func:`_start_worker` ran), for a re-scoring."""
    assert _WORKER_SCORER is not None
    return _WORKER_SCORER.languages.classify(_WORKER_SCORER.classifier, texts, langs)


# --- the main process's side -------------------------------------------------------------
def pool(workers: int, scorer: Scorer | None = None) -> ProcessPoolExecutor:
    """Worker processes, each holding ``scorer`` (built once per process)."""
    if scorer is not None:
        scorer.languages.load()  # forked workers share one copy of the model
    return ProcessPoolExecutor(max_workers=workers, initializer=_start_worker, initargs=(scorer,))


@contextmanager
def in_workers(
    workers: int, fn: Callable[..., Any], tasks: Iterable[tuple[Any, ...]], scorer: Scorer | None = None,
) -> Iterator[Iterator[Any]]:
    """``fn(*task)`` for each task, run by ``workers`` processes (:func:`pool`'s), yielded in
    task order with at most two tasks per worker submitted and not yet consumed (memory
    stays bounded); the processes end with the block."""
    executor = pool(workers, scorer)
    try:
        yield _in_order(executor, fn, tasks, 2 * workers)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _in_order(executor: Executor, fn: Callable[..., Any], tasks: Iterable[tuple[Any, ...]], ahead: int) -> Iterator[Any]:
    pending: deque[Future[Any]] = deque()
    for task in tasks:
        pending.append(executor.submit(_task, fn, *task))
        if len(pending) >= ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def check_jsonl(
    path: Path, workers: int, *, stop_at_first: bool, brands: Mapping[str, str] | None = None,
) -> tuple[int, list[BadRecord]]:
    """``(good records, bad records in file order)``, checked by ``workers`` processes
    (``brands``: see :func:`checked_fields`); with ``stop_at_first`` only the first bad
    record is looked for. A line that is not UTF-8 raises
    :class:`~connectors.base.BadPayload` (as :func:`iter_records` does)."""
    good = 0
    bad: list[BadRecord] = []
    line = 1
    tasks = ((str(path), start, end, brands) for start, end in line_ranges(path, RANGE_BYTES))
    with in_workers(workers, check_range, tasks) as results:
        for result in results:
            good += result.good
            bad += [BadRecord(f"{path}:{line + index}", reason) for index, reason in result.bad]
            if result.undecodable is not None:  # named as one process names it: line and byte offset
                raise not_utf8(path, UnicodeError(result.undecodable[1]))
            if bad and stop_at_first:
                break
            line += result.lines
    return good, bad


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector paused, as it was before afterwards. Writing an import
    allocates a few tuples per row, which would set the collector off every 700
    allocations to walk the live rows, for about one cycle of garbage per range of the
    file (a few percent of the writer's CPU: bench/ingest.py); memory is freed by
    reference counting all the same."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass
class Written:
    """What writing the rows of an import did."""

    records: int = 0  # good records read (stored or excluded)
    new: int = 0
    duplicates: int = 0
    excluded: int = 0
    invalid: int = 0  # bad records met while writing (the file changed after the check)


class Interrupted(KeyboardInterrupt):
    """An import stopped by Ctrl-C (or SIGTERM, where the command turns it into one):
    ``written`` is what the batches committed before it stored."""

    def __init__(self, written: Written) -> None:
        super().__init__()
        self.written = written


def write_rows(
    store: Store, batches: Iterable[tuple[list[tuple[Any, ...]], int, int]], batch_size: int,
    progress: Callable[[int], None] | None,
) -> Written:
    """Store rows as they come, ``batch_size`` per transaction, in order."""
    done = Written()
    buffer: list[tuple[Any, ...]] = []

    def flush(rows: list[tuple[Any, ...]]) -> None:
        # Ctrl-C stops the wait for the write lock (nothing is stored yet); once it is taken,
        # the batch is stored and counted whole, and a Ctrl-C is taken after the commit.
        def count() -> None:  # once committed: a commit that fails (a full disk) stored nothing
            done.new += counts.new
            done.duplicates += counts.duplicates

        with interrupts_held_inside(store.transaction(), committed=count):
            counts = store.mentions.upsert_rows(rows)

    with store.bulk_writes(), gc_paused():
        try:
            for rows, excluded, invalid in batches:
                done.records += len(rows) + excluded
                done.excluded += excluded
                done.invalid += invalid
                buffer += rows
                while len(buffer) >= batch_size:
                    flush(buffer[:batch_size])
                    del buffer[:batch_size]
                if progress:
                    progress(len(rows) + excluded)
            if buffer:
                flush(buffer)
        except KeyboardInterrupt:  # between batches: what is lost is the rows not yet flushed
            raise Interrupted(done) from None
        except sqlite3.OperationalError as exc:  # locked past the busy timeout, disk full, ...
            stored = done.new + done.duplicates
            if not stored or not is_explained(exc):
                raise
            raise MonitorError(
                f"{describe_error(exc, store.path)}. {stored:,} mentions ({done.new:,} new) were stored before,"
                " in whole batches: run the same import again to finish (stored mentions are not duplicated)"
            ) from None
    return done


def score_jsonl(scorer: Scorer, path: Path, workers: int) -> Iterator[tuple[list[tuple[Any, ...]], int, int]]:
    """``(rows, excluded, invalid)`` per range of a JSONL file, scored by ``workers``
    processes, in file order."""
    tasks = ((str(path), start, end, to_db(utcnow())) for start, end in line_ranges(path, RANGE_BYTES))
    with in_workers(workers, score_range, tasks, scorer) as results:
        for rows, excluded, invalid in results:
            yield marshal.loads(rows), excluded, invalid


def classify_rows(
    scorer: Scorer, batches: Iterable[list[dict[str, Any]]], workers: int
) -> Iterator[tuple[list[dict[str, Any]], list[Any]]]:
    """``(rows, decisions)`` per batch of stored rows (their ``text`` and
    :func:`~monitor.storage.labels.given_lang`) classified by ``workers`` processes, in
    order; the rows stay in this process."""
    waiting: deque[list[dict[str, Any]]] = deque()

    def tasks() -> Iterator[tuple[list[str], list[str | None]]]:
        for rows in batches:
            waiting.append(rows)
            yield [r["text"] for r in rows], [given_lang(r) for r in rows]

    with in_workers(workers, classify_texts, tasks(), scorer) as results:
        for decided in results:
            yield waiting.popleft(), decided


def score_here(
    scorer: Scorer, objects: Iterable[BadRecord | tuple[str, Any]], batch_size: int
) -> Iterator[tuple[list[tuple[Any, ...]], int, int]]:
    """The same, in this process, from :func:`connectors.jsonl.iter_objects`."""
    chunk: list[Any] = []
    for item in objects:
        if isinstance(item, BadRecord):
            continue  # reported by the check pass
        chunk.append(item[1])
        if len(chunk) >= batch_size:
            yield scorer.rows(chunk, to_db(utcnow()))
            chunk = []
    if chunk:
        yield scorer.rows(chunk, to_db(utcnow()))
