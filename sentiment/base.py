"""The classifier contract: texts in, scores and labels out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

POSITIVE, NEUTRAL, NEGATIVE = "positive", "neutral", "negative"
LABELS = (POSITIVE, NEUTRAL, NEGATIVE)


@dataclass(frozen=True)
class Score:
    compound: float  # in [-1, 1]; negative means negative sentiment
    label: str  # one of LABELS (a classifier may add its own, e.g. "unsupported")


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
    ``cls(thresholds=Thresholds(...), brand_terms=[...], **options)``."""

    name: ClassVar[str]  # registered name, e.g. "vader"
    version: ClassVar[str]  # changes whenever scores for the same text may change

    def score(self, text: str) -> Score: ...

    def score_many(self, texts: Iterable[str]) -> list[Score]: ...

