"""VADER 3.3.2's per-token scoring, re-entrant and faster, with two opt-in fixes.

:class:`Analyzer` computes exactly what ``SentimentIntensityAnalyzer`` computes
(tests prove it against stock on texts written for them), with three changes
that do not alter the arithmetic:

- per-call state is passed as arguments, never kept on the instance, so one
  analyzer is safe to call from several threads at once;
- the lower-cased token list is built once per text (stock rebuilds it up to
  four times for each sentiment word inside ``_negation_check`` and
  ``_special_idioms_check``: most of its run time on tweets);
- emoji become their descriptions through ``str.translate`` (of the text's
  non-ASCII runs when there are few) instead of a character-by-character
  loop (none at all for an ASCII text);
- only tokens in the lexicon are examined (most tokens of a text are not),
  and a text without one is worth 0 at once; one with no negation, booster,
  "no", "least", "so" or "this" in the three tokens before it keeps its
  lexicon valence without VADER's windows of no-op checks (half of them);
- the tokens of an ASCII text are lower-cased in one call, not one per token;
- "but" weighting is skipped when there is no "but".

Two optional fixes (used by the default classifier, off here by default):
``scoped``: negation, including VADER's "no X", stops at a clause end
(. ! ? , ; :) and never flips an emoticon or emoji; ``negated_negative``: the
factor for a negated negative word (stock: -0.74, the same as for a positive).

This module re-implements private methods of vaderSentiment: the package is
pinned to 3.3.2 and a VADER upgrade must re-run the equivalence tests.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping

from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    C_INCR,
    N_SCALAR,
    NEGATE,
    SPECIAL_CASES,
    SentimentIntensityAnalyzer,
    normalize,
)

__all__ = ["BOOSTER_DICT", "C_INCR", "NEGATE", "N_SCALAR", "Analyzer", "stock_lexicon", "stock_ratings"]

SCOPE_END = ".!?,;:"  # a token ending with one of these closes a negation scope
_NEGATE = frozenset(NEGATE)
_HAS_ALNUM = re.compile(r"[a-z0-9]").search
_NON_ASCII_RUNS = re.compile(r"[^\x00-\x7f]+").sub
_FEW_NON_ASCII = 8  # up to this many non-ASCII characters, emoji_to_text translates runs
_PUNCTUATION = string.punctuation  # what SentiText strips from the ends of a token
# Every word of VADER's multi-word idioms and booster phrases (what _special_idioms_check looks up).
_IDIOM_WORDS = frozenset(w for phrase in [*SPECIAL_CASES, *BOOSTER_DICT] if " " in phrase for w in phrase.split())
# Every token that can change a sentiment word's valence from the three tokens before it,
# idioms aside: negations (and "n't", looked for apart), boosters, "no", "least" and what
# _negation_check reads ("so", "this"). A sentiment word with none of them there (nor
# "no" itself) keeps its lexicon valence, caps emphasis and idioms aside.
_CONTEXT = _NEGATE | frozenset(BOOSTER_DICT) | {"no", "least", "so", "this"}


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
        # An ASCII text holds no emoji when every emoji is outside ASCII (VADER's are).
        self._ascii_has_no_emoji = all(code > 127 for code in self._emoji_table)
        # The tokens that can carry a valence: in the lexicon and not a booster word.
        self._scorable = frozenset(self.lexicon) - frozenset(BOOSTER_DICT)
        # VADER's helpers that read no per-call state are reused as they are.
        self._stock = SentimentIntensityAnalyzer.__new__(SentimentIntensityAnalyzer)
        self._stock.lexicon = self.lexicon

    def emoji_to_text(self, text: str) -> str:
        if not self._ascii_has_no_emoji:
            return text.translate(self._emoji_table).strip()
        if text.isascii():
            return text.strip()
        # Only non-ASCII characters can change. When there are few (a curly quote, an
        # emoji), translating those runs alone is the same text at half the cost of a
        # lookup per character; with many (a Cyrillic text, a row of emoji) the callback
        # per run costs more than that, so the whole text is translated.
        if len(text) - len(text.encode("ascii", "ignore")) > _FEW_NON_ASCII:
            return text.translate(self._emoji_table).strip()
        return _NON_ASCII_RUNS(self._translate_run, text).strip()

    def _translate_run(self, match: re.Match[str]) -> str:
        return match.group().translate(self._emoji_table)

    def valences(
        self, text: str, fixed: frozenset[str] = frozenset()
    ) -> tuple[list[str], list[str], list[float]]:
        """``(tokens, lower-cased tokens, valence per token)`` of an emoji-free text.

        Tokens in ``fixed`` keep their lexicon valence as it is: no negation or
        booster from their neighbours (ALL-CAPS emphasis still applies).
        """
        raw = text.split()
        # SentiText's tokens: punctuation stripped from both ends unless that leaves
        # two characters or fewer (an emoticon such as ":)" stays whole).
        words = [token if len(stripped := token.strip(_PUNCTUATION)) <= 2 else stripped for token in raw]
        n = len(words)
        if n and text.isascii():
            # One lower() of the joined tokens (none holds a space) instead of one per
            # token: the same for ASCII, where lower() maps each character alone.
            joined: str | None = " ".join(words).lower()
            low = joined.split(" ")
        else:
            low = [w.lower() for w in words]
            joined = None  # joined below, only for a text with a sentiment word
        sentiments: list[float] = [0] * n
        scorable = self._scorable
        if scorable.isdisjoint(low):
            return words, low, sentiments
        hits = [i for i, word in enumerate(low) if word in scorable]
        capitals = sum(map(str.isupper, words))
        plain = "n't" not in (joined or " ".join(low))  # no "n't" negation anywhere: _CONTEXT alone decides
        is_cap_diff = 0 < n - capitals < n  # VADER's allcap_differential
        sid: list[int] | None = None  # clause ids (scoped), made for the first word that needs them
        lexicon = self.lexicon
        for i in hits:
            word = low[i]
            if word == "kind" and i < n - 1 and low[i + 1] == "of":
                continue
            if (is_fixed := word in fixed) or (
                _CONTEXT.isdisjoint(before := low[i - 3 if i > 3 else 0 : i + 1])
                and (plain or "n't" not in " ".join(before))
            ):
                # A fixed token, or nothing before it can change it: its lexicon valence
                # and caps emphasis (and for the latter idioms), what _valence computes
                # without its windows of no-ops (half of all sentiment words).
                valence = lexicon[word]
                if is_cap_diff and words[i].isupper():
                    valence = valence + C_INCR if valence > 0 else valence - C_INCR
                if not is_fixed and i > 2 and low[i - 3] not in lexicon \
                        and not _IDIOM_WORDS.isdisjoint(low[i - 3 : i + 3]):
                    valence = self._special_idioms_check(valence, i, low)
                sentiments[i] = valence
            else:
                if sid is None and self.scoped:
                    sid, k = [], 0
                    for token in raw:
                        sid.append(k)
                        if token[-1] in SCOPE_END:
                            k += 1
                sentiments[i] = self._valence(words, is_cap_diff, i, low, sid)
        return words, low, sentiments

    def but_check(self, low: list[str], sentiments: list[float]) -> list[float]:
        """VADER's "but" weighting (``low``: the lower-cased tokens)."""
        if "but" not in low:
            return sentiments
        return self._stock._but_check(low, sentiments)  # type: ignore[no-any-return]

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
        _words, low, sentiments = self.valences(text)
        if not any(sentiments):
            return 0.0
        return self.compound(float(sum(self.but_check(low, sentiments))), text)

    # --- vaderSentiment 3.3.2 internals, with the lower-cased tokens passed in ----------
    def _valence(self, words: list[str], is_cap_diff: bool, i: int, low: list[str], sid: list[int] | None) -> float:
        """``SentimentIntensityAnalyzer.sentiment_valence`` for token ``i``; with ``sid``
        (clause ids) its "no X" negation also stops at a clause end."""
        item = words[i]
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
            j = i - (start_i + 1)
            if i > start_i and low[j] not in lexicon:
                s = 0.0  # vaderSentiment.scalar_inc_dec, with the lower-cased token at hand
                if low[j] in BOOSTER_DICT:
                    s = BOOSTER_DICT[low[j]]
                    if valence < 0:
                        s *= -1
                    if words[j].isupper() and is_cap_diff:
                        if valence > 0:
                            s += C_INCR
                        else:
                            s -= C_INCR
                if start_i == 1 and s != 0:
                    s = s * 0.95
                if start_i == 2 and s != 0:
                    s = s * 0.9
                valence = valence + s
                valence = self._negation_check(valence, start_i, i, low, sid)
                if start_i == 2:
                    valence = self._special_idioms_check(valence, i, low)
        # SentimentIntensityAnalyzer._least_check
        if i > 1 and low[i - 1] not in lexicon and low[i - 1] == "least":
            if low[i - 2] != "at" and low[i - 2] != "very":
                valence = valence * N_SCALAR
        elif i > 0 and low[i - 1] not in lexicon and low[i - 1] == "least":
            valence = valence * N_SCALAR
        return valence

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
        if _IDIOM_WORDS.isdisjoint(low[i - 3 : i + 3]):
            return valence  # no idiom or booster phrase can match: none has a word here
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
