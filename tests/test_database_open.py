"""Opening the database: foreign databases refused untouched, errors that name their cause."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from factories import record, write_jsonl

from monitor import __version__, storage
from monitor.errors import MonitorError
from monitor.storage import Store
from monitor.storage.migrations import MIGRATION_SETS, core
from monitor.storage.schema import SCHEMA_STAMP

COMMANDS = [["summary"], ["negatives"], ["status"], ["kpi", "show"], ["init"], ["poll"], ["import", "m.jsonl"]]


def sql(path: Path, *statements: str) -> list[Any]:
    """Run ``statements`` on the database at ``path`` with plain sqlite3; the last one's rows."""
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        rows: list[Any] = []
        for statement in statements:
            rows = conn.execute(statement).fetchall()
        return rows


def tables(path: Path) -> set[str]:
    return {row[0] for row in sql(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}


def make_foreign(path: Path, *, sqlite_utils_app: bool = False) -> None:
    sql(path, "CREATE TABLE foo (x)", "CREATE TABLE notes (body TEXT)", "PRAGMA user_version = 7")
    if sqlite_utils_app:  # another program that migrates with sqlite-utils
        sql(path, "CREATE TABLE _sqlite_migrations (migration_set TEXT, name TEXT, applied_at TEXT)",
            "INSERT INTO _sqlite_migrations VALUES ('other-app', 'm001', '2026-01-01')")


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("sqlite_utils_app", [False, True], ids=["plain", "sqlite-utils-app"])
def test_every_command_refuses_a_database_that_is_not_ours_and_leaves_it_untouched(
    cli, tmp_path, command, sqlite_utils_app
):
    write_jsonl(tmp_path / "m.jsonl", [record("1", "acme is great")])
    make_foreign(tmp_path / "other.db", sqlite_utils_app=sqlite_utils_app)
    before = (tmp_path / "other.db").read_bytes()

    result = cli("--db", "other.db", *command)

    assert result.exit_code == 1, result.output
    listed = "_sqlite_migrations, foo, notes" if sqlite_utils_app else "foo, notes"
    assert result.output == (
        f"Error: other.db is not a sentiment-monitor database (it has tables {listed});"
        " give another --db or [monitor] database\n"
    )
    assert (tmp_path / "other.db").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.jsonl", "other.db"]  # no -wal, no -shm


@pytest.mark.parametrize("command", [["summary"], ["poll"]], ids=" ".join)
def test_a_database_with_a_mentions_table_of_its_own_is_not_ours(cli, tmp_path, command):
    sql(tmp_path / "other.db", "CREATE TABLE mentions (tweet_id TEXT, body TEXT)", "CREATE TABLE users (name)")
    before = (tmp_path / "other.db").read_bytes()

    result = cli("--db", "other.db", *command)

    assert result.exit_code == 1
    assert result.output.startswith("Error: other.db is not a sentiment-monitor database (it has tables mentions, users)")
    assert (tmp_path / "other.db").read_bytes() == before


@pytest.mark.parametrize("shape", ["zero bytes", "no tables left"])
def test_an_empty_database_is_initialised(cli, tmp_path, shape):
    db = tmp_path / "m.db"
    if shape == "zero bytes":
        db.touch()
    else:
        sql(db, "CREATE TABLE scratch (x)", "DROP TABLE scratch")
    result = cli("--db", db, "summary", "--format", "json")
    assert result.exit_code == 0, result.output
    assert {"mentions", "sources", "kpi_tickets"} <= tables(db)


def test_a_reader_brings_an_older_database_of_ours_up_to_date(cli, tmp_path):
    # Unchanged behaviour, kept on purpose: readers migrate, so an upgrade needs no `init`.
    db = tmp_path / "old.db"
    with closing(sqlite_utils.Database(db)) as old:
        core.apply(old)  # as the first version left it: mentions, sources
    assert "kpi_tickets" not in tables(db)
    result = cli("--db", db, "summary", "--format", "json")
    assert result.exit_code == 0, result.output
    assert {"mentions", "kpi_tickets", "digests", "alerts"} <= tables(db)
    assert sql(db, "PRAGMA user_version") == [(SCHEMA_STAMP,)]


@pytest.mark.parametrize("command", [*COMMANDS, ["run", "--once"]], ids=" ".join)
def test_every_command_refuses_a_database_a_newer_version_migrated_and_changes_nothing(cli, tmp_path, command):
    # After a downgrade: its data may be in a shape a later step made, which this code would
    # misread or write beside (rows that step converted, and will not convert again).
    write_jsonl(tmp_path / "m.jsonl", [record("1", "acme is great")])
    assert cli("--db", "m.db", "import", "m.jsonl").exit_code == 0
    sql(tmp_path / "m.db",
        "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES ('kpi', 'm099_later', '2027')",
        "PRAGMA user_version = 12345")  # the newer version's stamp

    result = cli("--db", "m.db", *command)

    assert result.exit_code == 1, result.output
    assert result.output == (
        f"Error: m.db was migrated by a newer sentiment-monitor than this one ({__version__}): its schema step"
        " kpi:m099_later is unknown here; use that version or a later one (nothing was changed)\n"
    )
    assert sql(tmp_path / "m.db", "PRAGMA user_version") == [(12345,)]
    assert sql(tmp_path / "m.db", "SELECT id FROM mentions") == [("1",)]
    assert sql(tmp_path / "m.db", "SELECT count(*) FROM sources") == [(0,)]  # no poll ran


def damage_mentions(cli: Any, tmp_path: Path) -> None:
    """m.db with 2,000 mentions whose pages are damaged. It opens (the schema's pages come
    first, written by the migrations); the first read of a page of mentions (the second half
    of the file: the import's) fails."""
    write_jsonl(tmp_path / "m.jsonl", [record(str(i), f"acme is great {i}") for i in range(2000)])
    assert cli("--db", "m.db", "import", "m.jsonl").exit_code == 0
    sql(tmp_path / "m.db", "PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray((tmp_path / "m.db").read_bytes())
    page = sql(tmp_path / "m.db", "PRAGMA page_size")[0][0]
    for start in range(len(data) // page // 2 * page, len(data), page):
        data[start : start + 16] = b"\xff" * 16
    (tmp_path / "m.db").write_bytes(data)


DAMAGED = "m.db is damaged (database disk image is malformed): restore it from a backup"


@pytest.mark.parametrize("command", [
    ["summary"], ["mentions"], ["status"], ["import", "m.jsonl"], ["label", "x:1", "negative"],
], ids=" ".join)
def test_a_damaged_database_is_named_in_one_line_without_a_traceback(cli, tmp_path, command):
    damage_mentions(cli, tmp_path)
    result = cli("--db", "m.db", *command)
    assert result.exit_code == 1
    assert result.stderr == f"Error: {DAMAGED}\n"


def test_a_poll_of_a_damaged_database_fails_in_one_line(cli, tmp_path, caplog):
    damage_mentions(cli, tmp_path)
    result = cli("--db", "m.db", "poll", "--format", "json")
    assert result.exit_code == 1
    [demo] = json.loads(result.stdout)
    assert (demo["status"], demo["error"]) == ("error", DAMAGED)
    assert not [r for r in caplog.records if r.exc_info], "a damaged file is no bug of ours: no traceback"


@pytest.mark.parametrize("command", [
    ["summary"], ["status"], ["kpi", "show"], ["label", "x:1", "negative"], ["reclassify"], ["digest", "preview"],
    ["digest", "send", "--date", "2026-11-20"], ["alerts", "list"],
], ids=" ".join)
def test_a_command_that_reads_mentions_refuses_a_database_not_there_and_creates_nothing(cli, tmp_path, command):
    # A mistyped --db or [monitor] database: `digest send` mailed the team an empty digest from a
    # database it had just created, and recorded it as sent there. A relative path names the
    # working directory it was read from (from cron: the home directory, or /).
    result = cli("--db", "typo/m.db", *command)
    assert (result.exit_code, result.output) == (1, "Error: no database at typo/m.db yet (a relative path is read"
                                                    f" from the working directory, {os.getcwd()}): run `sentiment-monitor init` or `poll` first\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("db", ["afile/m.db", "afile/sub/m.db"])
@pytest.mark.parametrize("command", [["poll"], ["summary"]], ids=" ".join)
def test_a_database_below_a_regular_file_is_explained(cli, tmp_path, command, db):
    (tmp_path / "afile").write_text("not a folder\n")
    result = cli("--db", db, *command)
    assert result.exit_code == 1
    verb = "create" if command == ["poll"] else "open"
    assert result.output == f"Error: cannot {verb} {db}: afile is a file, not a folder\n"


def run_unprivileged(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m monitor`` as a process that file permissions apply to.

    Root is exempt from them by two capabilities (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
    the process runs as root without them (setpriv drops them from its bounding set), so it
    still reads this checkout and its virtual environment (root's, however private their
    folder), while a file or folder that is read-only to its owner is read-only to it.
    """
    switch = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root and no setpriv to run a process without root's file access")
        switch = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
    return subprocess.run([*switch, sys.executable, "-m", "monitor", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize(("command", "db", "expected"), [
    ("summary", "ro/m.db", "cannot open ro/m.db: its folder ro is not writable"
                           " (SQLite needs to create m.db-wal and m.db-shm beside it)"),
    ("poll", "ro/m.db", "cannot open ro/m.db: its folder ro is not writable"
                        " (SQLite needs to create m.db-wal and m.db-shm beside it)"),
    ("poll", "ro/new.db", "cannot create ro/new.db: folder ro is not writable"),
])
def test_a_read_only_folder_is_named_as_the_cause(tmp_path, command, db, expected):
    # Real permissions and a real SQLite failure: nothing here is simulated.
    (tmp_path / "ro").mkdir()
    Store.open(tmp_path / "ro" / "m.db").close()
    os.chmod(tmp_path / "ro", 0o555)
    try:
        done = run_unprivileged("--db", db, command, cwd=tmp_path)
    finally:
        os.chmod(tmp_path / "ro", 0o755)
    assert (done.returncode, done.stderr) == (1, f"Error: {expected}\n")


def test_a_cantopen_in_a_folder_we_may_not_write_is_explained_for_any_user(tmp_path, monkeypatch):
    # The decision alone, wherever the suite runs (as root the test above needs setpriv):
    # a real SQLITE_CANTOPEN (the path is a folder), and a folder os.access calls read-only.
    (tmp_path / "m.db").mkdir()
    monkeypatch.setattr(storage.os, "access", lambda path, mode: False)
    with pytest.raises(MonitorError) as raised:
        Store.open(tmp_path / "m.db")
    assert str(raised.value) == (
        f"cannot open {tmp_path / 'm.db'}: its folder {tmp_path} is not writable"
        " (SQLite needs to create m.db-wal and m.db-shm beside it)"
    )


def test_an_open_that_fails_in_a_writable_folder_keeps_sqlites_words(tmp_path):
    (tmp_path / "m.db").mkdir()  # SQLite cannot open a folder; its folder is writable
    with pytest.raises(MonitorError) as raised:
        Store.open(tmp_path / "m.db")
    assert str(raised.value) == f"{tmp_path / 'm.db'}: not a usable SQLite database (unable to open database file)"


@pytest.mark.parametrize("command", [["import", "m.jsonl"], ["summary"]], ids=" ".join)
def test_a_writer_kept_out_by_another_process_lock_names_the_file(cli, tmp_path, monkeypatch, command):
    db = tmp_path / "m.db"
    Store.open(db).close()
    if command == ["summary"]:  # a reader that has a migration to apply writes too
        sql(db, "DELETE FROM _sqlite_migrations WHERE migration_set = 'alerts'", "DROP TABLE alerts",
            "PRAGMA user_version = 0")
    write_jsonl(tmp_path / "m.jsonl", [record("1", "acme is great")])
    monkeypatch.setattr(storage, "BUSY_TIMEOUT_MS", 50)  # the wait that runs out, shortened
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's import, mid-transaction
    try:
        result = cli("--db", db, *command)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {db} is locked: another process (a running import or daemon?) has held its write lock"
        " for over 0.05s; try again\n"
    )


def test_a_poll_kept_out_by_another_process_lock_is_a_locked_failure_without_traceback(
    cli, tmp_path, monkeypatch, caplog
):
    db = tmp_path / "m.db"
    Store.open(db).close()
    monkeypatch.setattr(storage, "BUSY_TIMEOUT_MS", 50)  # the wait that runs out, shortened
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's import, mid-transaction
    try:
        result = cli("--db", db, "poll", "--format", "json")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 1
    [demo] = json.loads(result.stdout)
    assert (demo["status"], demo["error_kind"]) == ("error", "locked")
    assert demo["error"].startswith(f"{db} is locked: another process")
    assert not [r for r in caplog.records if r.exc_info], "a held lock is no bug: no traceback logged"
    assert sql(db, "SELECT count(*) FROM mentions") == [(0,)]


@pytest.mark.parametrize("command", [["poll"], ["run", "--once"]], ids=" ".join)
def test_a_read_only_database_file_stops_a_poll_with_one_line_before_fetching(tmp_path, command):
    # Real permissions: the file is read-only to the user, its folder is writable (the -wal and
    # -shm files can be made), so SQLite opens it and only a write fails.
    Store.open(tmp_path / "ro.db").close()
    os.chmod(tmp_path / "ro.db", 0o444)
    done = run_unprivileged("--db", "ro.db", *command, cwd=tmp_path)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == "Error: database error on ro.db: attempt to write a readonly database\n"


def test_init_on_a_database_that_cannot_be_written_fails_saying_so(tmp_path):
    # `init` said "schema already up to date" and exited 0: the go-ahead for a `run` that then
    # refused to start ("attempt to write a readonly database").
    Store.open(tmp_path / "ro.db").close()
    os.chmod(tmp_path / "ro.db", 0o444)
    done = run_unprivileged("--db", "ro.db", "init", cwd=tmp_path)
    assert done.returncode == 1
    assert "Database ro.db: schema already up to date." in done.stdout  # the config is still checked
    assert "demo" in done.stdout
    assert done.stderr == (
        "Error: database error on ro.db: attempt to write a readonly database (poll, import and run"
        " must write it: run them as a user who may)\n"
    )
    report = json.loads(run_unprivileged("--db", "ro.db", "init", "--format", "json", cwd=tmp_path).stdout)
    assert report["problems"] == ["database error on ro.db: attempt to write a readonly database (poll, import"
                                  " and run must write it: run them as a user who may)"]


def test_a_file_that_cannot_be_written_for_space_is_one_line_not_a_traceback(tmp_path):
    # A full disk met outside SQLite: the language detector's model is unpacked into a
    # temporary file the first time a text without a language tag is scored, and a full
    # temporary folder (here: a file size limit, which fails the same write) ended `import`
    # with py3langid's traceback, "OSError: [Errno 27] File too large".
    import resource

    Store.open(tmp_path / "m.db").close()
    write_jsonl(tmp_path / "m.jsonl", [record("1", "acme lost my parcel again, nobody answers")])  # no lang

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (4 << 20, 4 << 20))  # the database fits, the model not

    done = subprocess.run(
        [sys.executable, "-m", "monitor", "--db", "m.db", "import", "m.jsonl", "--workers", "1"],
        cwd=tmp_path, capture_output=True, text=True, preexec_fn=small_files, timeout=120,
    )
    assert (done.returncode, done.stdout) == (1, "")
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith("Error: cannot write a file: File too large; free space on its disk")
    assert sql(tmp_path / "m.db", "SELECT count(*) FROM mentions") == [(0,)]


def test_a_reader_of_an_older_read_only_database_says_it_needs_migrating(tmp_path):
    # A read-only copy (or the service user's file) opened after an upgrade: `summary` has
    # migrations to apply, and said only "attempt to write a readonly database".
    with closing(sqlite_utils.Database(tmp_path / "ro.db")) as old:
        core.apply(old)  # as the first version left it: mentions, sources (in WAL mode, as it opened it)
    sql(tmp_path / "ro.db", "PRAGMA journal_mode = WAL")
    os.chmod(tmp_path / "ro.db", 0o444)
    done = run_unprivileged("--db", "ro.db", "summary", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (1, "")
    pending = sum(len(s.names) for s in MIGRATION_SETS) - len(core.names)
    assert done.stderr == (
        f"Error: ro.db is from an older version and needs {pending} schema migration(s), but cannot be written"
        " (attempt to write a readonly database): run `sentiment-monitor init` on it once as a user who may write it\n"
    )
    assert tables(tmp_path / "ro.db") == {"_sqlite_migrations", "mentions", "sources", "poll_runs", "mention_brands"}


def test_a_poll_kept_out_by_a_lock_waits_the_busy_timeout_once(cli, tmp_path, monkeypatch, caplog):
    db = tmp_path / "m.db"
    Store.open(db).close()
    monkeypatch.setattr(storage, "BUSY_TIMEOUT_MS", 2000)  # the wait that runs out, shortened
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's import, mid-transaction
    started = time.monotonic()
    try:
        result = cli("--db", db, "poll", "--format", "json")
    finally:
        waited = time.monotonic() - started
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 1
    [demo] = json.loads(result.stdout)
    assert demo["error"].startswith(f"{db} is locked: another process") and "for over 2s" in demo["error"]
    # One wait of 2 s, not a second to record the failure (4 s); the rest is the command's own work.
    assert 2.0 <= waited < 3.5, "the message says 2s: one wait for the lock, not a second to record it"
    assert "could not record the failed poll" in caplog.text  # said in one line, no traceback
    assert not [r for r in caplog.records if r.exc_info]


def test_a_lock_file_left_by_another_user_still_locks_and_does_not_stop_a_run(tmp_path):
    # `sudo sentiment-monitor run --once` once, then the service user's `run`: the lock file
    # is root's (or anyone else's) and read-only to us. flock works on a read-only descriptor.
    if os.geteuid() != 0:
        pytest.skip("needs root to give the lock file to another user")
    Store.open(tmp_path / "m.db").close()
    lock = tmp_path / "m.db.lock"
    lock.write_text("")
    os.chown(lock, 65534, 65534)
    os.chmod(lock, 0o644)
    done = run_unprivileged("--db", "m.db", "run", "--once", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and json.loads(done.stdout)[0]["source"] == "demo"


def _in_a_timed_sleep(pid: int) -> bool:
    """The process's main thread sleeps on a timer: SQLite's wait for a lock (these commands
    do not sleep otherwise)."""
    try:
        return Path(f"/proc/{pid}/wchan").read_text() == "hrtimer_nanosleep"
    except OSError:
        return False


@pytest.mark.parametrize(("command", "said"), [
    (["import", "m.jsonl"], "Interrupted after storing 0 mentions"),  # its batch holds Ctrl-C once writing
    (["label", "x:1", "negative"], "Interrupted."),  # any command: exit 130, never click's "Aborted!"
    (["reclassify"], "Interrupted before anything was re-scored"),  # its batch holds Ctrl-C once writing
])
def test_ctrl_c_stops_a_command_waiting_for_another_process_write_lock(tmp_path, command, said):
    import signal

    from procs import MonitorProcess

    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        pytest.skip("SIGINT is ignored here (a background job): the command would inherit that")
    if not Path("/proc/self/wchan").exists():
        pytest.skip("no /proc/<pid>/wchan to see the command waiting")
    db = tmp_path / "m.db"
    write_jsonl(tmp_path / "m.jsonl", [record("1", "acme is great")])
    subprocess.run([sys.executable, "-m", "monitor", "--db", db, "import", "m.jsonl"], cwd=tmp_path,
                   check=True, capture_output=True)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's long write (a kpi import), held past the wait
    proc = MonitorProcess("--db", db, *command, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 20
        while not _in_a_timed_sleep(proc.proc.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _in_a_timed_sleep(proc.proc.pid), f"{command} never waited for the lock:\n{proc.stderr}"
        proc.send(signal.SIGINT)
        started = time.monotonic()
        code = proc.wait(timeout=40)
        stopped_in = time.monotonic() - started
    finally:
        proc.stop()
        holder.execute("ROLLBACK")
        holder.close()
    assert stopped_in < 3, f"Ctrl-C took {stopped_in:.1f}s: it waited for the lock (30 s) first"
    assert code == 130 and said in proc.stderr and "Traceback" not in proc.stderr and "Aborted" not in proc.stderr
    assert sql(db, "SELECT label, label_override FROM mentions") == [("positive", None)]  # nothing written


def test_run_in_a_read_only_folder_names_the_folder_not_a_missing_lock_file(tmp_path):
    # It said "cannot open the lock file .../m.db.lock: No such file or directory; remove it or
    # fix its owner": there is no file to remove, the folder is the cause.
    (tmp_path / "ro").mkdir()
    Store.open(tmp_path / "ro" / "m.db").close()
    os.chmod(tmp_path / "ro", 0o555)
    try:
        done = run_unprivileged("--db", "ro/m.db", "run", "--once", cwd=tmp_path)
    finally:
        os.chmod(tmp_path / "ro", 0o755)
    lock = os.path.realpath(tmp_path / "ro" / "m.db") + ".lock"
    assert (done.returncode, done.stderr) == (1, f"Error: cannot create the lock file {lock}: its folder is not writable\n")
