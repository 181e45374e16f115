"""Labels: manual overrides, re-scoring, and the audit trail of both.

A mention's ``label`` column is its *effective* label, the one summaries,
``negatives`` and JSON use: a person's ``label_override`` when there is one,
else the classifier's ``model_label``. ``compound`` and ``classifier`` are
always the model's. Every override, cleared override and re-classification
that changed a label is appended to ``label_events``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitor.storage.mentions import IN_CHUNK, LANG_DETECTED
from monitor.storage.schema import Migrations
from monitor.timeutil import to_db

if TYPE_CHECKING:
    from sqlite_utils import Database

    from monitor.storage import Store

migrations = Migrations("labels")


@migrations()
def m001_overrides_and_events(db: Database) -> None:
    for column in ("model_label", "label_override", "override_at", "override_by", "override_note"):
        db["mentions"].add_column(column, str)
    db.execute("UPDATE mentions SET model_label = label")
    db["label_events"].create(
        {
            "id": int,
            "platform": str,
            "mention_id": str,
            "at": str,
            "kind": str,  # "override", "clear" or "reclassify"
            "label_before": str,  # the effective label
            "label_after": str,
            "model_label_before": str,
            "model_label_after": str,
            "compound_before": float,
            "compound_after": float,
            "classifier_before": str,
            "classifier_after": str,
            "by": str,
            "note": str,
        },
        pk="id",
        not_null={"platform", "mention_id", "at", "kind"},
    )
    db["label_events"].create_index(["platform", "mention_id"], index_name="label_events_mention")


@migrations()
def m002_lower_case_platforms(db: Database) -> None:
    """Platforms are stored in lower case (an import once kept "X" as written). A mention
    stored under several spellings is one mention: one row stays (the lower-case one if there
    is one), with the person's label of whichever spelling was labelled last (its history
    keeps every spelling's events)."""
    spellings: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for rowid, platform, mention_id in db.execute(
        "SELECT rowid, platform, id FROM mentions WHERE platform <> lower(platform) ORDER BY rowid"
    ).fetchall():
        spellings.setdefault((platform.lower(), mention_id), []).append((rowid, platform))
    for (platform, mention_id), rows in spellings.items():
        lower = db.execute("SELECT rowid FROM mentions WHERE platform = ? AND id = ?", [platform, mention_id]).fetchone()
        if lower is not None:
            rows = [(lower[0], platform), *rows]
        if len(rows) == 1:
            continue  # only renamed, below
        kept_rowid = rows[0][0]
        last = db.execute(
            "SELECT platform FROM label_events WHERE lower(platform) = ? AND mention_id = ?"
            " AND kind IN ('override', 'clear') ORDER BY at DESC, id DESC LIMIT 1", [platform, mention_id],
        ).fetchone()
        labelled_last = next((rowid for rowid, spelling in rows if last is not None and spelling == last[0]), None)
        if labelled_last is not None and labelled_last != kept_rowid:  # another spelling was labelled last
            db.execute(
                "UPDATE mentions SET (label_override, override_at, override_by, override_note) ="
                " (SELECT label_override, override_at, override_by, override_note FROM mentions WHERE rowid = ?)"
                " WHERE rowid = ?", [labelled_last, kept_rowid],
            )
            db.execute("UPDATE mentions SET label = coalesce(label_override, model_label) WHERE rowid = ?",
                       [kept_rowid])
        db.conn.executemany("DELETE FROM mentions WHERE rowid = ?", [(rowid,) for rowid, _ in rows[1:]])
    db.execute("UPDATE mentions SET platform = lower(platform) WHERE platform <> lower(platform)")
    db.execute("UPDATE label_events SET platform = lower(platform) WHERE platform <> lower(platform)")


