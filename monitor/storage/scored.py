"""What a write to the ``mentions`` table carries and reports (see :mod:`monitor.storage.mentions`).

Kept apart so that a command that only reads mentions never creates these classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connectors.base import Mention


@dataclass(frozen=True)
class ScoredMention:
    """A mention ready to store: where it came from, whose it is, how it feels."""

    mention: Mention
    source: str | None
    brand: str | None
    compound: float | None  # None: not scored (unsupported language)
    label: str
    classifier: str
    lang: str | None = None  # the language to store; None: the mention's own tag


@dataclass(frozen=True)
class UpsertCounts:
    new: int
    duplicates: int
