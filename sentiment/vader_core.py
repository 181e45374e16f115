"""VADER 3.3.2's per-token scoring, re-entrant and faster, with two opt-in fixes.

:class:`Analyzer` computes exactly what ``SentimentIntensityAnalyzer`` computes
(tests prove it against stock on texts written for them), with three changes
that do not alter the arithmetic:

- per-call state is passed as arguments, never kept on the instance, so one
  analyzer is safe to call from several threads at once;
- the lower-cased token list is built once per text (stock rebuilds it up to
  four times for each sentiment word inside ``_negation_check`` and
  ``_special_idioms_check``: most of its run time on tweets);
- emoji become their descriptions through one ``str.translate`` instead of
  a character-by-character loop.

Two optional fixes (used by the default classifier, off here by default):
``scoped``: negation, including VADER's "no X", stops at a clause end
(. ! ? , ; :) and never flips an emoticon or emoji; ``negated_negative``: the
factor for a negated negative word (stock: -0.74, the same as for a positive).

This module re-implements private methods of vaderSentiment: the package is
pinned to 3.3.2 and a VADER upgrade must re-run the equivalence tests.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    C_INCR,
    N_SCALAR,
    NEGATE,
    SPECIAL_CASES,
    SentimentIntensityAnalyzer,
    SentiText,
    normalize,
    scalar_inc_dec,
)

__all__ = ["BOOSTER_DICT", "C_INCR", "NEGATE", "N_SCALAR", "Analyzer", "stock_lexicon", "stock_ratings"]

SCOPE_END = ".!?,;:"  # a token ending with one of these closes a negation scope
_NEGATE = frozenset(NEGATE)
_HAS_ALNUM = re.compile(r"[a-z0-9]").search


def _is_negation(word: str) -> bool:
    """vaderSentiment.negated([word]) for one lower-cased word."""
    return word in _NEGATE or "n't" in word


def stock_analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def stock_ratings(stock: SentimentIntensityAnalyzer) -> dict[str, tuple[int, ...]]:
    """The ten human ratings (-4 .. +4) behind each VADER lexicon entry, from its
    lexicon file (word, mean, standard deviation, ratings; tab-separated)."""
    ratings: dict[str, tuple[int, ...]] = {}
    # vaderSentiment 3.3.2 keeps the lexicon file's *content* under this name.
    for line in stock.lexicon_full_filepath.split("\n"):
        fields = line.rstrip().split("\t")
        if len(fields) >= 4 and fields[3].startswith("["):
            ratings[fields[0]] = tuple(int(r) for r in fields[3].strip("[]").split(","))
    return ratings


def stock_lexicon(stock: SentimentIntensityAnalyzer) -> tuple[dict[str, float], dict[str, str]]:
    """Copies of VADER's word lexicon and emoji descriptions (module data stays untouched)."""
    return dict(stock.lexicon), dict(stock.emojis)