_STATE = ("label", "model_label", "compound", "classifier", "label_override")
#: A mention's label state as :meth:`LabelStore.override` returns it.
STATE_COLUMNS = (*_STATE, "override_at", "override_by", "override_note")
#: The columns of a label event, as :meth:`LabelStore.history` returns them.
EVENT_COLUMNS = (
    "id", "platform", "mention_id", "at", "kind", "label_before", "label_after", "model_label_before",
    "model_label_after", "compound_before", "compound_after", "classifier_before", "classifier_after", "by", "note",
)
_FOR_RESCORING = ("rowid", "created_at", "platform", "id", "text", "lang", "lang_source", *_STATE)
_EVENT = (
    "INSERT INTO label_events (platform, mention_id, at, kind, label_before, label_after,"
    " model_label_before, model_label_after, compound_before, compound_after,"
    " classifier_before, classifier_after, by, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


@dataclass(frozen=True)
class Rescored:
    """A stored mention's new model score (from :meth:`LabelStore.batch_to_rescore`)."""

    platform: str
    id: str
    lang: str | None
    lang_source: str | None
    compound: float | None
    model_label: str
    classifier: str

    @classmethod
    def decided(cls, row: dict[str, Any], decision: Any, classifier: str) -> Rescored:
        """The new score of ``row`` from the language gate's ``decision`` (a
        :class:`sentiment.language.Classified`) on its :func:`given_lang`. A language not
        detected now is the one the mention came with: its source stays as stored."""
        source = LANG_DETECTED if decision.detected else None if decision.lang is None else row["lang_source"]
        return cls(row["platform"], row["id"], decision.lang, source, decision.compound, decision.label, classifier)


def given_lang(row: dict[str, Any]) -> str | None:
    """The language tag a stored mention (a row of :meth:`LabelStore.batch_to_rescore`) came
    with, to decide its language again as a poll would now: its ``lang``, unless that was
    detected (then none: detection, if on, decides again). A ``lang`` of unknown source
    (stored before sources were) is taken as the platform's."""
    return None if row["lang_source"] == LANG_DETECTED else row["lang"]


@dataclass(frozen=True)
class RescoreCounts:
    updated: int  # rows whose score, label, classifier or language (or its source) changed
    labels_changed: int  # rows whose model label changed
    overridden: int  # of those, rows whose effective label stayed the person's


class LabelStore:
    def __init__(self, store: Store) -> None:
        self._store = store

    def find(self, mention_id: str, platform: str | None = None) -> list[tuple[str, str]]:
        """``(platform, id)`` of the mentions ``mention_id`` may mean.

        With ``platform`` (any case), exactly that. Otherwise ``PLATFORM:ID`` is tried
        (when a mention has that platform and id) as well as the id as given
        on any platform: ids are only unique per platform.
        """
        conn = self._store.conn
        if platform is not None:  # platform names are stored in lower case
            rows = conn.execute(
                "SELECT platform, id FROM mentions WHERE platform = ? AND id = ?", [platform.lower(), mention_id]
            )
            return [tuple(r) for r in rows]  # type: ignore[misc]
        found = [tuple(r) for r in conn.execute("SELECT platform, id FROM mentions WHERE id = ?", [mention_id])]
        prefix, sep, rest = mention_id.partition(":")
        if sep:
            found += [
                tuple(r)
                for r in conn.execute(
                    "SELECT platform, id FROM mentions WHERE platform = ? AND id = ?", [prefix.lower(), rest]
                )
            ]
        return list(dict.fromkeys(found))  # type: ignore[arg-type]

    def override(
        self, platform: str, mention_id: str, label: str | None, *, at: datetime,
        by: str | None = None, note: str | None = None,
    ) -> dict[str, Any]:
        """Set (``label``) or clear (``None``) a person's label; return the mention's new state.
        Clearing a mention that has no person's label changes nothing and records no event."""
        with self._store.transaction():
            before = self._state(platform, mention_id)
            if label is None and before["label_override"] is None:
                return before
            if label is None:
                self._store.conn.execute(
                    "UPDATE mentions SET label = model_label, label_override = NULL, override_at = NULL,"
                    " override_by = NULL, override_note = NULL WHERE platform = ? AND id = ?",
                    [platform, mention_id],
                )
            else:
                self._store.conn.execute(
                    "UPDATE mentions SET label = ?, label_override = ?, override_at = ?, override_by = ?,"
                    " override_note = ? WHERE platform = ? AND id = ?",
                    [label, label, to_db(at), by, note, platform, mention_id],
                )
            after = self._state(platform, mention_id)
            self._event(platform, mention_id, "override" if label else "clear", before, after, at, by, note)
        return after

    def history(self, platform: str, mention_id: str) -> list[dict[str, Any]]:
        """The mention's label events, oldest first."""
        cursor = self._store.conn.execute(
            f"SELECT {', '.join(f'[{c}]' for c in EVENT_COLUMNS)} FROM label_events"
            " WHERE platform = ? AND mention_id = ? ORDER BY at, id", [platform, mention_id]
        )
        return [dict(zip(EVENT_COLUMNS, row)) for row in cursor]

    def batch_to_rescore(
        self, since: datetime | None, after: tuple[str, int] | None, limit: int
    ) -> list[dict[str, Any]]:
        """The next ``limit`` mentions created at or after ``since``, in (created_at, rowid)
        order after the key ``after`` (the last row's ``(created_at, rowid)``): an index
        range scan however large the table."""
        clauses, params = [], []
        if since is not None:
            clauses.append("created_at >= ?")
            params.append(to_db(since))
        if after is not None:
            clauses.append("(created_at, rowid) > (?, ?)")
            params += list(after)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        cursor = self._store.conn.execute(
            f"SELECT {', '.join(_FOR_RESCORING)} FROM mentions{where} ORDER BY created_at, rowid LIMIT ?",
            [*params, limit],
        )
        return [dict(zip(_FOR_RESCORING, row)) for row in cursor]

    def rescore(
        self, rows: Sequence[dict[str, Any]], scores: Sequence[Rescored], *, at: datetime, dry_run: bool = False,
    ) -> RescoreCounts:
        """Store new model scores for ``rows`` (as read by :meth:`batch_to_rescore`).

        An override stays the effective label. Rows whose model label changed get
        a "reclassify" event. One transaction. ``dry_run``: only count what would change.
        """
        todo = [
            (row, new) for row, new in zip(rows, scores, strict=True)
            if (row["compound"], row["model_label"], row["classifier"], row["lang"], row["lang_source"])
            != (new.compound, new.model_label, new.classifier, new.lang, new.lang_source)
        ]
        relabelled = [row["rowid"] for row, new in todo if new.model_label != row["model_label"]]
        if dry_run:
            kept = sum(1 for row, new in todo if new.model_label != row["model_label"] and row["label_override"])
            return RescoreCounts(len(todo), len(relabelled), kept)
        changed = overridden = 0
        events: list[tuple[Any, ...]] = []
        when = to_db(at)
        conn = self._store.conn
        with self._store.transaction():
            # A person's label set or cleared since ``rows`` were read (by `label`, in another
            # process) stays in force: the effective label comes from the override as stored
            # now, and an event records the labels as they are under this write lock.
            now: dict[int, tuple[str, str | None]] = {}
            for start in range(0, len(relabelled), IN_CHUNK):
                chunk = relabelled[start : start + IN_CHUNK]
                now.update((r[0], (r[1], r[2])) for r in conn.execute(
                    f"SELECT rowid, label, label_override FROM mentions WHERE rowid IN ({', '.join('?' * len(chunk))})",
                    chunk,
                ))
            conn.executemany(
                "UPDATE mentions SET compound = ?, model_label = ?, label = coalesce(label_override, ?),"
                " classifier = ?, lang = ?, lang_source = ? WHERE rowid = ?",
                [(new.compound, new.model_label, new.model_label, new.classifier, new.lang, new.lang_source,
                  row["rowid"])
                 for row, new in todo],
            )
            for row, new in todo:
                if new.model_label == row["model_label"] or row["rowid"] not in now:
                    continue
                label_before, override = now[row["rowid"]]
                changed += 1
                overridden += override is not None
                events.append((
                    new.platform, new.id, when, "reclassify", label_before, override or new.model_label,
                    row["model_label"], new.model_label, row["compound"], new.compound, row["classifier"],
                    new.classifier, None, None,
                ))
            conn.executemany(_EVENT, events)
        updated = len(todo)
        return RescoreCounts(updated, changed, overridden)

    def _state(self, platform: str, mention_id: str) -> dict[str, Any]:
        row = self._store.conn.execute(
            f"SELECT {', '.join(STATE_COLUMNS)} FROM mentions WHERE platform = ? AND id = ?", [platform, mention_id],
        ).fetchone()
        if row is None:
            raise KeyError(f"{platform}:{mention_id}")
        return dict(zip(STATE_COLUMNS, row))

    def _event(
        self, platform: str, mention_id: str, kind: str, before: dict[str, Any], after: dict[str, Any],
        at: datetime, by: str | None, note: str | None,
    ) -> None:
        self._store.conn.execute(_EVENT, [
            platform, mention_id, to_db(at), kind, before["label"], after["label"], before["model_label"],
            after["model_label"], before["compound"], after["compound"], before["classifier"],
            after["classifier"], by, note,
        ])
