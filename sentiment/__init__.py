"""Sentiment classifiers for brand mentions.

A plain library: ``Classifier`` implementations turn texts into a
:class:`Score` (compound in [-1, 1] and a label). The default (``vader``) is
VADER made right for brand mentions: names and handles masked, a
customer-service lexicon layer and context rules (:mod:`sentiment.vader`).
:mod:`sentiment.language` decides which texts a classifier can score,
:mod:`sentiment.evaluate` measures classifiers on labelled data.
"""

from typing import Any

__all__ = ["LABELS", "UNSUPPORTED", "Classifier", "Score", "Thresholds"]


def __getattr__(name: str) -> Any:
    # Re-exported on first use: importing a submodule (sentiment.labels) stays cheap.
    if name in __all__:
        from sentiment import base

        return getattr(base, name)
    raise AttributeError(f"module 'sentiment' has no attribute {name!r}")
