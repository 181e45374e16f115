"""The daemon behind ``sentiment-monitor run``: every source polled on its own schedule.

Built on dbader/schedule with its limits in mind:

- Jobs run serially and an exception stops ``run_pending``: a job here only
  *submits* its source's poll to a worker thread and returns at once, and its
  body is guarded. A slow or hung source holds only its own thread.
- Nothing persists in the scheduler: each source's next poll time is stored
  (``sources.next_poll_at``) and honoured on start-up, so a restart does not
  hammer a rate-limited API; failure counts live in the database too.
- The daemon owns its ``Scheduler()``, so tests drive it step by step.

Alerts and the daily digest are service jobs: every minute each runs in a
worker thread of its own (never two at once) and decides for itself what is
due (the hour just ended; a digest whose send time passed and is not sent),
so they are idempotent and a restart catches up.

Each source has at most one poll in flight, in its own thread with its own
:class:`Store` (SQLite connections are not shared across threads). Results
come back through a queue drained by the main loop, which schedules the
source's next poll: ``every`` after a success, exactly the retry time after a
rate limit, the back-off cap after an auth error, and exponential back-off
with full jitter (capped) after any other failure. Signal handlers only put
an event on that queue; the loop waits on it, never sleeps.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import random
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol

import schedule

from monitor import ingest, logs, plugins
from monitor.config import Config, SourceConfig, secrets_in, unresolved_secrets
from monitor.ingest import PollResult
from monitor.errors import MonitorError
from monitor.storage import Store, describe_error, error_kind, is_explained
from monitor.timeutil import ceil_second, format_duration, from_db, to_db, utcnow

log = logging.getLogger(__name__)

#: How long in-flight polls and service jobs (a digest or alert being sent) may finish
#: after SIGTERM/SIGINT (the whole stop stays under 10 s).
SHUTDOWN_GRACE = 5.0
#: The main loop wakes at least this often (hang checks, clock-jump checks).
MAX_WAIT = 1.0
#: The main loop's own writes (a failed poll's record, a next poll time) wait at most this
#: long (ms) for another process's write lock, not the 30 s busy timeout: the loop answers a
#: stop and checks for hangs meanwhile. The schedule is kept in memory; only a restart misses
#: such a write.
BOOKKEEPING_WAIT_MS = 1000
#: Shortest wait before retrying a failed poll: full jitter can draw zero.
MIN_RETRY = 1.0
#: A wall-clock step bigger than this (DST change, NTP correction) shifts the schedule.
CLOCK_JUMP = 2.0
_MIN_DELAY = 0.001  # schedule loops forever on a zero interval
#: How often the service jobs (alerts, digest) look for due work, in seconds.
SERVICE_INTERVAL = 60.0


#: glibc malloc arenas for the daemon (glibc's default: 8 per core). Each poll runs in a new
#: thread, and threads spread their short-lived allocations over many arenas that each keep
#: their free memory: with HTTP sources RSS crept up 37 MB over 1,000 poll cycles
#: (bench/daemon_rss.py) while the Python heap stayed flat; with 2 it is flat.
MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # mallopt's parameter number, from glibc's malloc.h


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas for this process, unless ``MALLOC_ARENA_MAX`` says
    otherwise; whether it was capped (false off glibc). Call before starting threads."""
    if "MALLOC_ARENA_MAX" in os.environ or not sys.platform.startswith("linux"):
        return False
    import ctypes  # only the daemon pays for it

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_ARENA_MAX, arenas))  # 0 where the parameter is unknown (musl)


