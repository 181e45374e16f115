"""The SQLite store: the single place SQL lives.

A :class:`Store` wraps one connection (WAL mode, ``busy_timeout``) and hands
out per-concern views (``store.mentions``, ``store.sources``, ``store.labels``, ``store.kpi``, ...). Writers go
through :meth:`Store.transaction`, which takes the write lock up front with
``BEGIN IMMEDIATE`` so a transaction never fails half way on a lock, and
nests as a savepoint when already inside one. Readers take no lock: in WAL
mode the CLI reads while the daemon writes.

Opening a store is cheap: the connection is plain :mod:`sqlite3`, the schema
is known to be current from its stamp (see :mod:`monitor.storage.schema`),
and sqlite-utils (``store.db``) is imported only by what uses it: migrations
and a few writes.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.errors import MonitorError, relative_to_cwd
from monitor.storage.schema import SCHEMA_STAMP

if TYPE_CHECKING:
    import sqlite_utils

    from monitor.storage.alerts import AlertStore
    from monitor.storage.digests import DigestStore
    from monitor.storage.kpi import KpiStore
    from monitor.storage.labels import LabelStore
    from monitor.storage.mentions import MentionStore
    from monitor.storage.schema import Migrations
    from monitor.storage.sources import SourceStore

#: How long a writer waits for another writer before giving up.
BUSY_TIMEOUT_MS = 30_000
#: A transaction waits for the write lock in waits this long (ms): SQLite waits in C, where a
#: Ctrl-C or SIGTERM is acted on only once the wait ends; between two, Python takes them.
LOCK_WAIT_SLICE_MS = 100
#: The WAL file is cut back to this size (bytes) once copied into the database: a large import
#: grows it to ~200 MB (``_BULK``), which the daemon's connection, open for good, kept on disk.
WAL_SIZE_LIMIT = 4 * 1024 * 1024
_BULK = {"cache_size": -65536, "wal_autocheckpoint": 50_000, "journal_size_limit": -1}


class Store:
    def __init__(self, conn: sqlite3.Connection, path: Path | None) -> None:
        self.path = path
        self.conn = conn
        self._db: sqlite_utils.Database | None = None
        self._savepoints = 0

    # Per-concern views, each imported on first use: a command loads only the SQL it runs.
    @cached_property
    def mentions(self) -> MentionStore:
        from monitor.storage.mentions import MentionStore

        return MentionStore(self)

    @cached_property
    def sources(self) -> SourceStore:
        from monitor.storage.sources import SourceStore

        return SourceStore(self)

    @cached_property
    def digests(self) -> DigestStore:
        from monitor.storage.digests import DigestStore

        return DigestStore(self)

    @cached_property
    def alerts(self) -> AlertStore:
        from monitor.storage.alerts import AlertStore

        return AlertStore(self)

    @cached_property
    def labels(self) -> LabelStore:
        from monitor.storage.labels import LabelStore

        return LabelStore(self)

    @cached_property
    def kpi(self) -> KpiStore:
        from monitor.storage.kpi import KpiStore

        return KpiStore(self)

    @classmethod
    def open(cls, path: str | Path, *, create: bool = True, migrate: bool = True) -> Store:
        """Open (and with ``create``, create) the database at ``path``; ``":memory:"`` for tests.

        A database with tables that are not ours is refused before anything is written
        to it. Pending migrations are applied unless ``migrate`` is false.
        """
        memory = str(path) == ":memory:"
        file = None if memory else Path(path)
        existed = file is None or file.exists()
        if file is not None and not existed:
            _check_can_create(file, create)
        try:
            conn = sqlite3.connect(
                str(path),
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,  # we issue BEGIN ourselves
                check_same_thread=False,
            )
            try:
                _prepare(conn, file)
            except BaseException:
                conn.close()
                raise
        except sqlite3.DatabaseError as exc:
            raise MonitorError(_open_error(file or path, exc, existed)) from None
        store = cls(conn, file)
        if migrate:
            try:
                store.migrate()
            except BaseException:
                store.close()
                raise
        return store

    @property
    def db(self) -> sqlite_utils.Database:
        """The connection as a ``sqlite_utils.Database`` (imported on first use)."""
        if self._db is None:
            import sqlite_utils

            # Plugins of sqlite-utils are not ours to run; skipping them also saves start-up time.
            self._db = sqlite_utils.Database(self.conn, execute_plugins=False)
        return self._db

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """One atomic unit of writes. ``BEGIN IMMEDIATE`` outside, a savepoint inside."""
        if self.conn.in_transaction:
            yield from self._savepoint()
            return
        self._begin_immediate()
        try:
            yield self
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    @contextmanager
    def bulk_writes(self) -> Iterator[Store]:
        """Settings for a long run of write transactions (a backfill): a 64 MB page cache,
        so random inserts into the primary-key index stay in memory, and the WAL copied
        back every ~200 MB instead of every 4 MB (a page changed by many transactions is
        copied once: a fifth less CPU per row), its file not cut back meanwhile. Restored afterwards."""
        saved = {name: self.conn.execute(f"PRAGMA {name}").fetchone()[0] for name in _BULK}
        for name, value in _BULK.items():
            self.conn.execute(f"PRAGMA {name} = {int(value)}")
        try:
            yield self
        finally:
            for name, value in saved.items():
                self.conn.execute(f"PRAGMA {name} = {int(value)}")

    def _begin_immediate(self) -> None:
        """``BEGIN IMMEDIATE``, waiting up to the busy timeout for another writer's lock in
        slices of :data:`LOCK_WAIT_SLICE_MS`, so that a Ctrl-C stops the wait at once."""
        wait = self._busy_timeout()
        deadline = time.monotonic() + wait / 1000
        with self.waiting_at_most(LOCK_WAIT_SLICE_MS):
            while True:
                try:
                    self.conn.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if not is_locked(exc) or time.monotonic() >= deadline:
                        raise

    def _savepoint(self) -> Iterator[Store]:
        self._savepoints += 1
        name = f"sm_{self._savepoints}"
        self.conn.execute(f"SAVEPOINT {name}")
        try:
            yield self
        except BaseException:
            if self.conn.in_transaction:  # an error may have ended the whole transaction
                self.conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                self.conn.execute(f"RELEASE SAVEPOINT {name}")
            raise
        else:
            self.conn.execute(f"RELEASE SAVEPOINT {name}")
        finally:
            self._savepoints -= 1

    def pending_migrations(self) -> list[str]:
        from monitor.storage.migrations import MIGRATION_SETS

        return [f"{s.name}:{m.name}" for s in MIGRATION_SETS for m in s.pending(self.db)]

    def migrate(self) -> list[str]:
        """Apply pending migrations (under the write lock, so two processes never race).

        A database stamped with this code's :data:`~monitor.storage.schema.SCHEMA_STAMP`
        is current: nothing else is read (or imported).
        """
        if self.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_STAMP:
            return []
        from monitor.storage.migrations import MIGRATION_SETS
        from monitor.storage.schema import fingerprint

        self._refuse_newer(MIGRATION_SETS)
        stamp = fingerprint(MIGRATION_SETS)  # what is applied now, even if SCHEMA_STAMP is stale
        pending = self.pending_migrations()
        if not pending:
            self._stamp(stamp)
            return []
        try:
            with self.transaction():
                applied = self.pending_migrations()
                for migration_set in MIGRATION_SETS:
                    migration_set.apply(self.db)
                self._stamp(stamp)
        except sqlite3.OperationalError as exc:
            if not is_read_only(exc):
                raise
            raise MonitorError(
                f"{self.path} is from an older version and needs {len(pending)} schema migration(s),"
                f" but cannot be written ({exc}): run `sentiment-monitor init` on it once as a user"
                " who may write it"
            ) from None
        return applied

    def _refuse_newer(self, sets: list[Migrations]) -> None:
        """Raise if a newer version migrated this database: steps of our sets that this code
        does not know. Its data may be in a shape this code would misread, or write beside
        rows a later step converted (and will not convert again)."""
        if not self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlite_migrations'"
        ).fetchone():
            return
        known = {(s.name, step) for s in sets for step in s.names}
        names = [s.name for s in sets]
        unknown = [
            f"{row[0]}:{row[1]}" for row in self.conn.execute(
                f"SELECT migration_set, name FROM _sqlite_migrations WHERE migration_set IN"
                f" ({', '.join('?' * len(names))}) ORDER BY rowid", names,
            ) if tuple(row) not in known
        ]
        if unknown:
            from monitor import __version__

            shown = ", ".join(unknown[:3]) + (f" and {len(unknown) - 3} more" if len(unknown) > 3 else "")
            raise MonitorError(
                f"{self.path} was migrated by a newer sentiment-monitor than this one ({__version__}):"
                f" its schema step{'s' if len(unknown) > 1 else ''} {shown} {'are' if len(unknown) > 1 else 'is'}"
                " unknown here; use that version or a later one (nothing was changed)"
            )

    def _stamp(self, stamp: int) -> None:
        try:
            self.conn.execute(f"PRAGMA user_version = {int(stamp)}")
        except sqlite3.OperationalError:  # a read-only file: checked again next time
            pass

    def size_bytes(self) -> int:
        page_size = self.conn.execute("PRAGMA page_size").fetchone()[0]
        pages = self.conn.execute("PRAGMA page_count").fetchone()[0]
        return int(page_size * pages)

    def integrity_check(self) -> str:
        return str(self.conn.execute("PRAGMA integrity_check").fetchone()[0])

    def check_writable(self) -> None:
        """Raise a MonitorError, as a failed write would be reported ("database error on
        <path>: attempt to write a readonly database"), if nothing could be written: a
        database file that is read-only to us. Polls check it before fetching anything.

        A write that changes nothing: SQLite refuses it on a read-only file before it
        would wait for the write lock, and it never waits here (another writer at work
        means the file is writable)."""
        try:
            with self.without_waiting():
                self.conn.execute("UPDATE sources SET platform = platform WHERE 0")
        except sqlite3.OperationalError as exc:
            if is_read_only(exc):
                raise MonitorError(describe_error(exc, self.path)) from None

    def without_waiting(self) -> AbstractContextManager[int]:
        """Writes in this block fail at once on a held write lock instead of waiting the
        busy timeout (a failed poll recorded after that wait already ran out once)."""
        return self.waiting_at_most(0)

    def _busy_timeout(self) -> int:
        return int(self.conn.execute("PRAGMA busy_timeout").fetchone()[0])

    @contextmanager
    def waiting_at_most(self, ms: int) -> Iterator[int]:
        """Writes in this block wait at most ``ms`` for another writer's lock, not the whole
        busy timeout (if that is shorter, it stays); the wait in ms as the block's value."""
        wait = self._busy_timeout()
        shorter = min(wait, int(ms))
        self.conn.execute(f"PRAGMA busy_timeout = {shorter}")
        try:
            yield shorter
        finally:
            self.conn.execute(f"PRAGMA busy_timeout = {wait}")


def is_locked(exc: BaseException) -> bool:
    """``exc`` says another connection held the write lock for the whole busy timeout."""
    return isinstance(exc, sqlite3.OperationalError) and getattr(exc, "sqlite_errorname", None) == "SQLITE_BUSY"


def is_read_only(exc: BaseException) -> bool:
    """``exc`` says the database cannot be written (a read-only file or file system)."""
    return isinstance(exc, sqlite3.OperationalError) and str(
        getattr(exc, "sqlite_errorname", "")).startswith("SQLITE_READONLY")


def is_full(exc: BaseException) -> bool:
    """``exc`` says the database could not grow: its disk is full (or a size limit is reached)."""
    return isinstance(exc, sqlite3.OperationalError) and getattr(exc, "sqlite_errorname", None) == "SQLITE_FULL"


#: What a write that found no room raises outside SQLite: the disk full, a quota, a file size limit.
_NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def is_out_of_room(exc: BaseException) -> bool:
    """``exc`` is a file write outside SQLite that found no room (a full disk or temporary
    folder: the language detector unpacks its model into a temporary file)."""
    return isinstance(exc, OSError) and exc.errno in _NO_ROOM


def is_corrupt(exc: BaseException) -> bool:
    """``exc`` says the database file is damaged: a page SQLite read is not what it wrote."""
    return isinstance(exc, sqlite3.DatabaseError) and str(
        getattr(exc, "sqlite_errorname", "")).startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB"))


def error_kind(exc: BaseException) -> str | None:
    """The poll error kind of a database error that is no bug of ours and has a kind of
    its own (``locked``, ``disk_full``), else None."""
    return "locked" if is_locked(exc) else "disk_full" if is_full(exc) or is_out_of_room(exc) else None


def is_explained(exc: BaseException) -> bool:
    """``exc`` is a database error that is no bug of ours and that :func:`describe_error`
    says in one line (locked, read-only, full, damaged): logged without a traceback."""
    return is_locked(exc) or is_read_only(exc) or is_full(exc) or is_corrupt(exc) or is_out_of_room(exc)


def describe_error(exc: BaseException, path: str | Path | None, *, waited_ms: int | None = None) -> str:
    """One line for people about ``exc``, raised by the database at ``path`` (if known)
    after a wait for the write lock of ``waited_ms`` (default: the busy timeout)."""
    if is_out_of_room(exc):
        import tempfile

        assert isinstance(exc, OSError)
        named = f" {exc.filename}" if exc.filename else ""
        return (
            f"cannot write a file{named}: {exc.strerror}; free space on its disk (the database's, or the"
            f" temporary folder {tempfile.gettempdir()}) and try again"
        )
    if path is None:
        return f"database error: {exc}"
    if is_locked(exc):  # the wait ran out
        return (
            f"{path} is locked: another process (a running import or daemon?) has held its"
            f" write lock for over {(BUSY_TIMEOUT_MS if waited_ms is None else waited_ms) / 1000:g}s; try again"
        )
    if is_full(exc):
        return f"{path} cannot grow: database or disk is full; free space on its disk and try again"
    if is_corrupt(exc):
        return f"{path} is damaged ({exc}): restore it from a backup"
    return f"database error on {path}: {exc}"


def _check_can_create(file: Path, create: bool) -> None:
    """Raise a :class:`MonitorError` saying why ``file`` (not there yet) cannot be created now."""
    verb = "create" if create else "open"
    for folder in file.parents:  # nearest first; exists() is false below a regular file
        if folder.exists():
            if not folder.is_dir():
                raise MonitorError(f"cannot {verb} {file}: {folder} is a file, not a folder")
            break
    if not create:
        raise MonitorError(f"no database at {file} yet{relative_to_cwd(file)}: run `sentiment-monitor init` or `poll` first")
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MonitorError(f"cannot create {file.parent}: {exc.strerror}{relative_to_cwd(file)}") from None


def _prepare(conn: sqlite3.Connection, file: Path | None) -> None:
    """Settings for a new connection to the database ``file`` (``None``: in memory)."""
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if file is not None:
        _refuse_foreign(conn, file)  # before WAL mode, which rewrites the file header
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise MonitorError(f"{file}: cannot switch the database to WAL mode ({mode})")
    # NORMAL is durable across process crashes in WAL mode; only a power
    # loss can drop the last transactions, never corrupt the file.
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
    conn.execute("PRAGMA foreign_keys = ON")
    # SQLite's LIKE and lower() fold ASCII letters only: a search in another script folds here.
    conn.create_function("casefold", 1, _casefold, deterministic=True)


def _casefold(text: str | None) -> str | None:
    return text.casefold() if isinstance(text, str) else text


_OUR_MENTION_COLUMNS = frozenset({"platform", "id", "text", "created_at", "compound", "label", "classifier"})


def _refuse_foreign(conn: sqlite3.Connection, file: Path) -> None:
    """Raise unless the database is ours or empty: one with our stamp, our ``mentions``
    table or a record of our migrations, or without tables (initialised as new)."""
    if conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_STAMP:
        return
    tables = [row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite!_%' ESCAPE '!'"
        " ORDER BY name"
    )]
    if not tables:
        return
    if "mentions" in tables and _OUR_MENTION_COLUMNS <= {
        row[1] for row in conn.execute("PRAGMA table_info(mentions)")
    }:
        return  # ours, from before the stamp: another program's "mentions" is not
    if "_sqlite_migrations" in tables:
        from monitor.storage.migrations import MIGRATION_SETS

        names = [s.name for s in MIGRATION_SETS]
        try:
            if conn.execute(
                f"SELECT 1 FROM _sqlite_migrations WHERE migration_set IN ({', '.join('?' * len(names))})"
                " LIMIT 1", names,
            ).fetchone():
                return
        except sqlite3.OperationalError:  # another tool's table of that name
            pass
    shown = ", ".join(tables[:5]) + (f" and {len(tables) - 5} more" if len(tables) > 5 else "")
    raise MonitorError(
        f"{file} is not a sentiment-monitor database (it has {'tables' if len(tables) > 1 else 'table'}"
        f" {shown}); give another --db or [monitor] database"
    )


def _open_error(path: str | Path, exc: sqlite3.DatabaseError, existed: bool) -> str:
    """Why the database at ``path`` could not be opened: a cause we checked, else SQLite's words."""
    if is_locked(exc) or is_full(exc):
        return describe_error(exc, path)
    name = getattr(exc, "sqlite_errorname", "")
    folder = Path(path).parent
    # SQLite cannot create the file, or (WAL mode) the -wal and -shm files beside it.
    if name.startswith(("SQLITE_CANTOPEN", "SQLITE_READONLY")) and not os.access(folder, os.W_OK | os.X_OK):
        if not existed:
            return f"cannot create {path}: folder {folder} is not writable"
        file = Path(path).name
        return (
            f"cannot open {path}: its folder {folder} is not writable"
            f" (SQLite needs to create {file}-wal and {file}-shm beside it)"
        )
    return f"{path}: not a usable SQLite database ({exc})"
