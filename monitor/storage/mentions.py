"""The ``mentions`` table: upserts on ``(platform, id)``, queries and period counts."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitor.frozen import frozen
from monitor.storage.periods import periods_cte
from monitor.timeutil import to_db
from sentiment.labels import LABELS, UNSUPPORTED

if TYPE_CHECKING:
    from monitor.storage import Store
    from monitor.storage.scored import ScoredMention, UpsertCounts

#: The columns of a row for :meth:`MentionStore.upsert_rows`, in order.
COLUMNS = _COLUMNS = (
    "platform", "id", "source", "brand", "text", "author", "url", "created_at", "fetched_at",
    "lang", "likes", "replies", "reposts", "followers", "compound", "label", "classifier", "raw",
    "model_label", "lang_source",
)
#: ``lang_source``: where ``lang`` came from. The platform's tag (or an imported record's ``lang``,
#: a no-language tag such as "und" too), or the language detector's; null: no language, or a
#: mention stored before the source was recorded (its ``lang`` is taken as the platform's).
LANG_PLATFORM, LANG_DETECTED = LANG_SOURCES = ("platform", "detected")
# A re-fetched mention keeps what we decided about it and refreshes what the
# platform counts: engagement only grows stale, never wrong.
_UPSERT = (
    f"INSERT INTO mentions ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
    " ON CONFLICT (platform, id) DO UPDATE SET"
    " likes = coalesce(excluded.likes, likes),"
    " replies = coalesce(excluded.replies, replies),"
    " reposts = coalesce(excluded.reposts, reposts),"
    " followers = coalesce(excluded.followers, followers)"
)
#: Columns of a mention as the CLI and JSON output show it. ``label`` is the
#: effective label (a person's override, else the classifier's ``model_label``).
PUBLIC_COLUMNS = (
    "platform", "id", "brand", "created_at", "label", "compound", "author", "text", "url",
    "lang", "likes", "replies", "reposts", "followers", "source", "classifier", "fetched_at",
    "model_label", "label_override", "override_at", "override_by", "override_note", "lang_source",
)
IN_CHUNK = 400  # bound on "?" placeholders per IN (...)
#: The source of the mentions an ``import`` stored (polled ones have their source's name).
IMPORT_SOURCE = "import"
_ENGAGEMENT = "(coalesce(likes, 0) + coalesce(replies, 0) + coalesce(reposts, 0))"
# A mention with no score (in a language the classifier does not read, labelled by a person)
# comes after every scored one: it is not "the most negative" for want of a score.
_ORDERS = {
    "newest": "created_at DESC, platform, id",
    "most_negative": "compound IS NULL, compound, created_at DESC, platform, id",
    "most_engaged": f"{_ENGAGEMENT} DESC, compound IS NULL, compound, created_at DESC, platform, id",
}


@frozen
class MentionFilter:
    since: datetime | None = None
    until: datetime | None = None
    label: str | None = None
    brand: str | None = None
    platform: str | None = None
    source: str | None = None
    search: str | None = None  # case-insensitive substring of the text
    limit: int | None = 50
    order: str = "newest"  # or "most_negative" (lowest score), "most_engaged" (likes+replies+reposts)


class MentionStore:
    def __init__(self, store: Store) -> None:
        self._store = store

    def upsert(self, items: Sequence[ScoredMention], fetched_at: datetime) -> UpsertCounts:
        """Insert new mentions, refresh engagement of known ones; count which were which.

        Runs in the caller's transaction if there is one, else in its own.
        """
        from monitor.storage.scored import mention_row  # writers only: readers never load orjson

        fetched = to_db(fetched_at)
        return self.upsert_rows([
            mention_row(
                m.platform, m.id, item.source, item.brand, m.text, m.author, m.url, to_db(m.created_at),
                fetched, item.lang or m.lang, m.likes, m.replies, m.reposts, m.followers, item.compound,
                item.label, item.classifier, m.raw, lang_detected=item.lang_detected,
            )
            for item in items
            for m in (item.mention,)
        ])

    def upsert_rows(self, rows: Sequence[tuple[Any, ...]]) -> UpsertCounts:
        """:meth:`upsert` for rows already in column order (:data:`COLUMNS`). A key repeated
        in ``rows`` is new once: its first row is stored and the later ones refresh its
        engagement, exactly as if they came in a later call (so what an import stores does
        not depend on where its batches end, nor on a stop and re-run)."""
        conn = self._store.conn
        with self._store.transaction():
            # Under the write lock each inserted row takes max(rowid) + 1 and an update
            # takes none: the difference is the number of new mentions, with no lookup.
            before = conn.execute("SELECT max(rowid) FROM mentions").fetchone()[0] or 0
            conn.executemany(_UPSERT, rows)
            new = (conn.execute("SELECT max(rowid) FROM mentions").fetchone()[0] or 0) - before
            # the brand names stored (a handful per batch), for brand_names
            conn.executemany("INSERT OR IGNORE INTO mention_brands (brand) VALUES (?)",
                             [(b,) for b in {row[3] for row in rows} if b is not None])
        from monitor.storage.scored import UpsertCounts

        return UpsertCounts(new=new, duplicates=len(rows) - new)

    def _rows_by_key(self, keys: Iterable[tuple[str, str]], columns: str) -> Iterator[tuple[Any, ...]]:
        """``columns`` of the stored mentions among ``keys``: per platform, in chunks, on the primary key."""
        by_platform: dict[str, list[str]] = {}
        for platform, mention_id in keys:
            by_platform.setdefault(platform, []).append(mention_id)
        for platform, ids in by_platform.items():
            for start in range(0, len(ids), IN_CHUNK):
                chunk = ids[start : start + IN_CHUNK]
                yield from self._store.conn.execute(
                    f"SELECT {columns} FROM mentions WHERE platform = ? AND id IN ({', '.join('?' * len(chunk))})",
                    [platform, *chunk],
                )

    def query(self, where: MentionFilter) -> list[dict[str, Any]]:
        """Mentions matching ``where``, newest first (or in ``where.order``)."""
        clauses, params = _where(where)
        sql = (
            f"SELECT {', '.join(PUBLIC_COLUMNS)} FROM mentions"
            f"{' WHERE ' + ' AND '.join(clauses) if clauses else ''}"
            f" ORDER BY {_ORDERS[where.order]}"
        )
        if where.limit is not None:
            sql += " LIMIT ?"
            params.append(where.limit)
        return [dict(zip(PUBLIC_COLUMNS, row)) for row in self._store.conn.execute(sql, params)]

    def stream(self, where: MentionFilter, columns: Sequence[str]) -> Iterator[tuple[Any, ...]]:
        """``columns`` of every mention matching ``where`` (its ``limit`` and order
        ignored), read from the cursor as they are consumed: memory stays flat.

        A period with a label is a range scan on ``mentions_label_created``,
        without one on ``mentions_created``.
        """
        unknown = set(columns) - set(PUBLIC_COLUMNS)
        if unknown:
            raise ValueError(f"unknown mention columns {sorted(unknown)}")
        clauses, params = _where(where)
        sql = f"SELECT {', '.join(columns)} FROM mentions" + (" WHERE " + " AND ".join(clauses) if clauses else "")
        yield from self._store.conn.execute(sql, params)

    def by_keys(self, keys: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
        """The mentions with these ``(platform, id)`` keys, in the order given (missing ones left out)."""
        found = {(row[0], row[1]): dict(zip(PUBLIC_COLUMNS, row))
                 for row in self._rows_by_key(keys, ", ".join(PUBLIC_COLUMNS))}
        return [found[k] for k in keys if k in found]

    def platforms(self) -> list[str]:
        """The platforms of the stored mentions, in order: one primary-key seek each."""
        found: list[str] = []
        while (row := self._store.conn.execute(
            "SELECT min(platform) FROM mentions WHERE platform > ?", [found[-1] if found else ""]
        ).fetchone()) and row[0] is not None:
            found.append(row[0])
        return found

    def brand_names(self) -> list[str]:
        """Every brand name stored mentions carry (or carried: none is ever deleted), in
        order: a brand renamed or removed from the config that still has mentions is among
        them. One small table is read, not the mentions."""
        return [row[0] for row in self._store.conn.execute("SELECT brand FROM mention_brands ORDER BY brand")]

    def count(self, where: MentionFilter | None = None) -> int:
        clauses, params = _where(where or MentionFilter())
        sql = "SELECT count(*) FROM mentions" + (" WHERE " + " AND ".join(clauses) if clauses else "")
        return int(self._store.conn.execute(sql, params).fetchone()[0])

    def label_counts(
        self,
        periods: Sequence[tuple[str, datetime, datetime]],
        *,
        group: str | None = None,
        brand: str | None = None,
        platform: str | None = None,
    ) -> list[tuple[str, str | None, str | None, int]]:
        """Mentions per (period key, group value, label) for periods ``[start, end)``.

        ``group`` is ``None``, ``"brand"`` or ``"platform"``. Each period is an
        index range scan on ``created_at``, so day boundaries can follow any
        time zone (the caller computes them) without scanning other rows.
        """
        if group not in (None, "brand", "platform"):
            raise ValueError(f"cannot group by {group!r}")
        if not periods:
            return []
        cte, params = periods_cte(periods)
        filters = ""
        if brand is not None:
            filters += " AND m.brand = ? COLLATE NOCASE"
            params.append(brand)
        if platform is not None:
            filters += " AND m.platform = ?"
            params.append(platform)
        group_col = f"m.{group}" if group else "NULL"
        sql = (
            f"{cte} SELECT p.key, {group_col}, m.label, count(*) FROM periods p"
            " JOIN mentions m ON m.created_at >= p.start AND m.created_at < p.end"
            f"{filters} GROUP BY p.key, {group_col}, m.label"
        )
        return [tuple(row) for row in self._store.conn.execute(sql, params)]  # type: ignore[misc]

    def first_created_at(self) -> datetime | None:
        """When the oldest stored mention was written: where history begins."""
        from monitor.timeutil import from_db

        row = self._store.conn.execute("SELECT min(created_at) FROM mentions").fetchone()
        return from_db(row[0]) if row[0] else None

    def totals(self) -> dict[str, int]:
        """Count of stored mentions per label, every label present (and ``total``)."""
        out = {"total": 0, **dict.fromkeys(LABELS, 0), UNSUPPORTED: 0}
        for label, n in self._store.conn.execute(
            "SELECT label, count(*) FROM mentions GROUP BY label"
        ):
            out[label or "unscored"] = n
            out["total"] += n
        return out


def __getattr__(name: str) -> Any:
    # The records of writes live in monitor.storage.scored: a reader does not create them.
    if name in ("ScoredMention", "UpsertCounts"):
        from monitor.storage import scored

        return getattr(scored, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _where(f: MentionFilter) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if f.label is not None:
        clauses.append("label = ?")
        params.append(f.label)
    if f.since is not None:
        clauses.append("created_at >= ?")
        params.append(to_db(f.since))
    if f.until is not None:
        clauses.append("created_at < ?")
        params.append(to_db(f.until))
    if f.brand is not None:
        clauses.append("brand = ? COLLATE NOCASE")
        params.append(f.brand)
    if f.platform is not None:
        clauses.append("platform = ?")
        params.append(f.platform)
    if f.source is not None:
        clauses.append("source = ?")
        params.append(f.source)
    if f.search and f.search.isascii():  # LIKE folds ASCII letters, in C
        escaped = f.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        if "ss" in f.search.lower():  # "strasse" finds "Straße": only a text with ß is folded by Python
            clauses.append("(text LIKE ? ESCAPE '\\' OR ((instr(text, 'ß') > 0 OR instr(text, 'ẞ') > 0)"
                           " AND instr(casefold(text), ?) > 0))")
            params += [f"%{escaped}%", f.search.lower()]
        else:
            clauses.append("text LIKE ? ESCAPE '\\'")
            params.append(f"%{escaped}%")
    elif f.search:  # "STÜRZT" finds "stürzt": folded by Python (Store's casefold function)
        clauses.append("instr(casefold(text), ?) > 0")
        params.append(f.search.casefold())
    return clauses, params
