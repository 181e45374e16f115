"""VADER classifiers: brand-aware (the default) and stock (for comparison)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar

from sentiment.base import Score, Thresholds
from sentiment.text import TextPreparer


class StockVaderClassifier:
    """vaderSentiment exactly as shipped: no masking, no preparation."""

    name: ClassVar[str] = "vader-stock"
    version: ClassVar[str] = "vaderSentiment-3.3.2"

    def __init__(self, thresholds: Thresholds | None = None, brand_terms: Sequence[str] = ()) -> None:
        # Imported here: loading the lexicon costs time that commands which
        # never classify should not pay. One analyzer, reused for every text.
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self.thresholds = thresholds or Thresholds()
        self._polarity = SentimentIntensityAnalyzer().polarity_scores

    def _prepare(self, text: str) -> str:
        return text

    def score(self, text: str) -> Score:
        compound = self._polarity(self._prepare(text))["compound"]
        return Score(compound, self.thresholds.label(compound))

    def score_many(self, texts: Iterable[str]) -> list[Score]:
        return [self.score(text) for text in texts]


class VaderClassifier(StockVaderClassifier):
    """VADER on prepared text: brand names and handles masked, entities unescaped,
    URLs dropped (see :mod:`sentiment.text`)."""

    name: ClassVar[str] = "vader"
    version: ClassVar[str] = "1"

    def __init__(self, thresholds: Thresholds | None = None, brand_terms: Sequence[str] = ()) -> None:
        super().__init__(thresholds)
        self._prepare = TextPreparer(brand_terms)  # type: ignore[method-assign]
