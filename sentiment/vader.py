"""VADER classifiers: customer-service-aware (the default, ``vader``) and stock
(``vader-stock``, for comparison).

``vader`` scores a text in these steps; each is a named feature that the
library can switch off (``features=``) to measure what it contributes:

normalise      entities unescaped, quotes straightened, URLs dropped, glued words split
mask_brands    configured brand names and handles -> a placeholder that scores 0
mask_handles   any other @handle -> the same placeholder (a handle is a name)
cs_phrases     customer-service phrases -> one token with a fixed valence ("on hold",
               "still no reply", "thanks for nothing"; :data:`sentiment.lexicon.PHRASES`)
cs_emoji       emoji whose VADER description misleads -> tokens with a valence
agreement      a VADER word that at least 2 of its 10 raters rated neutral or of the
               other polarity has a second, neutral sense ("god", "well", "top",
               "play"): its valence is scaled by the share of raters who agree on
               its polarity (VADER's mean alone still counts it as sentiment)
cs_words       customer-service word valences (delays, refunds, "please" -> 0, ...)
scope          negation stops at a clause end and never flips an emoticon
asym_negation  a negated negative word scores x-0.4, not x-0.74 ("not bad" is not "good")
like_verb, sarcasm, laughter, courtesy, neg_dominance, questions: see :mod:`sentiment.rules`

Masking, lexicon and phrases are applied once at construction; every regex is
compiled once. An instance holds no per-call state, so one instance is safe to
share between threads, and it pickles as its constructor arguments (a worker
process rebuilds it). vaderSentiment is imported on first construction, not at
import: commands that never classify do not pay for it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from sentiment import lexicon as _lex
from sentiment import rules as _rules
from sentiment import text as _text
from sentiment.base import Score, Thresholds
from sentiment.text import TextPreparer

ENGLISH = frozenset({"en"})

FEATURES = frozenset({
    "normalise", "mask_brands", "mask_handles", "agreement", "cs_phrases", "cs_emoji", "cs_words",
    "scope", "asym_negation", *_rules.RULES,
})
NEGATED_NEGATIVE = -0.4  # asym_negation: factor for a negated negative word (VADER: -0.74)
MIN_DISSENT = 2  # agreement: raters (of 10) rating a word neutral or opposite before it is scaled
_PHRASE_PREFIX = "cs_"


def _lexicon_digest() -> str:
    """Changes whenever the lexicon data or the rule constants change."""
    data = repr((
        sorted(_lex.WORDS.items()), _lex.PHRASES, sorted(_lex.EMOJI.items()), sorted(_lex.COURTESY),
        sorted(_lex.SARCASM_CUES), sorted(_lex.REMEDIES), sorted(_lex.REMEDY_PAIRS), sorted(_lex.REMEDY_BLOCKERS),
        sorted(_lex.LAUGHTER),
        NEGATED_NEGATIVE, MIN_DISSENT, _rules.DOMINANCE, _rules.FLIP,
        _rules.QUESTION_DAMPING, sorted(_rules.LIKE_SUBJECTS), sorted(_rules.CONTRAST),
        _rules.RULES, _rules.HEDGE, sorted(_rules.HEDGES), sorted(_rules.SENTENCE_OPENERS),
        sorted(_rules.CLAUSE_END), sorted(_rules.GREETINGS),
        _text._ESCAPE.pattern, _text._URL.pattern, _text._GLUED.pattern,
    ))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:8]


class StockVaderClassifier:
    """vaderSentiment exactly as shipped: no masking, no preparation."""

    name: ClassVar[str] = "vader-stock"
    version: ClassVar[str] = "vaderSentiment-3.3.2"
    #: VADER's own recommended cut-offs.
    default_thresholds: ClassVar[Thresholds] = Thresholds(0.05, -0.05)
    languages: ClassVar[frozenset[str]] = ENGLISH

    def __init__(self, thresholds: Thresholds | None = None, brand_terms: Sequence[str] = ()) -> None:
        # Imported here: loading the lexicon costs time that commands which
        # never classify should not pay.
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self.thresholds = thresholds or self.default_thresholds
        self.brand_terms = tuple(brand_terms)
        # polarity_scores keeps no state between calls: safe to share between threads.
        self._polarity = SentimentIntensityAnalyzer().polarity_scores

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.thresholds, self.brand_terms))

    def polarity(self, text: str) -> float:
        return float(self._polarity(text)["compound"])

    def score(self, text: str) -> Score:
        compound = self.polarity(text)
        return Score(compound, self.thresholds.label(compound))

    def score_many(self, texts: Iterable[str]) -> list[Score]:
        return [self.score(text) for text in texts]


class VaderClassifier:
    """VADER made right for brand mentions: masking, a customer-service lexicon
    layer and context rules (see the module docstring)."""

    name: ClassVar[str] = "vader"
    version: ClassVar[str] = "2." + _lexicon_digest()
    #: One word of valence >= ~1.5 ("like", "good") makes a message positive, one of
    #: valence <= ~-0.4 negative: politeness and incidental praise are common in
    #: complaints, incidental negative words are rare.
    default_thresholds: ClassVar[Thresholds] = Thresholds(0.35, -0.10)
    languages: ClassVar[frozenset[str]] = ENGLISH

    def __init__(
        self,
        thresholds: Thresholds | None = None,
        brand_terms: Sequence[str] = (),
        features: Iterable[str] | None = None,
    ) -> None:
        from sentiment import vader_core

        self.thresholds = thresholds or self.default_thresholds
        self.brand_terms = tuple(brand_terms)
        self.features = FEATURES if features is None else frozenset(features)
        unknown = self.features - FEATURES
        if unknown:
            raise ValueError(f"unknown features: {', '.join(sorted(unknown))}")
        on = self.features
        if on != FEATURES:  # scores differ from the default's: say so in the audit trail
            self.version = f"{type(self).version}-{'+'.join(sorted(on)) or 'bare'}"

        stock = vader_core.stock_analyzer()
        lex, emoji = vader_core.stock_lexicon(stock)
        # word -> (stock valence, raters agreeing on its polarity, raters), for explain()
        self._scaled: dict[str, tuple[float, int, int]] = {}
        if "agreement" in on:
            for word, ratings in vader_core.stock_ratings(stock).items():
                valence = lex.get(word, 0.0)
                agree = sum(1 for r in ratings if r * valence > 0)
                if valence and len(ratings) - agree >= MIN_DISSENT:
                    self._scaled[word] = (valence, agree, len(ratings))
                    lex[word] = valence * agree / len(ratings)
        self._why: dict[str, tuple[float, str]] = {}  # token -> (valence, why), for explain()
        self._neutralised: dict[str, tuple[float, str]] = {}  # word -> (stock valence, why)
        if "cs_words" in on:
            for word, (valence, why) in _lex.WORDS.items():
                if valence == 0.0 and word in lex:
                    self._neutralised[word] = (lex[word], why)
                lex[word] = valence
                self._scaled.pop(word, None)  # the customer-service valence is deliberate
                self._why[word] = (valence, why)
        rewrites: list[tuple[str, str]] = []
        if "cs_phrases" in on:
            for name, rx, valence, why in _lex.PHRASES:
                lex[_PHRASE_PREFIX + name] = valence
                self._why[_PHRASE_PREFIX + name] = (valence, why)
                rewrites.append((_PHRASE_PREFIX + name, rx))
        if "cs_emoji" in on:
            for char, (token, valence, why) in _lex.EMOJI.items():
                emoji[char] = token
                lex[token] = valence
                self._why[token] = (valence, why)
        # A 0.0 entry means "carries no valence": removed rather than stored as 0, so
        # VADER treats the word like any neutral word in its negation/booster windows.
        lex = {w: v for w, v in lex.items() if v != 0.0}
        self._prepare = TextPreparer(
            self.brand_terms, normalise="normalise" in on,
            mask_brands="mask_brands" in on, mask_handles="mask_handles" in on, rewrites=rewrites,
        )
        lex.pop(self._prepare.placeholder, None)  # a masked name never carries valence
        self._analyzer = vader_core.Analyzer(
            lex, emoji, scoped="scope" in on,
            negated_negative=NEGATED_NEGATIVE if "asym_negation" in on else vader_core.N_SCALAR,
        )
        # A phrase token carries its context with it: no negation or booster from neighbours.
        self._fixed = frozenset(t for t in lex if t.startswith(_PHRASE_PREFIX))
        self._rules = _rules.RuleSet(
            enabled=on & frozenset(_rules.RULES),
            failures=frozenset(t for t, (v, _why) in self._why.items() if v <= -1.0),
            courtesy=frozenset(_lex.COURTESY),
            sarcasm_cues=frozenset(_lex.SARCASM_CUES),
            remedies=frozenset(_lex.REMEDIES),
            remedy_pairs=frozenset(_lex.REMEDY_PAIRS),
            remedy_blockers=frozenset(_lex.REMEDY_BLOCKERS),
            request_token=_PHRASE_PREFIX + "please_help",
            placeholder=self._prepare.placeholder,
            phrase_prefix=_PHRASE_PREFIX,
            laughter=frozenset(_lex.LAUGHTER),
        )

    def __reduce__(self) -> tuple[Any, ...]:
        features = None if self.features == FEATURES else sorted(self.features)
        return (type(self), (self.thresholds, self.brand_terms, features))

    def polarity(self, text: str) -> float:
        """The compound score in [-1, 1]."""
        return self._score(text, None)

    def score(self, text: str) -> Score:
        compound = self._score(text, None)
        return Score(compound, self.thresholds.label(compound))

    def score_many(self, texts: Iterable[str]) -> list[Score]:
        return [self.score(text) for text in texts]

    def explain(self, text: str) -> dict[str, Any]:
        """Why a text got its score: what was masked, which phrases and lexicon entries
        matched (each with its reason), which words were neutralised, which rules fired."""
        trace: dict[str, Any] = {"replaced": [], "rules": []}
        compound = self._score(text, trace)
        replaced = trace["replaced"]
        tokens = trace.get("tokens", [])
        seen = dict.fromkeys(w.lower() for w in trace.get("words", []))
        return {
            "classifier": f"{self.name}/{self.version}",
            "compound": compound,
            "label": self.thresholds.label(compound),
            "thresholds": {"positive": self.thresholds.positive, "negative": self.thresholds.negative},
            "masked": [{"kind": kind, "text": original} for kind, original, _ in replaced if kind != "phrase"],
            "phrases": [
                {"text": original, "token": token.lower(), "valence": self._why[token.lower()][0],
                 "why": self._why[token.lower()][1]}
                for kind, original, token in replaced if kind == "phrase"
            ],
            "scored_text": trace.get("text", ""),
            "token_valences": tokens,
            "lexicon_hits": [
                {"token": t, "valence": self._why[t.lower()][0], "why": self._why[t.lower()][1]}
                for t, _v in tokens if t.lower() in self._why and not t.lower().startswith(_PHRASE_PREFIX)
            ],
            "neutralised_words": [
                {"word": w, "stock_valence": self._neutralised[w][0], "why": self._neutralised[w][1]}
                for w in seen if w in self._neutralised
            ],
            "rules": [{"rule": rule, "detail": detail} for rule, detail in trace["rules"]],
        }

    def _score(self, text: str, trace: dict[str, Any] | None) -> float:
        analyzer = self._analyzer
        prepared = self._prepare.prepare(text, trace["replaced"] if trace is not None else None)
        prepared = analyzer.emoji_to_text(prepared)
        words, low, sentiments = analyzer.valences(prepared, self._fixed)
        if not any(sentiments):  # no word carries a valence: the rules cannot change that
            if trace is not None:
                trace.update(text=prepared, words=words, tokens=[])
            return 0.0
        rule_trace = trace["rules"] if trace is not None else None
        _rules.apply(self._rules, words, low, sentiments, prepared, rule_trace)
        sentiments = analyzer.but_check(low, sentiments)
        total = float(sum(sentiments))
        total *= _rules.question_factor(self._rules, low, total, prepared, rule_trace)
        if trace is not None:
            trace["text"] = prepared
            trace["words"] = words
            trace["tokens"] = [(w, round(s, 3)) for w, s in zip(words, sentiments) if s]
            counted = dict.fromkeys(w.lower() for w, s in zip(words, sentiments) if s)
            scaled = [(w, *self._scaled[w]) for w in counted if w in self._scaled]
            trace["rules"][:0] = [
                ("agreement", f"'{w}' {v:+} x{a / n:g}: {a} of VADER's {n} raters gave it this polarity")
                for w, v, a, n in scaled
            ]
        return analyzer.compound(total, prepared)
