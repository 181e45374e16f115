"""Builders for test data: mentions and saved mention records."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

from connectors.base import Mention
from monitor.storage.mentions import ScoredMention

_Closable = TypeVar("_Closable")
#: What a test opened through :func:`closed_at_end`, closed when it ends (conftest's ``_isolated``).
_OPENED: list[Any] = []


def closed_at_end(thing: _Closable) -> _Closable:
    """``thing`` (a Store, a Daemon, a sqlite3 connection), closed when the running test ends:
    from Python 3.13 a connection left to the garbage collector is a ResourceWarning, which
    fails whichever test happens to be running when it is collected."""
    _OPENED.append(thing)
    return thing


def close_opened() -> None:
    """Close what the test opened through :func:`closed_at_end`, newest first."""
    while _OPENED:
        _OPENED.pop().close()


def mention(
    id: str = "1",
    text: str = "hello acme",
    *,
    platform: str = "x",
    created_at: datetime | None = None,
    **kwargs: Any,
) -> Mention:
    return Mention(
        platform=platform,
        id=id,
        text=text,
        author=kwargs.pop("author", "someone"),
        url=kwargs.pop("url", f"https://example.com/{id}"),
        created_at=created_at or datetime.now(timezone.utc) - timedelta(hours=1),
        **kwargs,
    )


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def record(id: str, text: str, *, hours_ago: float = 1, platform: str = "x", **extra: Any) -> dict[str, Any]:
    created = datetime.now(timezone.utc) - timedelta(hours=hours_ago)
    return {
        "platform": platform,
        "id": id,
        "text": text,
        "author": "someone",
        "url": f"https://example.com/{id}",
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        **extra,
    }


def scored(id: str, text: str = "acme", *, at: datetime, label: str = "neutral", brand: str | None = "Acme",
           compound: float | None = None, source: str | None = "test", **kwargs: Any) -> ScoredMention:
    """A classified mention ready for ``store.mentions.upsert`` (label and score given)."""
    score = compound if compound is not None else {"negative": -0.5, "positive": 0.5}.get(label, 0.0)
    return ScoredMention(mention(id, text, created_at=at, **kwargs), source, brand, score, label, "test/1")


KPI_DATA = Path(__file__).parent / "data" / "kpi"


def kpi_sample(name: str) -> Path:
    """A sample export in ``tests/data/kpi`` (each written in its tool's real column layout)."""
    return KPI_DATA / name


def kpi_imported(cli: Any, config: Path, path: Path, text: str, *args: str) -> dict[str, Any]:
    """Write ``text`` to ``path`` and import it with ``kpi import --output json``: the result."""
    path.write_text(text, encoding="utf-8")
    result = cli("--config", config, "kpi", "import", path, "--output", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def kpi_responses_as_before(store: Any, *steps: str) -> None:
    """Leave ``kpi_responses`` as a version before the migration ``steps`` of the kpi set
    stored it (those steps, and m007 that added ``ticket_format``, to run again): digests
    over the columns before m007, computed from the stored values."""
    from monitor.storage.kpi import _RESPONSES, _digest

    old = _RESPONSES.columns[: _RESPONSES.columns.index("ticket_format")]
    rows = store.conn.execute(f"SELECT rowid, {', '.join(old)} FROM kpi_responses").fetchall()
    store.conn.executemany("UPDATE kpi_responses SET digest = ? WHERE rowid = ?",
                           [(_digest(tuple(r[1:])), r[0]) for r in rows])
    store.conn.execute("ALTER TABLE kpi_responses DROP COLUMN ticket_format")
    names = (*steps, "m007_answers_on_another_formats_tickets")
    store.conn.execute(f"DELETE FROM _sqlite_migrations WHERE migration_set = 'kpi' AND name IN"
                       f" ({', '.join('?' * len(names))})", names)
    store.conn.execute("PRAGMA user_version = 0")  # stamped by an older version


def kpi_totals(cli: Any, config: Path, *window: str) -> dict[str, Any]:
    """The window's KPIs as ``kpi show --format json`` gives them (``total.kpis``)."""
    result = cli("--config", config, "kpi", "show", *window, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["total"]["kpis"]  # type: ignore[no-any-return]


def local_smtp(port: int) -> str:
    """TOML for delivery to the test SMTP server on 127.0.0.1 (tests/mailserver.py), no TLS."""
    return f"""
[digest]
recipients = ["leads@example.com"]
[smtp]
host = "127.0.0.1"
port = {port}
starttls = false
sender = "monitor@example.com"
timeout = 5
"""


def config_error(path: Path) -> str:
    """The message of the ConfigError that loading ``path`` raises."""
    from monitor import config
    from monitor.errors import ConfigError

    try:
        config.load(path)
    except ConfigError as exc:
        return str(exc)
    raise AssertionError(f"{path} loaded without an error")


class FullAtCommit:
    """A store's connection whose ``COMMIT`` number ``fail_at`` (1-based) fails as SQLite's
    does when the disk fills while the transaction's pages are written out (with a large
    page cache, at the commit): the transaction is rolled back and ``SQLITE_FULL`` raised.
    Use: ``store.conn = FullAtCommit(store.conn, 3)``."""

    def __init__(self, conn: Any, fail_at: int) -> None:
        self._conn, self._fail_at, self.commits = conn, fail_at, 0

    def execute(self, sql: str, *args: Any) -> Any:
        if sql.strip().upper() == "COMMIT":
            self.commits += 1
            if self.commits == self._fail_at:
                import sqlite3

                self._conn.execute("ROLLBACK")
                error = sqlite3.OperationalError("database or disk is full")
                error.sqlite_errorcode, error.sqlite_errorname = sqlite3.SQLITE_FULL, "SQLITE_FULL"
                raise error
        return self._conn.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)