@contextmanager
def single_run(database: Any) -> Iterator[None]:
    """Hold ``<database>.lock`` (an exclusive, non-blocking ``flock``) for the block, or
    raise a :class:`MonitorError` naming the process that holds it: two daemons on one
    database would poll every source twice (twice the paid API reads). The kernel drops
    the lock when its process ends, ``kill -9`` included. No lock where ``fcntl`` is missing."""
    if str(database) == ":memory:":
        yield
        return
    try:
        import fcntl
    except ImportError:  # not on POSIX
        yield
        return
    # Beside the real file: a database reached through a symlink shares its lock.
    path = f"{os.path.realpath(database)}.lock"
    folder = os.path.dirname(path)
    try:
        os.makedirs(folder, exist_ok=True)  # taken before the database is made
    except OSError:  # no folder, no database to share: opening it names the problem
        yield
        return
    writable = True
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except PermissionError:  # left by another user (a `sudo ... run --once`): a lock all the same
        writable = False
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:  # no lock file, and none may be made: the folder is the cause
            raise MonitorError(f"cannot create the lock file {path}: its folder is not writable") from None
        except OSError as exc:
            raise MonitorError(f"cannot open the lock file {path}: {exc.strerror}; remove it or fix its owner") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip()
            raise MonitorError(
                f"{database} is in use by another `sentiment-monitor run` (pid {holder or 'unknown'}):"
                " stop it first; two would poll every source twice"
            ) from None
        if writable:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # releases the lock; the file stays (removing it would race the next run)


class Executor(Protocol):
    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future[Any]: ...


class ThreadExecutor:
    """One daemon thread per task.

    Unlike ``ThreadPoolExecutor`` (whose workers are joined at exit), a hung
    poll can neither starve other sources of a worker nor keep the process
    from stopping. At most one task per source runs, so threads stay few.
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future[Any]:
        future: Future[Any] = Future()

        def work() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # noqa: BLE001 - handed to the main loop
                future.set_exception(exc)

        threading.Thread(target=work, name="poll-worker", daemon=True).start()
        return future


def backoff_delay(failures: int, every: float, cap: float, rng: random.Random) -> float:
    """Seconds to wait after ``failures`` failed polls in a row: full jitter, capped.

    ``uniform(0, min(cap, every * 2 ** (failures - 1)))``, at least :data:`MIN_RETRY`.
    """
    ceiling = min(cap, every * 2 ** min(max(failures, 1) - 1, 40))
    return max(MIN_RETRY, rng.uniform(0, ceiling))


def file_identity(database: Any) -> tuple[int, int] | None:
    """``(device, inode)`` of the database file, ``(0, 0)`` when there is none; None for
    ``:memory:``."""
    if str(database) == ":memory:":
        return None
    try:
        stat = os.stat(database)
    except OSError:
        return (0, 0)
    return (stat.st_dev, stat.st_ino)


def gone_message(database: Any) -> str:
    return (
        f"{database} was removed or replaced while `run` was using it; stopping (its own connection"
        " still writes to the old file): start `run` again to use the database now at that path"
    )


def open_same_store(database: Any, identity: tuple[int, int] | None) -> Store:
    """The daemon's database on a connection of its own, if the file at its path is still
    the one the daemon started on (``identity``); else a :class:`MonitorError`. Opening
    the path anyway created an empty file in place of a removed one, and every poll failed
    on its missing tables, while the daemon's own connection kept the old file."""
    if identity is not None and file_identity(database) != identity:
        raise MonitorError(gone_message(database))
    store = Store.open(database, migrate=False)
    if identity is not None and file_identity(database) != identity:  # replaced meanwhile
        store.close()
        raise MonitorError(gone_message(database))
    return store


def poll_in_own_store(
    database: Any, pipeline: ingest.Pipeline, source: SourceConfig, identity: tuple[int, int] | None = None,
) -> PollResult:
    """One poll on a connection of its own (the worker thread's)."""
    with open_same_store(database, identity) as store:
        return ingest.poll_source(store, pipeline, source)


def _alerts_due(store: Store, config: Config) -> list[Any]:
    from monitor import alerts

    return alerts.run_due(store, config)


def _digest_due(store: Store, config: Config) -> list[Any]:
    from monitor import digest

    digest.run_due(store, config)
    return []  # each send is logged where it is made (monitor.digest.send), at its own level


#: Service jobs: name -> function(store, config) returning what it did, to be logged.
SERVICES: dict[str, Callable[[Store, Config], list[Any]]] = {"alerts": _alerts_due, "digest": _digest_due}


