"""The classifier contract: texts in, scores and labels out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

from sentiment.labels import LABELS, NEGATIVE, NEUTRAL, POSITIVE, UNSUPPORTED

__all__ = [
    "LABELS", "NEGATIVE", "NEUTRAL", "POSITIVE", "UNSUPPORTED", "Classifier", "Score", "Thresholds",
]


@dataclass(frozen=True)
class Score:
    compound: float  # in [-1, 1]; negative means negative sentiment
    label: str  # one of LABELS, or UNSUPPORTED for a text it cannot score (no compound is then stored)


@dataclass(frozen=True)
class Thresholds:
    """Compound at or above ``positive`` is positive, at or below ``negative`` negative."""

    positive: float = 0.05
    negative: float = -0.05

    def __post_init__(self) -> None:
        if not -1.0 <= self.negative <= self.positive <= 1.0:
            raise ValueError(
                "thresholds must satisfy -1 <= negative_threshold <= positive_threshold <= 1"
            )

    def label(self, compound: float) -> str:
        if compound >= self.positive and compound > self.negative:
            return POSITIVE
        if compound <= self.negative:
            return NEGATIVE
        return NEUTRAL


@runtime_checkable
class Classifier(Protocol):
    """Scores texts. Implementations are constructed as
    ``cls(thresholds=Thresholds(...) | None, brand_terms=[...], **options)``
    where ``None`` means "the class's ``default_thresholds``" and ``options``
    are the fields of the class's optional ``Options`` dataclass (the extra
    ``[sentiment]`` keys it accepts).

    Optional class attributes the application reads:
    ``default_thresholds: Thresholds | None`` (used when the user sets none),
    ``languages: frozenset[str] | None`` (ISO 639-1 codes it can score;
    ``None``: any language, no detection needed), ``Options: type``.
    An instance must be safe to call from several threads and must pickle
    (or rebuild itself) so worker processes can use it.
    """

    name: ClassVar[str]  # registered name, e.g. "vader"
    version: ClassVar[str]  # changes whenever scores for the same text may change

    def score(self, text: str) -> Score: ...

    def score_many(self, texts: Iterable[str]) -> list[Score]: ...