class Analyzer:
    """Token valences and the compound score, as VADER 3.3.2 computes them.

    ``lexicon`` maps lower-case tokens to valences; ``emoji`` maps single
    characters to the text they become. Immutable after construction.
    """

    def __init__(
        self,
        lexicon: Mapping[str, float],
        emoji: Mapping[str, str],
        *,
        scoped: bool = False,
        negated_negative: float = N_SCALAR,
    ) -> None:
        self.lexicon = dict(lexicon)
        self.scoped = scoped
        self.negated_negative = negated_negative
        self._emoji_table = {ord(e): f" {d} " for e, d in emoji.items() if len(e) == 1}
        # VADER's helpers that read no per-call state are reused as they are.
        self._stock = SentimentIntensityAnalyzer.__new__(SentimentIntensityAnalyzer)
        self._stock.lexicon = self.lexicon

    def emoji_to_text(self, text: str) -> str:
        return text.translate(self._emoji_table).strip()

    def valences(
        self, text: str, fixed: frozenset[str] = frozenset()
    ) -> tuple[list[str], list[str], list[float]]:
        """``(tokens, lower-cased tokens, valence per token)`` of an emoji-free text.

        Tokens in ``fixed`` keep their lexicon valence as it is: no negation or
        booster from their neighbours (ALL-CAPS emphasis still applies).
        """
        sentitext = SentiText(text)
        words = sentitext.words_and_emoticons
        n = len(words)
        low = [w.lower() for w in words]
        sid: list[int] | None = None
        if self.scoped:
            ids, k = [], 0
            for raw in text.split():
                ids.append(k)
                if raw[-1] in SCOPE_END:
                    k += 1
            sid = ids if len(ids) == n else None  # VADER dropped a token: stay unscoped
        lexicon = self.lexicon
        sentiments: list[float] = []
        for i in range(n):
            word = low[i]
            if word in BOOSTER_DICT or word not in lexicon or (word == "kind" and i < n - 1 and low[i + 1] == "of"):
                sentiments.append(0)
            elif word in fixed:
                valence = lexicon[word]
                if words[i].isupper() and sentitext.is_cap_diff:
                    valence = valence + C_INCR if valence > 0 else valence - C_INCR
                sentiments.append(valence)
            else:
                sentiments.append(self._valence(sentitext, words[i], i, low, sid))
        return words, low, sentiments

    def but_check(self, words: list[str], sentiments: list[float]) -> list[float]:
        return self._stock._but_check(words, sentiments)  # type: ignore[no-any-return]

    def compound(self, total: float, text: str) -> float:
        """VADER's compound from the sum of token valences: "!"/"?" emphasis, then normalised."""
        if total > 0:
            total += self._stock._punctuation_emphasis(text)
        elif total < 0:
            total -= self._stock._punctuation_emphasis(text)
        return round(normalize(total), 4)

    def polarity(self, text: str) -> float:
        """The compound of a raw text, like ``polarity_scores(text)["compound"]``."""
        text = self.emoji_to_text(text)
        words, _low, sentiments = self.valences(text)
        if not sentiments:
            return 0.0
        return self.compound(float(sum(self.but_check(words, sentiments))), text)

    # --- vaderSentiment 3.3.2 internals, with the lower-cased tokens passed in ----------
    def _valence(self, sentitext: SentiText, item: str, i: int, low: list[str], sid: list[int] | None) -> float:
        """``SentimentIntensityAnalyzer.sentiment_valence`` for token ``i``; with ``sid``
        (clause ids) its "no X" negation also stops at a clause end."""
        is_cap_diff = sentitext.is_cap_diff
        words = sentitext.words_and_emoticons
        lexicon = self.lexicon
        item_lowercase = low[i]
        valence = lexicon[item_lowercase]
        if item_lowercase == "no" and i != len(low) - 1 and low[i + 1] in lexicon:
            valence = 0.0
        if (i > 0 and low[i - 1] == "no" and (sid is None or sid[i - 1] == sid[i])) \
                or (i > 1 and low[i - 2] == "no" and (sid is None or sid[i - 2] == sid[i])) \
                or (i > 2 and low[i - 3] == "no" and low[i - 1] in ["or", "nor"]
                    and (sid is None or sid[i - 3] == sid[i])):
            valence = lexicon[item_lowercase] * N_SCALAR
        if item.isupper() and is_cap_diff:
            if valence > 0:
                valence += C_INCR
            else:
                valence -= C_INCR
        for start_i in range(0, 3):
            if i > start_i and low[i - (start_i + 1)] not in lexicon:
                s = scalar_inc_dec(words[i - (start_i + 1)], valence, is_cap_diff)
                if start_i == 1 and s != 0:
                    s = s * 0.95
                if start_i == 2 and s != 0:
                    s = s * 0.9
                valence = valence + s
                valence = self._negation_check(valence, start_i, i, low, sid)
                if start_i == 2:
                    valence = self._special_idioms_check(valence, i, low)
        return self._stock._least_check(valence, words, i)  # type: ignore[no-any-return]

    def _negation_check(self, valence: float, start_i: int, i: int, low: list[str], sid: list[int] | None) -> float:
        if sid is not None:
            # A negator in an earlier clause does not negate ("..., not?! So frustrated"),
            # and an emoticon or emoji is never negated ("wasn't usable :/").
            if sid[i - (start_i + 1)] != sid[i] or not _HAS_ALNUM(low[i]) or low[i].startswith("emoji_"):
                return valence
        scalar = self.negated_negative if valence < 0 else N_SCALAR
        if start_i == 0:
            if _is_negation(low[i - 1]):
                valence = valence * scalar
        elif start_i == 1:
            if low[i - 2] == "never" and (low[i - 1] == "so" or low[i - 1] == "this"):
                valence = valence * 1.25
            elif low[i - 2] == "without" and low[i - 1] == "doubt":
                pass
            elif _is_negation(low[i - 2]):
                valence = valence * scalar
        elif start_i == 2:
            if low[i - 3] == "never" and (low[i - 2] == "so" or low[i - 2] == "this") or \
                    (low[i - 1] == "so" or low[i - 1] == "this"):
                valence = valence * 1.25
            elif low[i - 3] == "without" and (low[i - 2] == "doubt" or low[i - 1] == "doubt"):
                pass
            elif _is_negation(low[i - 3]):
                valence = valence * scalar
        return valence

    @staticmethod
    def _special_idioms_check(valence: float, i: int, low: list[str]) -> float:
        onezero = f"{low[i - 1]} {low[i]}"
        twoonezero = f"{low[i - 2]} {low[i - 1]} {low[i]}"
        twoone = f"{low[i - 2]} {low[i - 1]}"
        threetwoone = f"{low[i - 3]} {low[i - 2]} {low[i - 1]}"
        threetwo = f"{low[i - 3]} {low[i - 2]}"
        for seq in (onezero, twoonezero, twoone, threetwoone, threetwo):
            if seq in SPECIAL_CASES:
                valence = SPECIAL_CASES[seq]
                break
        n = len(low)
        if n - 1 > i:
            zeroone = f"{low[i]} {low[i + 1]}"
            if zeroone in SPECIAL_CASES:
                valence = SPECIAL_CASES[zeroone]
        if n - 1 > i + 1:
            zeroonetwo = f"{low[i]} {low[i + 1]} {low[i + 2]}"
            if zeroonetwo in SPECIAL_CASES:
                valence = SPECIAL_CASES[zeroonetwo]
        for n_gram in (threetwoone, threetwo, twoone):
            if n_gram in BOOSTER_DICT:
                valence = valence + BOOSTER_DICT[n_gram]
        return valence
