"""The daemon's scheduling, driven in-process: isolation, back-off, rate limits, restarts, reloads.

Most tests move a simulated clock (time-machine: schedule reads ``datetime.now()``
and has no clock hook) and run polls inline, so an hour of polling takes a
fraction of a second and every instant is exact.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import datetime, timedelta, timezone
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import time_machine

from factories import closed_at_end
from monitor.config import load
from monitor.daemon import MIN_RETRY, Daemon, backoff_delay
from monitor.storage import Store
from monitor.timeutil import from_db, utcnow

START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def source(name: str, every: str = "1m", mode: str = "ok", **options: Any) -> str:
    """A ``[[sources]]`` table of the scripted test connector."""
    extra = "".join(f"{k} = {_toml(v)}\n" for k, v in options.items())
    return (
        f'\n[[sources]]\nname = "{name}"\nplatform = "scripted"\nbrand = "Acme"\nevery = "{every}"\n'
        f'mode = "{mode}"\nid_prefix = "{name}-"\n{extra}'
    )


def _toml(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


class InlineExecutor:
    """Runs each poll at once in the calling thread: deterministic under a simulated clock."""

    def submit(self, fn: Any, /, *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args))
        except Exception as exc:  # noqa: BLE001
            future.set_exception(exc)
        return future


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def make_daemon(path: Path, database: Path | None = None, seed: int = 1) -> Daemon:
    def config() -> Any:
        loaded = load(path)
        return loaded.with_database(database) if database else loaded

    # monotonic=time.time: under time-machine it follows the simulated wall clock.
    return closed_at_end(Daemon(config(), reload=config, executor=InlineExecutor(), rng=random.Random(seed), monotonic=time.time))


def drive(daemon: Daemon, clock: time_machine.Traveller, duration: timedelta, *, start: bool = True) -> Daemon:
    """Run the loop step by step, jumping the clock to each next job, for ``duration``."""
    end = datetime.now() + duration
    if start:
        daemon.start()
    while True:
        daemon.step()
        while daemon.in_flight():  # inline polls: their results are already queued
            daemon.step()
        upcoming = daemon.scheduler.next_run
        if upcoming is None or upcoming > end:
            return daemon
        clock.shift(max(0.0, (upcoming - datetime.now()).total_seconds()))


def run_starts(daemon: Daemon, name: str) -> list[datetime]:
    return [from_db(r["started_at"]) for r in reversed(daemon.store.sources.runs(name, limit=100_000))]


@pytest.mark.parametrize("mode", ["transient", "crash", "cancelled", "exit", "auth", "rate_limited", "bad_payload"])
def test_a_source_failing_for_an_hour_leaves_the_others_poll_counts_unchanged(
    mode, scripted_plugin, write_config, clock, tmp_path
):
    healthy = source("every-minute", "1m") + source("every-5m", "5m", per_poll=3)
    alone = drive(make_daemon(write_config(healthy, name="a.toml"), tmp_path / "a.db"), clock, timedelta(hours=1))
    both = drive(
        make_daemon(write_config(healthy + source("broken", "1m", mode, retry_after=30), name="b.toml"), tmp_path / "b.db"),
        clock, timedelta(hours=1),
    )
    counts = both.store.sources.run_counts()
    assert alone.store.sources.run_counts() == {"every-minute": 60, "every-5m": 12}
    assert {k: counts[k] for k in ("every-minute", "every-5m")} == {"every-minute": 60, "every-5m": 12}
    assert counts["broken"] >= 1 and both.store.sources.get("broken")["consecutive_failures"] == counts["broken"]
    assert both.store.mentions.count() == alone.store.mentions.count() == 60 + 12 * 3


def test_failures_back_off_exponentially_with_full_jitter_up_to_the_cap(scripted_plugin, write_config, clock, tmp_path):
    path = write_config(source("broken", "1m", "transient") + '\n[daemon]\nbackoff_max = "10m"\n')
    daemon = drive(make_daemon(path, seed=7), clock, timedelta(hours=8))
    gaps = [(b - a).total_seconds() for a, b in pairwise(run_starts(daemon, "broken"))]
    assert len(gaps) > 30
    for n, gap in enumerate(gaps, start=1):  # stored times are whole seconds: 1 s of slack
        assert MIN_RETRY - 1 <= gap <= min(600, 60 * 2 ** (n - 1)) + 1, (n, gap)
    later = gaps[5:]
    print(f"{len(gaps)} retries in 8 h: first gaps {[round(g) for g in gaps[:6]]} s; after the 5th "
          f"{min(later):.0f}-{max(later):.0f} s, mean {sum(later) / len(later):.0f} s (cap 600 s)")
    assert max(later) > 400 and min(later) < 200  # jitter spreads retries over [0, cap]
    assert 200 < sum(later) / len(later) < 400  # full jitter averages half the cap


def test_backoff_delay_bounds():
    rng = random.Random(3)
    draws = [backoff_delay(n, 60, 3600, rng) for n in range(1, 200) for _ in range(20)]
    assert min(draws) >= MIN_RETRY and max(draws) <= 3600
    assert max(backoff_delay(1, 60, 3600, rng) for _ in range(200)) <= 60


def test_rate_limited_source_waits_exactly_until_its_retry_time(scripted_plugin, write_config, clock, tmp_path):
    path = write_config(source("limited", "1m", "rate_limited", retry_after=437))
    daemon = drive(make_daemon(path), clock, timedelta(hours=1))
    starts = run_starts(daemon, "limited")
    assert {(b - a).total_seconds() for a, b in pairwise(starts)} == {437.0}
    stored = from_db(daemon.store.sources.get("limited")["next_poll_at"])
    assert timedelta(0) <= stored - (starts[-1] + timedelta(seconds=437)) <= timedelta(seconds=1)  # never early


def test_a_server_error_with_retry_after_is_not_retried_before_it(write_config, clock, tmp_path, fake_server):
    import wire_hackernews

    from fakeserver import Reply

    # A 503 in maintenance says when to come back; the back-off alone would retry within `every`.
    wire_hackernews.Fake(fake_server).fail(Reply(503, json={"message": "maintenance"}, headers={"Retry-After": "600"}))
    path = write_config(wire_hackernews.source_toml(fake_server.url, extra='every = "1m"\n'))
    daemon = drive(make_daemon(path), clock, timedelta(hours=1))

    starts = run_starts(daemon, "hackernews-acme")
    assert len(starts) >= 3
    assert all((b - a).total_seconds() >= 600 for a, b in pairwise(starts))
    state = daemon.store.sources.get("hackernews-acme")
    assert state["last_error_kind"] == "transient" and "retry after" in state["last_error"]


def test_auth_errors_wait_the_backoff_cap(scripted_plugin, write_config, clock, tmp_path):
    path = write_config(source("rejected", "1m", "auth") + '\n[daemon]\nbackoff_max = "20m"\n')
    daemon = drive(make_daemon(path), clock, timedelta(hours=2))
    assert {(b - a).total_seconds() for a, b in pairwise(run_starts(daemon, "rejected"))} == {1200.0}


def test_restart_honours_the_stored_next_poll(scripted_plugin, write_config, clock, tmp_path):
    path = write_config(source("limited", "1m", "rate_limited", retry_after=900) + source("hourly", "1h"))
    first = drive(make_daemon(path), clock, timedelta(minutes=1))  # both polled at START + 1 ms
    first.close()
    clock.move_to(START + timedelta(minutes=2))
    # Restart with `every` shrunk: the healthy source waits at most its new interval,
    # the rate-limited one still exactly until its retry time.
    path.write_text(path.read_text().replace('every = "1h"', 'every = "5m"'))
    again = make_daemon(path)
    again.start()
    due = {
        tag: (j.next_run - datetime.now()).total_seconds()
        for j in again.scheduler.get_jobs() for tag in j.tags if tag.startswith("source:")
    }
    # Retry time START + 900.001 s is stored rounded up, START + 901 s: never early.
    assert due == {"source:limited": 901 - 120, "source:hourly": 300}


def test_sources_run_in_parallel_and_a_hung_one_delays_no_other(scripted_plugin, write_config):
    path = write_config(
        source("steady", "1s") + source("stuck", "1s", "hang", hang_seconds=3)
        + '\n[daemon]\npoll_timeout = "1s"\n'
    )
    daemon = closed_at_end(Daemon(load(path), shutdown_grace=0.2))
    threading.Timer(2.5, daemon.request_stop).start()
    started = time.monotonic()
    daemon.run(handle_signals=False)
    elapsed = time.monotonic() - started
    assert daemon.polls["steady"] >= 3 and daemon.polls["stuck"] == 0
    assert elapsed < 2.5 + 0.2 + 0.5  # the hung poll is left behind, not waited for
    stuck = daemon.store.sources.get("stuck")
    assert stuck["last_error_kind"] == "hung" and "still running after 1s" in stuck["last_error"]


def test_a_wall_clock_step_does_not_stall_the_schedule(scripted_plugin, write_config, clock):
    ticks = [0.0]
    daemon = closed_at_end(Daemon(load(write_config(source("tenmin", "10m"))), executor=InlineExecutor(), monotonic=lambda: ticks[0]))
    drive(daemon, clock, timedelta(seconds=1))
    clock.shift(-3600)  # DST ends: local time goes back an hour, no real time passes
    daemon.step()
    clock.shift(600)
    ticks[0] += 600
    drive(daemon, clock, timedelta(0), start=False)
    assert daemon.polls["tenmin"] == 2


def test_reload_switches_to_a_valid_config_whole_and_keeps_the_old_one_otherwise(
    scripted_plugin, write_config, clock, caplog
):
    path = write_config(source("one"))
    daemon = drive(make_daemon(path), clock, timedelta(seconds=1))
    jobs = lambda: sorted(t for j in daemon.scheduler.get_jobs() for t in j.tags if t.startswith("source:"))  # noqa: E731
    path.write_text(path.read_text() + source("two", "5m"))
    daemon.request_reload()
    drive(daemon, clock, timedelta(seconds=1), start=False)
    assert jobs() == ["source:one", "source:two"] and daemon.polls["two"] == 1

    good = path.read_text()
    path.write_text(good + source("three") + '\n[[sources]]\nname = "bad"\nplatform = "scripted"\nmode = 5\n')
    with caplog.at_level(logging.ERROR, logger="monitor.daemon"):
        daemon.request_reload()
        drive(daemon, clock, timedelta(0), start=False)
    assert "config reload failed, still running on the previous config" in caplog.text
    assert 'mode: expected a string' in caplog.text
    assert jobs() == ["source:one", "source:two"] and [s.name for s in daemon.config.sources] == ["one", "two"]


def test_run_once_polls_due_sources_only(scripted_plugin, write_config, cli):
    path = write_config(source("fine", "15m") + source("down", "15m", "transient"))
    first = cli("--config", path, "run", "--once", "--format", "json")
    assert first.exit_code == 1  # a failed source fails the cron job
    assert {r["source"]: r["status"] for r in json.loads(first.stdout)} == {"fine": "ok", "down": "error"}
    second = cli("--config", path, "run", "--once")
    assert second.exit_code == 0 and "(no source is due)" in second.stdout
    with Store.open(load(path).monitor.database) as store:
        assert store.sources.run_counts() == {"fine": 1, "down": 1}
        assert from_db(store.sources.get("fine")["next_poll_at"]) > datetime.now(timezone.utc) + timedelta(minutes=14)


def test_status_shows_each_source_health(scripted_plugin, write_config, cli, clock):
    path = write_config(
        source("fine", "10m") + source("down", "10m", "transient") + source("new", "10m")
        + source("off", "10m", enabled=False)
    )
    cli("--config", path, "poll", "--source", "fine", "--source", "down")
    health = lambda: {  # noqa: E731
        s["source"]: (s["health"], s["consecutive_failures"], s["last_error_kind"])
        for s in json.loads(cli("--config", path, "status", "--format", "json").stdout)["sources"]
    }
    assert health() == {
        "fine": ("ok", 0, None), "down": ("failing", 1, "transient"),
        "new": ("never polled", 0, None), "off": ("disabled", 0, None),
    }
    clock.shift(timedelta(minutes=31))  # three intervals of 10m without a success
    sources = {s["source"]: s for s in json.loads(cli("--config", path, "status", "--format", "json").stdout)["sources"]}
    assert sources["fine"]["health"] == sources["down"]["health"] == "not working"
    assert sources["fine"]["health_note"] == "no successful poll for 31m (3 intervals of 10m)"
    assert sources["down"]["health_note"] == "never succeeded in 31m (3 intervals of 10m)"
    table = cli("--config", path, "status").stdout
    assert "fine: not working: no successful poll for 31m" in table and "transient: HTTP 503" in table


def test_daemon_sends_each_days_digest_once_at_send_at(scripted_plugin, write_config, clock, tmp_path):
    # START is Monday 09:00 UTC: Sunday's digest is already due (a catch-up), Monday's at 08:00 Tuesday.
    path = write_config(source("steady", "30m") + '\n[digest]\nsend_at = "08:00"\nrecipients = ["lead@example.com"]\n')
    daemon = drive(make_daemon(path), clock, timedelta(hours=1))
    days = lambda: sorted(r["day"] for r in daemon.store.digests.recent())  # noqa: E731
    assert days() == ["2026-03-01"]
    drive(daemon, clock, timedelta(hours=21, minutes=30), start=False)  # to Tuesday 07:30
    assert days() == ["2026-03-01"]
    drive(daemon, clock, timedelta(hours=2), start=False)  # past Tuesday 08:00
    assert days() == ["2026-03-01", "2026-03-02"]
    assert all(r["state"] == "sent" for r in daemon.store.digests.recent())
    written = sorted(p.name for p in (tmp_path / "digests").glob("*.eml"))
    assert len(written) == 2  # no [smtp]: one .eml per day, never twice
    assert daemon.polls["steady"] >= 48


def test_run_caps_malloc_arenas_unless_the_environment_says_otherwise(monkeypatch, cli):
    from monitor import daemon
    from monitor.daemon import limit_malloc_arenas

    calls = []
    monkeypatch.setattr(daemon, "limit_malloc_arenas", lambda: calls.append("capped") or True)
    assert cli("run", "--once").exit_code == 0 and calls == ["capped"]  # before any poll thread
    monkeypatch.undo()

    monkeypatch.setenv("MALLOC_ARENA_MAX", "8")
    assert limit_malloc_arenas() is False
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    import platform

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("mallopt(M_ARENA_MAX) is glibc's")
    assert limit_malloc_arenas() is True


def test_run_once_reports_a_hung_source_and_backs_off_as_after_a_failure(
    scripted_plugin, write_config, cli, caplog, monkeypatch
):
    from types import SimpleNamespace

    from monitor import daemon as daemon_module

    # The back-off's jitter drawn from a seeded generator (its first draw: 0.96 of the ceiling),
    # so that it is never short enough for the next run to find the source due again.
    monkeypatch.setattr(daemon_module, "random", SimpleNamespace(Random=lambda: random.Random(2)))
    path = write_config(
        source("fine", "15m") + source("stuck", "15m", "hang", hang_seconds=3)
        + '\n[daemon]\npoll_timeout = "1s"\n'
    )
    before = set(threading.enumerate())
    try:
        first = cli("--config", path, "run", "--once", "--format", "json")
        assert first.exit_code == 1  # cron mails someone
        rows = {r["source"]: r for r in json.loads(first.stdout)}
        assert rows["fine"]["status"] == "ok"
        assert (rows["stuck"]["status"], rows["stuck"]["error_kind"], rows["stuck"]["error"]) == (
            "error", "hung", "poll still running after 1s")
        hung = [r.getMessage() for r in caplog.records if "reported as hung" in r.getMessage()]
        assert hung == ["poll stuck: poll still running after 1s; reported as hung (backs off as a failed poll does)"]
        (retry,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("poll stuck failed (hung)")]
        assert "; retry in " in retry and retry.endswith("(1 failure(s) in a row)")
        with Store.open(load(path).monitor.database) as store:
            state = store.sources.get("stuck")
            wait = from_db(state["next_poll_at"]) - utcnow()
            assert state["consecutive_failures"] == 1 and timedelta(minutes=14) < wait <= timedelta(minutes=15, seconds=1)
        # The next cron runs leave it alone until then (none is due: exit 0) ...
        later = cli("--config", path, "run", "--once")
        assert later.exit_code == 0 and "(no source is due)" in later.stdout
        # ... and poll it once the back-off has passed: hung again, a longer back-off.
        with Store.open(load(path).monitor.database) as store:
            store.sources.set_next_poll("stuck", "scripted", utcnow() - timedelta(seconds=1))
        again = cli("--config", path, "run", "--once")
        assert again.exit_code == 1 and "poll still running after 1s" in again.stdout
        assert "1 of 1 source(s) failed:\n  stuck: poll still running after 1s" in again.output
        with Store.open(load(path).monitor.database) as store:
            assert [r["error_kind"] for r in store.sources.runs("stuck")].count("hung") == 2
            state = store.sources.get("stuck")
            wait = from_db(state["next_poll_at"]) - utcnow()
            assert state["consecutive_failures"] == 2 and timedelta(minutes=28) < wait <= timedelta(minutes=30, seconds=1)
    finally:  # the abandoned polls' threads outlive their runs here, not in a real process
        for thread in set(threading.enumerate()) - before:
            thread.join()


def test_a_locked_database_fails_a_service_job_in_one_line_as_it_does_a_poll(
    scripted_plugin, write_config, monkeypatch, caplog
):
    from monitor import daemon as daemon_module
    from monitor import storage

    monkeypatch.setattr(daemon_module, "SERVICE_INTERVAL", 0.2)
    monkeypatch.setattr(storage, "BUSY_TIMEOUT_MS", 50)  # the wait that runs out, shortened
    # Yesterday's digest is due: the job claims it under the write lock another process holds.
    path = write_config('\n[digest]\nsend_at = "00:00"\nrecipients = ["lead@example.com"]\n')
    database = _run_while_another_process_writes(path, 1.0, caplog)
    failed = [r.getMessage() for r in caplog.records if r.getMessage().startswith("digest job failed")]
    assert failed and failed[0] == (
        f"digest job failed: {database} is locked: another process (a running import or daemon?)"
        " has held its write lock for over 0.05s; try again"
    )
    assert not [r for r in caplog.records if r.exc_info], "a held lock is no bug: no traceback logged"


def _run_while_another_process_writes(path: Any, seconds: float, caplog: Any) -> Any:
    """Run the daemon of config ``path`` for ``seconds`` while another connection holds the
    database's write lock (another process's import, mid-transaction); the database's path."""
    import sqlite3

    database = load(path).monitor.database
    Store.open(database).close()
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        daemon = Daemon(load(path), shutdown_grace=1.0)
        threading.Timer(seconds, daemon.request_stop).start()
        with caplog.at_level(logging.INFO):
            daemon.run(handle_signals=False)
        daemon.close()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    return database


