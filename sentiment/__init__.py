"""Sentiment classifiers for brand mentions.

A plain library: ``Classifier`` implementations turn texts into a
:class:`Score` (compound in [-1, 1] and a label). The default is VADER made
brand-aware: the brand's own names and handles are masked before scoring.
"""

from sentiment.base import LABELS, Classifier, Score, Thresholds

__all__ = ["LABELS", "Classifier", "Score", "Thresholds"]
