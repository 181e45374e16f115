"""Which language a mention is in, and whether the classifier can score it.

The platform's language tag is used when it gives one (X, Mastodon, Bluesky
do). Otherwise the text is identified with py3langid (its model ships inside
the package: no download), and only when needed, since identification costs
about as much as scoring:

1. a text using two or more distinct common English function words is taken as
   English without running the detector (when English is supported);
2. a text with fewer than :data:`MIN_LETTERS` letters (handles and URLs aside)
   is too short to tell: it is scored;
3. otherwise a text is *unsupported* only when the detector gives all the
   supported languages together a probability below :data:`MAX_SUPPORTED_PROB`:
   the question asked is "could this be English?", not "which language is
   most likely?", so an English tweet full of names is not thrown out.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Sequence
from typing import Any, NamedTuple

from sentiment.labels import UNSUPPORTED

#: Below this many letters a text is scored whatever its language.
MIN_LETTERS = 20
#: A text is unsupported only if the supported languages together are less likely than this.
MAX_SUPPORTED_PROB = 0.01
#: Detected languages are stored when at least this likely.
MIN_STORED_PROB = 0.5
# Platform tags that name no language: undetermined, no linguistic content, and X's
# media-only / hashtags-only / mentions-only / cashtags-only markers.
_NO_LANGUAGE = frozenset({"", "und", "zxx", "mul", "mis", "qme", "qht", "qam", "qct", "qst"})
# Function words frequent in English and rare as whole words in other languages
# ("a", "i", "to", "on", "me", "in", "is", "was", "die" are left out for that reason).
_FUNCTION_WORDS = {
    "en": frozenset((
        "the and you your my for with this that are have has it's i'm don't what just been "
        "they will would can't we our from about there their when why how"
    ).split()),
}
_CLEAN = re.compile(r"(?:https?://|www\.)\S+|(?<![\w@])@[\w.]*\w")
_NOT_LETTER = re.compile(r"[\W\d_]+")


def primary(tag: str | None) -> str | None:
    """The language of a BCP-47 tag ("en-GB" -> "en"), or None for tags naming none."""
    if not tag:
        return None
    code = tag.strip().replace("_", "-").split("-")[0].lower()
    return None if code in _NO_LANGUAGE else code


class Classified(NamedTuple):
    """What was decided about one text."""

    lang: str | None  # the language to store: the platform's, else detected, else None
    compound: float | None  # None when the language is unsupported
    label: str
    detected: bool = False  # ``lang`` is the detector's (or the function words'), not the platform's


class LanguageGate:
    """Decides the language to store for a text and whether it can be scored.

    ``supported`` is the classifier's set of ISO 639-1 codes (``None``: any
    language, nothing is detected). With ``detect=False`` only the platform's
    tag counts. Safe to share between threads; the detector's model (about
    0.8 s to load) is loaded on first need, once per process.
    """

    def __init__(self, supported: frozenset[str] | None, detect: bool = True) -> None:
        self.supported = supported
        self.detect = detect and supported is not None
        self._function_words = [
            (lang, _FUNCTION_WORDS[lang]) for lang in sorted(supported or ()) if lang in _FUNCTION_WORDS
        ]

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.supported, self.detect))

    def load(self) -> None:
        """Load the detector now if it may be needed (e.g. before forking worker
        processes, which then share its memory instead of each loading a copy)."""
        if self.detect:
            _identifier()

    def classify(self, classifier: Any, texts: Sequence[str], langs: Sequence[str | None]) -> list[Classified]:
        """Language and score per text (``langs``: the platform's tags, or None); texts
        in a language ``classifier`` does not support are "unsupported", not scored."""
        decisions = [self.decision(t, lang) for t, lang in zip(texts, langs, strict=True)]
        scores = iter(classifier.score_many([t for t, (_, ok, _) in zip(texts, decisions) if ok]))
        out = []
        for lang, ok, detected in decisions:
            if ok:
                score = next(scores)
                out.append(Classified(lang, score.compound, score.label, detected))
            else:
                out.append(Classified(lang, None, UNSUPPORTED, detected))
        return out

    def decide(self, text: str, given: str | None = None) -> tuple[str | None, bool]:
        """``(language to store, can be scored)`` for a text and the platform's tag."""
        lang, ok, _ = self.decision(text, given)
        return lang, ok

    def decision(self, text: str, given: str | None = None) -> tuple[str | None, bool, bool]:
        """:meth:`decide`, and whether the language to store was detected (``False``: it is
        ``given``, the platform's tag as it came, or None)."""
        lang = primary(given)
        if lang is not None:
            return given, self.supported is None or lang in self.supported, False
        if not self.detect:
            return given, True, False
        assert self.supported is not None
        low = text.lower()
        words = set(low.split())
        for code, function_words in self._function_words:
            if len(function_words.intersection(words)) >= 2:
                return code, True, True
        cleaned = _CLEAN.sub(" ", text)
        if len(_NOT_LETTER.sub("", cleaned)) < MIN_LETTERS:
            return given, True, False
        identifier = _identifier()
        top, probability = identifier.classify(cleaned)
        if top in self.supported:
            return (top, True, True) if probability >= MIN_STORED_PROB else (given, True, False)
        ranked = identifier.rank(cleaned)
        if sum(p for code, p in ranked if code in self.supported) < MAX_SUPPORTED_PROB:
            return top, False, True
        return given, True, False  # could still be a supported language: score it


_LOAD_LOCK = threading.Lock()


@functools.cache
def _identifier() -> Any:
    """py3langid's model, loaded once per process (read-only afterwards)."""
    with _LOAD_LOCK:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
