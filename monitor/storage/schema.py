"""Migration sets that cost nothing to declare, and the stamp that says "up to date".

A feature declares its schema steps with :class:`Migrations`, exactly as with
``sqlite_utils.Migrations`` (same decorator, same records in the
``_sqlite_migrations`` table: a database migrated before this module existed
is recognised as it is). The difference is when sqlite-utils is imported: only
when steps are checked or applied, never by a command that merely reads.

After a successful migration the store writes :func:`fingerprint` of every
known step into ``PRAGMA user_version``; a store opening a database whose
stamp matches knows the schema is current without reading the migrations
table (or importing sqlite-utils).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import sqlite_utils

F = TypeVar("F", bound=Callable[..., Any])

#: :func:`fingerprint` of ``monitor.storage.migrations.MIGRATION_SETS``, written out so that
#: opening a store need not import the sets. A test keeps it true: after adding a
#: migration step, set it to the value the test names (until then stores still
#: work, they only check the migrations table on every open).
SCHEMA_STAMP = 127477208


class Migrations:
    """A named, ordered set of migration steps (a lazy ``sqlite_utils.Migrations``)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._steps: list[tuple[str, Callable[..., Any], bool]] = []
        self._built: sqlite_utils.Migrations | None = None

    def __call__(self, *, name: str | None = None, transactional: bool = True) -> Callable[[F], F]:
        def register(fn: F) -> F:
            step = name or fn.__name__
            if step in self.names:
                raise ValueError(f"migration {step!r} is already registered in set {self.name!r}")
            self._steps.append((step, fn, transactional))
            return fn

        return register

    @property
    def names(self) -> list[str]:
        return [step for step, _, _ in self._steps]

    def _migrations(self) -> sqlite_utils.Migrations:
        if self._built is None:
            import sqlite_utils

            built = sqlite_utils.Migrations(self.name)
            for step, fn, transactional in self._steps:
                built(name=step, transactional=transactional)(fn)
            self._built = built
        return self._built

    def pending(self, db: sqlite_utils.Database) -> list[Any]:
        return self._migrations().pending(db)

    def apply(self, db: sqlite_utils.Database) -> None:
        self._migrations().apply(db)


def fingerprint(sets: Iterable[Migrations]) -> int:
    """A number that changes whenever a step is added (31 bits: ``user_version`` is signed)."""
    import zlib

    names = "\n".join(f"{s.name}:{step}" for s in sets for step in s.names)
    return zlib.crc32(names.encode("utf-8")) & 0x7FFF_FFFF or 1
