"""Which brand a mention is about, and whether it is noise to drop; the term
matching that brands and complaint themes share.

A *term* is a word or phrase matched case-insensitively as a whole word (runs
of spaces alike, an optional leading ``@`` or ``#``): "@acme" does not match
"@acmesupport", "refund" does not match "refunded". Where wildcards are
allowed (theme keywords), a trailing ``*`` matches any word ending:
"refund*" matches refund, refunds, refunded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from connectors.matching import term_regex
from monitor.config import BrandConfig
from sentiment.text import group_by_first_char, term_key

# A "@" or "#" just before a term belongs to its word: "acme" matches "@acme" and "#acme"
# but not the address "x@acme.com" (a feed filter's terms, connectors.matching.text_matcher, do).
_LEFT = r"(?<![\w@#])[@#]?"
_RIGHT = r"(?!\w)"


def _branches(terms: Iterable[str], wildcards: bool) -> list[str]:
    cleaned = sorted({t.strip().lower() for t in terms if t.strip().strip("*")}, key=len, reverse=True)
    return [term_regex(t, wildcard=wildcards) for t in cleaned]


def term_pattern(terms: Iterable[str], *, wildcards: bool = False) -> re.Pattern[str] | None:
    """One regex that finds any of ``terms`` (``None`` for no terms); longest first."""
    branches = _branches(terms, wildcards)
    if not branches:
        return None
    return re.compile(rf"{_LEFT}(?:{'|'.join(branches)}){_RIGHT}", re.IGNORECASE)


class TermSets:
    """Which of several named sets of terms a text contains, in one regex pass.

    Every word start is tried (a zero-width lookahead), so terms inside a
    longer match are found too, and a term shared by several sets counts
    for each. Names come back in the order the sets were given.
    """

    def __init__(self, sets: Mapping[str, Iterable[str]], *, wildcards: bool = True) -> None:
        self._order = {name: i for i, name in enumerate(sets)}
        self._exact: dict[str, set[str]] = {}
        wild: dict[str, set[str]] = {}
        every: list[str] = []
        for name, terms in sets.items():
            for term in terms:
                key = term_key(term)
                if not key.strip("*"):
                    continue
                every.append(key)
                if wildcards and key.endswith("*"):
                    wild.setdefault(key, set()).add(name)
                else:
                    self._exact.setdefault(key, set()).add(name)
        # "refund*" matches a phrase that is "refund" plus the rest of a word: looked up
        # by the phrase's prefixes of each wildcard's length, not by a regex per wildcard.
        self._wild = {k.rstrip("*"): names for k, names in wild.items()}
        self._wild_lengths = sorted({len(k) for k in self._wild})
        # Matched on the lower-cased text, branches grouped by their first character:
        # five times faster than one case-insensitive alternation (bench/themes.py).
        branches = _branches(every, wildcards)
        self._pattern = (
            re.compile(rf"(?<![\w@#])(?=[@#]?((?:{group_by_first_char(branches)})){_RIGHT})")
            if branches else None
        )

    def find(self, text: str) -> list[str]:
        """The names of the sets with a term in ``text``."""
        if self._pattern is None:
            return []
        found: set[str] = set()
        for match in self._pattern.finditer(text.lower()):
            words = match.group(1).split()
            # The alternation reports the first (longest) term at this position;
            # shorter terms that also match here are its leading words.
            for n in range(len(words), 0, -1):
                phrase = " ".join(words[:n])
                found |= self._exact.get(phrase, set())
                for length in self._wild_lengths:
                    if length > len(phrase):
                        break
                    names = self._wild.get(phrase[:length])
                    if names and " " not in phrase[length:]:
                        found |= names
        return sorted(found, key=self._order.__getitem__)


#: Platforms whose user names a brand's ``handles`` are ("@acme" is an X account): a post
#: there by one of them is the brand's own, not a mention (:meth:`BrandMatcher.assign`).
OWN_POST_PLATFORMS = frozenset({"x"})


class BrandMatcher:
    """Assigns brands by their configured names, keywords and handles."""

    def __init__(self, brands: Sequence[BrandConfig]) -> None:
        self._brands = [
            (b, term_pattern([b.name, *b.keywords, *b.handles]), term_pattern(b.exclude)) for b in brands
        ]
        self._by_name = {b.name.lower(): b for b in brands}
        self._by_handle = {h.lower().lstrip("@"): b for b in brands for h in b.handles if h.lstrip("@")}

    def assign(
        self, text: str, brand: str | None = None, author: str | None = None, platform: str | None = None,
    ) -> tuple[str | None, bool]:
        """Return ``(brand, excluded)`` for a text.

        With a known ``brand`` (the source's, or the record's), only its
        exclusions apply. Otherwise the first configured brand the text names
        and does not exclude wins; ``excluded`` is true when brands were named
        but every one of them was excluded (e.g. "the Acme anvil").

        On a platform whose user names the ``handles`` are (:data:`OWN_POST_PLATFORMS`:
        X), an ``author`` that is one of a brand's own handles ("@" or not, any case)
        makes a post about that brand, or about none, that brand's own: excluded, as
        X's ``-from:`` query leaves it out. Its post about another brand (a competitor's
        account naming us) is a mention like any other.
        """
        assigned, excluded = self._assign(text, brand)
        own = self._by_handle.get(author.lower().lstrip("@")) if author and platform in OWN_POST_PLATFORMS else None
        if own is not None and (assigned is None or assigned == own.name):
            return own.name, True
        return assigned, excluded

    def _assign(self, text: str, brand: str | None) -> tuple[str | None, bool]:
        if brand is not None:
            config = self._by_name.get(brand.lower())
            if config is None:
                return brand, False
            exclude = next(e for b, _, e in self._brands if b is config)
            return config.name, bool(exclude and exclude.search(text))
        named = False
        for config, terms, exclude in self._brands:
            if terms is not None and terms.search(text):
                named = True
                if not (exclude and exclude.search(text)):
                    return config.name, False
        return None, named