def test_a_full_disk_fails_a_poll_in_one_line_naming_the_database(scripted_plugin, write_config, monkeypatch, caplog):
    from monitor import storage

    prepare = storage._prepare

    def full(conn: Any, file: Any) -> None:  # the database may not grow: SQLite's own SQLITE_FULL
        prepare(conn, file)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")

    path = write_config(source("big", "1s", per_poll=300))
    database = load(path).monitor.database
    Store.open(database).close()
    monkeypatch.setattr(storage, "_prepare", full)
    daemon = Daemon(load(path), shutdown_grace=1.0)
    threading.Timer(1.5, daemon.request_stop).start()
    with caplog.at_level(logging.INFO):
        daemon.run(handle_signals=False)
    daemon.close()
    message = f"{database} cannot grow: database or disk is full; free space on its disk and try again"
    assert (daemon.last_results["big"].error_kind, daemon.last_results["big"].error) == ("disk_full", message)
    failed = [r.getMessage() for r in caplog.records if r.getMessage().startswith("poll big failed")]
    assert failed and "failed (disk_full) in " in failed[0] and message in failed[0]
    assert not [r for r in caplog.records if r.exc_info], "a full disk is no bug: no traceback logged"


def test_a_source_that_failed_for_an_unset_secret_is_due_once_it_is_set(scripted_plugin, write_config, cli, monkeypatch):
    monkeypatch.delenv("SCRIPTED_TOKEN", raising=False)
    monkeypatch.setenv("REFUSED_TOKEN", "tok-refused-1234")
    path = write_config(
        source("waiting", "15m", token={"env": "SCRIPTED_TOKEN"})
        + source("refused", "15m", "auth", token={"env": "REFUSED_TOKEN"})  # a token the platform refuses
    )
    first = cli("--config", path, "run", "--once", "--format", "json")
    rows = {r["source"]: r for r in json.loads(first.stdout)}
    assert rows["waiting"]["error"].endswith("environment variable SCRIPTED_TOKEN is not set")
    assert rows["waiting"]["error_kind"] == rows["refused"]["error_kind"] == "auth"
    assert "(no source is due)" in cli("--config", path, "run", "--once").stdout  # both wait backoff_max
    monkeypatch.setenv("SCRIPTED_TOKEN", "tok-now-set-5678")  # the operator sets it and runs again
    again = cli("--config", path, "run", "--once", "--format", "json")
    assert {r["source"]: r["status"] for r in json.loads(again.stdout)} == {"waiting": "ok"}  # refused still waits
    assert again.exit_code == 0