def run_service(database: Any, config: Config, name: str, identity: tuple[int, int] | None = None) -> list[Any]:
    """One run of a service job on a connection of its own."""
    with open_same_store(database, identity) as store:
        return SERVICES[name](store, config)


@dataclass
class _InFlight:
    source: SourceConfig
    started: float  # the daemon's monotonic clock
    started_at: datetime
    hung_reported: bool = False


def _secret_now_set(source: SourceConfig, state: dict[str, Any]) -> bool:
    """The source's last poll failed because one of its secrets could not be resolved (an
    unset variable, a missing file), and all of them resolve now: the back-off after an
    auth error is for credentials a platform refused, not for one the operator has since set."""
    error = state.get("last_error") or ""
    if state.get("last_error_kind") != "auth" or not state.get("consecutive_failures") or not error:
        return False
    secrets = secrets_in(source.options)
    return any(s.missing_in(error) for s in secrets) and not unresolved_secrets(source.options)


def _tag(name: str) -> str:
    return f"source:{name}"


def _local_seconds() -> float:
    """Naive local wall time as a number: what schedule compares job times with."""
    return (datetime.now() - datetime(2000, 1, 1)).total_seconds()


class Daemon:
    """Polls every enabled source of a config on its own schedule.

    ``reload`` loads the config afresh (for SIGHUP); ``executor`` runs polls
    (default: a thread each); ``rng`` draws back-off jitter; ``monotonic`` is
    the clock for hang and clock-jump checks (tests pass a simulated one).
    """

    def __init__(
        self,
        config: Config,
        *,
        reload: Callable[[], Config] | None = None,
        executor: Executor | None = None,
        rng: random.Random | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        shutdown_grace: float | None = None,
    ) -> None:
        self.config = config
        self.scheduler = schedule.Scheduler()
        self.store = Store.open(config.monitor.database)
        try:
            self.store.check_writable()  # one clear error now, not one per poll
        except BaseException:
            self.store.close()
            raise
        #: The database file opened (a removed or replaced one stops the daemon: see step).
        self._identity = file_identity(config.monitor.database)
        self.failure: str | None = None  # why the daemon stopped by itself (run raises it)
        self.polls: Counter[str] = Counter()  # results handled per source since start
        self.last_results: dict[str, PollResult] = {}
        self._reload = reload
        self._executor = executor or ThreadExecutor()
        self._rng = rng or random.Random()
        self._monotonic = monotonic
        self._grace = SHUTDOWN_GRACE if shutdown_grace is None else shutdown_grace
        self._hung_then = "its next poll waits until it returns"  # what follows a hung poll
        self._pipeline = ingest.Pipeline(config)
        self._events: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self._in_flight: dict[str, _InFlight] = {}
        self._services_running: set[str] = set()
        self._stopping = False
        self._abandon = False
        self._clock_mark: tuple[float, float] | None = None

    # ------------------------------------------------------------ running

    def run(self, *, handle_signals: bool = True) -> None:
        """Poll until SIGTERM/SIGINT (or :meth:`request_stop`); SIGHUP reloads the config."""
        with self._signals(handle_signals):
            self.start()
            while not self._stopping:
                self.step()
                if not self._stopping:
                    self._wait(self._idle_timeout())
            self._shutdown()
        if self.failure is not None:
            raise MonitorError(self.failure)

    def run_once(self, *, handle_signals: bool = True) -> list[PollResult]:
        """Poll every source that is due now, once; wait for them and return their results."""
        self._hung_then = "backs off as a failed poll does"  # whoever notices the hang first says this
        with self._signals(handle_signals):
            due = [s for s in self.config.sources if s.enabled and self._initial_delay(s) <= 0]
            log.info("run --once: %d of %d enabled source(s) due", len(due), len(self._enabled()))
            for source in due:
                self._due(source.name)
            self.settle(self.config.daemon.poll_timeout.total_seconds())
            if self._stopping:
                self._shutdown()
            else:
                # poll_timeout has passed: every poll still running is hung (and fails the run),
                # and the next runs leave it alone for a back-off, as after a failed poll.
                for name, flight in self._in_flight.items():
                    self.last_results[name] = self._report_hung(name, flight)
                    current = self.config.source(name)
                    if current is not None and current.enabled:
                        self._store_next_poll(current, self.last_results[name])
                if self._in_flight:
                    self._abandon_in_flight()
            results = [self.last_results[s.name] for s in due if s.name in self.last_results]
            if not self._stopping:
                # After polling, so the hour just ended and yesterday are complete.
                for name in SERVICES:
                    self._report_service(name, partial(run_service, self.config.monitor.database, self.config, name, self._identity))
            return results

    def start(self) -> None:
        """Schedule every enabled source, honouring its stored next poll time."""
        # The service jobs' modules are imported here, before any worker thread: the two
        # jobs start in the same tick, and two threads importing them at once can deadlock
        # on the import locks (the digest imports monitor.alerts.rule) with _DeadlockError.
        from monitor import alerts, digest  # noqa: F401
        for source in self._enabled():
            self._schedule(source.name, self._initial_delay(source))
        for name in SERVICES:
            self.scheduler.every(SERVICE_INTERVAL).seconds.do(self._service_due, name).tag(f"service:{name}")
        log.info(
            "daemon started: %d source(s) (%s), database %s",
            len(self._enabled()), ", ".join(s.name for s in self._enabled()) or "none",
            self.config.monitor.database,
        )

    def step(self) -> None:
        """Handle queued events, start the polls that are due, report hung ones."""
        while not self._stopping:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                break
            self._handle(event)
        if self._stopping:
            return
        if self._identity is not None and file_identity(self.config.monitor.database) != self._identity:
            # Removed (reset by hand?) or replaced (a backup restored): polls would go to the
            # file now at the path, this loop's writes to the old one. Stop; a restart (systemd
            # restarts the unit on failure) opens, and if need be sets up, the file there now.
            self.failure = gone_message(self.config.monitor.database)
            log.error("%s", self.failure)
            self._stopping = True
            return
        self._correct_clock_jump()
        try:
            self.scheduler.run_pending()
        except Exception:  # noqa: BLE001 - never stop the loop; jobs are guarded anyway
            log.exception("scheduler error")
        self._check_hung()

    def settle(self, timeout: float) -> bool:
        """Handle results until no poll is in flight (true) or ``timeout`` seconds pass (false)."""
        deadline = time.monotonic() + timeout
        while self._in_flight and not self._stopping and time.monotonic() < deadline:
            self._wait(min(MAX_WAIT, max(0.0, deadline - time.monotonic())))
            self._check_hung()
        return not self._in_flight

    def request_stop(self, reason: str = "requested") -> None:
        """Stop soon (thread-safe; what SIGTERM and SIGINT do)."""
        self._events.put(("stop", reason))

    def request_reload(self) -> None:
        """Reload the config soon (thread-safe; what SIGHUP does)."""
        self._events.put(("reload",))

    def close(self) -> None:
        self.store.close()

    def in_flight(self) -> list[str]:
        return sorted(self._in_flight)

    # ------------------------------------------------------------ events

    @contextmanager
    def _signals(self, enabled: bool) -> Iterator[None]:
        if not enabled or threading.current_thread() is not threading.main_thread():
            yield
            return

        # A handler runs between two bytecodes of the main thread, possibly inside a
        # lock that thread holds: SimpleQueue.put is reentrant, Event.set is not.
        def on_signal(signum: int, frame: Any) -> None:
            if signum == getattr(signal, "SIGHUP", None):
                self._events.put(("reload",))
            else:
                self._events.put(("stop", signal.Signals(signum).name))

        wanted = [signal.SIGTERM, signal.SIGINT] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
        previous = {s: signal.signal(s, on_signal) for s in wanted}
        try:
            yield
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    def _wait(self, timeout: float) -> None:
        try:
            event = self._events.get(timeout=timeout)
        except queue.Empty:
            return
        self._handle(event)

    def _idle_timeout(self) -> float:
        idle = self.scheduler.idle_seconds
        return MAX_WAIT if idle is None else min(MAX_WAIT, max(0.0, idle))

    def _handle(self, event: tuple[Any, ...]) -> None:
        kind = event[0]
        if kind == "result":
            self._on_result(event[1], event[2])
        elif kind == "service":
            self._services_running.discard(event[1])
            self._report_service(event[1], event[2].result)
        elif kind == "stop":
            if self._stopping:
                self._abandon = True  # a second signal: stop without waiting
            else:
                log.info("received %s: stopping (polls and jobs in flight get %.0fs to finish)", event[1], self._grace)
            self._stopping = True
        elif kind == "reload":
            if self._stopping:
                log.info("reload ignored: stopping")
            else:
                self.reload()

    # ------------------------------------------------------------ polls

    def _enabled(self) -> list[SourceConfig]:
        return [s for s in self.config.sources if s.enabled]

    def _schedule(self, name: str, delay: float) -> None:
        """(Re)place the source's one job: due ``delay`` seconds from now."""
        self.scheduler.clear(_tag(name))
        seconds = max(_MIN_DELAY, round(delay, 3))  # schedule keeps microseconds; ms is plenty
        self.scheduler.every(seconds).seconds.do(self._due, name).tag(_tag(name))

    def _due(self, name: str) -> Any:
        """The body of every job: submit the poll and return at once; never raises."""
        try:
            source = self.config.source(name)
            if source is not None and source.enabled and name not in self._in_flight:
                self._submit(source)
        except Exception:  # noqa: BLE001 - e.g. no thread could be started: retry later
            log.exception("could not start a poll of %s", name)
            self._in_flight.pop(name, None)
            source = self.config.source(name)
            if source is not None:
                self._schedule(name, source.every.total_seconds())
        return schedule.CancelJob  # the next job is scheduled when the result comes back

    def _service_due(self, name: str) -> None:
        """The body of a service job: run it in a worker unless it is still running."""
        if name in self._services_running:
            return
        try:
            self._services_running.add(name)
            future = self._executor.submit(run_service, self.config.monitor.database, self.config, name, self._identity)
            future.add_done_callback(lambda f: self._events.put(("service", name, f)))
        except Exception:  # noqa: BLE001 - never stop the loop
            self._services_running.discard(name)
            log.exception("could not start the %s job", name)

    def _one_line(self, exc: BaseException) -> str | None:
        """What a poll or job that raised ``exc`` says in one line when it is no bug of ours
        (a database locked, read-only or full; a :class:`MonitorError`, which says what is
        wrong); None for anything else, which is logged with its traceback."""
        if is_explained(exc):
            return describe_error(exc, self.config.monitor.database)  # type: ignore[arg-type]
        return str(exc) if isinstance(exc, MonitorError) else None

    def _report_service(self, name: str, results_of: Callable[[], list[Any]]) -> None:
        """Log what a service job did, or its error (it never stops the daemon)."""
        try:
            results = results_of()
        except Exception as exc:  # noqa: BLE001 - logged; the next run tries again
            line = self._one_line(exc)
            if line is not None:
                log.error("%s job failed: %s", name, line)
            else:
                log.exception("%s job failed", name)
            return
        for result in results or []:
            log.info("%s: %s", name, result.describe() if hasattr(result, "describe") else result)

    def _submit(self, source: SourceConfig) -> None:
        log.debug("poll %s: starting", source.name)
        self._in_flight[source.name] = _InFlight(source, self._monotonic(), utcnow())
        future = self._executor.submit(
            poll_in_own_store, self.config.monitor.database, self._pipeline, source, self._identity
        )
        future.add_done_callback(lambda f: self._events.put(("result", source.name, f)))

    def _on_result(self, name: str, future: Future[PollResult]) -> None:
        flight = self._in_flight.pop(name, None)
        source = flight.source if flight else self.config.source(name)
        try:
            result = future.result()
        except Exception as exc:  # noqa: BLE001 - e.g. the database could not be opened
            line = self._one_line(exc)
            message = line if line is not None else f"{type(exc).__name__}: {exc}"
            log.error("poll %s: %s", name, message, exc_info=line is None)
            now = utcnow()
            kind = error_kind(exc) or "internal"
            result = PollResult(
                name, source.platform if source else "?", now, now, "error",
                error=logs.redact(message), error_kind=kind,
            )
            if source is not None:
                self._guarded(self.store.sources.record, result)
        self.polls[name] += 1
        self.last_results[name] = result
        current = self.config.source(name)
        if current is None or not current.enabled:
            log.info("poll %s finished; the source is no longer configured", name)
            return
        delay = self._store_next_poll(current, result)
        if not self._stopping:
            self._schedule(name, delay)

    def _store_next_poll(self, source: SourceConfig, result: PollResult) -> float:
        """Store when ``source`` is next due after ``result`` (back-off after a failure,
        logged) and return the seconds until then."""
        delay = self._next_delay(source, result)
        if result.status != "ok":
            state = self._guarded(self.store.sources.get, source.name) or {}
            # A failure the database could not take (it was locked) left an older count behind.
            recorded = state.get("last_poll_at") == to_db(result.finished_at) and state.get("last_error") == result.error
            failures = state.get("consecutive_failures") or 0
            log.warning(
                "poll %s failed (%s) in %.2fs: %s; retry in %s (%s)",
                source.name, result.error_kind, result.seconds, result.error,
                format_duration(timedelta(seconds=math.ceil(delay))),
                f"{failures} failure(s) in a row" if recorded and failures else "the failure could not be recorded",
            )
        when = utcnow() + timedelta(seconds=delay)
        # Stored rounded up to the second: a restart never polls before the retry time.
        self._guarded(self.store.sources.set_next_poll, source.name, source.platform, ceil_second(when))
        return delay

    def _next_delay(self, source: SourceConfig, result: PollResult) -> float:
        every = source.every.total_seconds()
        if result.status == "ok":
            return every
        told = None if result.retry_at is None else max(0.0, (result.retry_at - utcnow()).total_seconds())
        if told is not None and result.error_kind == "rate_limited":  # exactly until the platform says
            return told
        cap = self.config.daemon.backoff_max.total_seconds()
        if result.error_kind == "auth":  # retrying soon cannot fix credentials
            return cap
        state = self._guarded(self.store.sources.get, source.name) or {}
        delay = backoff_delay(int(state.get("consecutive_failures") or 1), every, cap, self._rng)
        return delay if told is None else max(delay, told)  # a 503's Retry-After: not before it

    def _initial_delay(self, source: SourceConfig) -> float:
        """Seconds until the stored next poll; a success's wait never exceeds ``every``."""
        state = self._guarded(self.store.sources.get, source.name)
        if not state or not state.get("next_poll_at"):
            return 0.0
        if _secret_now_set(source, state):
            log.info("source %s: its last poll failed for want of a secret that is set now: due now", source.name)
            return 0.0
        delay = (from_db(state["next_poll_at"]) - utcnow()).total_seconds()
        if not state.get("consecutive_failures"):
            delay = min(delay, source.every.total_seconds())  # `every` may have shrunk
        return max(0.0, delay)

    def _check_hung(self) -> None:
        limit = self.config.daemon.poll_timeout.total_seconds()
        now = self._monotonic()
        for name, flight in self._in_flight.items():
            if not flight.hung_reported and now - flight.started > limit:
                self._report_hung(name, flight)

    def _report_hung(self, name: str, flight: _InFlight) -> PollResult:
        """The poll as hung: logged and recorded (once), so ``status`` shows it."""
        message = f"poll still running after {format_duration(self.config.daemon.poll_timeout)}"
        at = utcnow()
        hung = PollResult(name, flight.source.platform, flight.started_at, at, "error", error=message,
                          error_kind="hung", seconds=self._monotonic() - flight.started)
        if not flight.hung_reported:
            flight.hung_reported = True
            log.warning("poll %s: %s; reported as hung (%s)", name, message, self._hung_then)
            self._guarded(self.store.sources.record, hung)
        return hung

    def _guarded(self, fn: Callable[..., Any], *args: Any) -> Any:
        """A bookkeeping write or read of the main loop: logged on failure, never fatal."""
        waited = BOOKKEEPING_WAIT_MS
        try:
            with self.store.waiting_at_most(BOOKKEEPING_WAIT_MS) as waited:
                return fn(*args)
        except Exception as exc:  # noqa: BLE001
            if is_explained(exc):  # no bug of ours (locked, read-only, full): one line
                log.error("database error in the scheduler (continuing): %s",
                          describe_error(exc, self.config.monitor.database, waited_ms=waited))
            else:
                log.exception("database error in the scheduler (continuing)")
            return None

    # ------------------------------------------------------------ config, clock, stop

    def reload(self) -> bool:
        """Load the config afresh and switch to it whole, or keep the old one whole."""
        if self._reload is None:
            log.warning("reload requested, but this daemon has no config file to reload")
            return False
        plugins.refresh()  # a connector installed since start-up is found
        try:
            new = self._reload()
            if new.monitor.database != self.config.monitor.database:
                raise ValueError(
                    f"[monitor] database changed ({self.config.monitor.database} -> "
                    f"{new.monitor.database}): that needs a restart"
                )
            pipeline = ingest.Pipeline(new)
        except Exception as exc:  # noqa: BLE001 - a bad edit must not stop the monitor
            log.error("config reload failed, still running on the previous config: %s", exc)
            return False
        logs.set_secrets(logs.revealed([*self.config.secrets(), *new.secrets()]))
        self.config, self._pipeline = new, pipeline
        for job in self.scheduler.get_jobs():
            if any(str(t).startswith("source:") for t in job.tags):
                self.scheduler.cancel_job(job)
        for source in self._enabled():
            if source.name not in self._in_flight:  # in-flight ones reschedule on their result
                self._schedule(source.name, self._initial_delay(source))
        log.info(
            "config reloaded from %s: %d enabled source(s) (%s)", new.label, len(self._enabled()),
            ", ".join(s.name for s in self._enabled()) or "none",
        )
        return True

    def _correct_clock_jump(self) -> None:
        """schedule compares naive local times: move its jobs when the wall clock steps."""
        mark = (_local_seconds(), self._monotonic())
        if self._clock_mark is not None:
            jump = (mark[0] - self._clock_mark[0]) - (mark[1] - self._clock_mark[1])
            if abs(jump) > CLOCK_JUMP:
                log.info("wall clock stepped %+.0fs (DST or NTP): schedule adjusted", jump)
                for job in self.scheduler.get_jobs():
                    if job.next_run is not None:
                        job.next_run += timedelta(seconds=jump)
        self._clock_mark = mark

    def _shutdown(self) -> None:
        self.scheduler.clear()
        deadline = time.monotonic() + self._grace
        # A digest or alert send cut off here is repeated at the next start (or, cut off
        # while the server had it, recorded as unknown): it gets the same grace as a poll.
        while (self._in_flight or self._services_running) and not self._abandon:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._wait(min(remaining, MAX_WAIT))
        if self._in_flight:
            self._abandon_in_flight()
        if self._services_running:
            log.warning(
                "leaving %d job(s) unfinished: %s (a send they had started is retried at the next start,"
                " or recorded as unknown if the server may have it)",
                len(self._services_running), ", ".join(sorted(self._services_running)),
            )
        log.info("daemon stopped")

    def _abandon_in_flight(self) -> None:
        # Their threads die with the process; a transaction that never committed
        # rolls back whole, so no half-written batch and no cursor past unsaved mentions.
        log.warning(
            "leaving %d poll(s) unfinished: %s (nothing of theirs is half-written)",
            len(self._in_flight), ", ".join(sorted(self._in_flight)),
        )
