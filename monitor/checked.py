"""The application's side of the classifier contract: scores are checked as a
classifier gives them, so a plugin's bug is one error naming it, never a
traceback in the middle of an import nor a garbage row (a NaN compound, a label
no command counts)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Real
from typing import Any

from monitor import plugins
from monitor.errors import MonitorError
from sentiment.base import LABELS, UNSUPPORTED, Score


class CheckedClassifier:
    """A classifier as the application uses it: ``score_many`` gives one :class:`Score`
    per text, each compound a finite float in [-1, 1] and each label one of
    ``LABELS`` (or ``UNSUPPORTED``, stored without a compound), else a
    :class:`MonitorError` naming the plugin. Other attributes are the classifier's;
    it pickles as the classifier does, for worker processes."""

    def __init__(self, classifier: Any, registered: str) -> None:
        self.classifier = classifier
        self.registered = registered
        for attr in ("name", "version"):
            if not isinstance(getattr(classifier, attr, None), str) or not getattr(classifier, attr):
                raise MonitorError(
                    f"{self._who()} has no {attr}: a classifier needs name and version strings"
                    f" (see {plugins.GUIDE[plugins.CLASSIFIERS]} in the README)"
                )

    def __getattr__(self, attr: str) -> Any:  # what the application reads: name, version, languages, ...
        return getattr(self.__dict__["classifier"], attr)

    def _who(self) -> str:
        return plugins.describe(plugins.CLASSIFIERS, self.registered)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.classifier, self.registered))

    def score(self, text: str) -> Score:
        return self.score_many([text])[0]

    def score_many(self, texts: Iterable[str]) -> list[Score]:
        texts = texts if isinstance(texts, list) else list(texts)
        with plugins.blamed(plugins.CLASSIFIERS, self.registered, "failed to score"):
            scores = self.classifier.score_many(texts)
            scores = scores if isinstance(scores, list) else list(scores)
        if len(scores) != len(texts):
            raise MonitorError(f"{self._who()} gave {len(scores)} scores for {len(texts)} texts")
        for i, score in enumerate(scores):
            # The common case in one test (a Score of a float in range: NaN fails it too).
            if not (type(score) is Score and type(score.compound) is float  # noqa: E721 - exact types
                    and -1.0 <= score.compound <= 1.0 and score.label in LABELS):
                scores[i] = self._checked(score, texts[i])
        return scores

    def _checked(self, score: Any, text: str) -> Score:
        """``score`` as a Score of a float (a numpy number, a look-alike record), or the error."""
        label, compound = getattr(score, "label", None), getattr(score, "compound", None)
        if label == UNSUPPORTED:
            return Score(None, UNSUPPORTED)  # type: ignore[arg-type] # as the language gate stores it
        if not hasattr(score, "label") or not hasattr(score, "compound"):
            problem = f"a {type(score).__name__}, not a Score"
        elif label not in LABELS:
            problem = f"the label {label!r} (labels: {', '.join(LABELS)}, {UNSUPPORTED})"
        elif not isinstance(compound, Real) or isinstance(compound, bool) or not math.isfinite(compound):
            problem = f"the compound {compound!r} (a number in [-1, 1])"
        elif not -1.0 <= compound <= 1.0:
            problem = f"the compound {compound!r}, outside [-1, 1]"
        else:
            return Score(float(compound), label)
        shown = text if len(text) <= 60 else text[:59] + "…"
        raise MonitorError(f"{self._who()} gave {problem} for the text {shown!r}")