def test_a_poll_failure_the_locked_database_could_not_record_is_not_counted_as_zero_failures(
    scripted_plugin, write_config, monkeypatch, caplog
):
    from monitor import storage

    monkeypatch.setattr(storage, "BUSY_TIMEOUT_MS", 50)  # the wait that runs out, shortened
    path = write_config(source("steady", "1h"))
    database = _run_while_another_process_writes(path, 0.8, caplog)
    (failed,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("poll steady failed")]
    assert failed.startswith("poll steady failed (locked) in ") and f"{database} is locked" in failed
    assert failed.endswith("(the failure could not be recorded)") and "0 failure(s)" not in failed


def test_a_write_lock_held_past_the_busy_timeout_holds_the_main_loop_a_second_per_write_not_the_timeout(
    scripted_plugin, write_config, monkeypatch, caplog
):
    # Another process holds the lock for long (a large kpi import): the polls fail after the busy
    # timeout, in their threads; the loop's own writes after each (its next poll time) must not
    # wait it again, one after another, while a stop (SIGTERM) waits behind them.
    from monitor import storage

    monkeypatch.setattr(storage, "BUSY_TIMEOUT_MS", 3000)  # the wait that runs out, shortened
    path = write_config(source("a", "1h") + source("b", "1h") + source("c", "1h"))
    started = time.monotonic()
    database = _run_while_another_process_writes(path, 3.5, caplog)  # stop asked once the polls failed
    took = time.monotonic() - started
    assert any("failed (locked)" in r.getMessage() for r in caplog.records)
    # The polls' 3 s, then at most 1 s for each of the 3 next-poll writes (was 3 s each: 12 s in all).
    assert took < 8.0, f"the daemon stopped {took:.1f}s after start: its loop waited the busy timeout per write"
    unstored = [r.getMessage() for r in caplog.records if r.getMessage().startswith("database error in the scheduler")]
    assert len(unstored) == 3 and unstored[0] == (
        f"database error in the scheduler (continuing): {database} is locked: another process (a running"
        " import or daemon?) has held its write lock for over 1s; try again"
    )


def test_run_refuses_format_without_once(cli):
    refused = cli("run", "--format", "json")
    assert refused.exit_code == 2 and "--format applies to run --once only" in refused.output
