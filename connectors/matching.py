"""Boolean brand queries (``(acme OR "acme mobile") NOT "acme anvil"``) and matching texts against them.

Used where a platform cannot search for us: Reddit's comment streams and
RSS/Atom feeds of news or review sites are read whole, and an item is kept
when it names one of the query's terms and none of its ``NOT``/``-`` terms.
:func:`term_regex` is how a term becomes a regex here and in the monitor's
brand and theme matching (:mod:`monitor.brands`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from connectors.base import BrandQuery

_QUERY_TOKEN = re.compile(r'(-?)"([^"]*)"|(\S+)')


def term_regex(term: str, *, wildcard: bool = False) -> str:
    """A word or phrase as a regex: its words escaped, any run of white space between
    them; with ``wildcard``, a trailing ``*`` matches the rest of a word ("refund*")."""
    wild = wildcard and term.endswith("*")
    words = term.rstrip("*").split() if wild else term.split()
    return r"\s+".join(map(re.escape, words)) + (r"\w*" if wild else "")


def quote_term(text: str) -> str:
    """A single word as it is; anything else as an exact "phrase"."""
    text = text.strip()
    return text if re.fullmatch(r"\w+", text) else '"' + text.replace('"', "") + '"'


def boolean_query(brand: BrandQuery) -> str:
    """The brand's terms OR-ed (handles without "@"), then NOT its exclusions."""
    terms = list(dict.fromkeys(quote_term(t.lstrip("@")) for t in brand.terms() if t.strip().lstrip("@")))
    query = terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")"
    excluded = [f"NOT {quote_term(t)}" for t in brand.exclude if t.strip()]
    return " ".join([query, *excluded])


def text_matcher(query: str) -> Callable[[str], bool]:
    """Whether a text names one of the query's terms (words or "phrases") and
    none of its NOT/- terms. Field operators (``subreddit:x``) are ignored."""
    wanted: list[str] = []
    unwanted: list[str] = []
    negate = False
    for minus, phrase, word in _QUERY_TOKEN.findall(query.replace("(", " ").replace(")", " ")):
        term = phrase if phrase or minus else word
        if not phrase and word:
            if word.upper() in ("OR", "AND"):
                continue
            if word.upper() == "NOT":
                negate = True
                continue
            if word.startswith("-"):
                minus, term = "-", word[1:].strip('"')
            if ":" in term:  # a field operator such as subreddit:x or self:yes
                negate = False
                continue
        if term:
            (unwanted if negate or minus else wanted).append(term)
        negate = False

    def pattern(terms: list[str]) -> re.Pattern[str] | None:
        if not terms:
            return None
        alternatives = "|".join(map(term_regex, terms))
        return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)

    yes, no = pattern(wanted), pattern(unwanted)

    def keep(text: str) -> bool:
        return (yes is None or bool(yes.search(text))) and not (no and no.search(text))

    return keep


def search_terms(brand: BrandQuery) -> list[str]:
    """The brand's keywords and handles (without "@") as separate searches, for
    platforms without OR: phrases quoted, and terms dropped when a single-word
    term already finds them ("acme mobile" when "acme" is searched)."""
    terms = list(dict.fromkeys(t.strip().lstrip("@").strip() for t in brand.terms() if t.strip().lstrip("@").strip()))
    words = {t.lower() for t in terms if re.fullmatch(r"\w+", t)}
    kept = [t for t in terms if re.fullmatch(r"\w+", t) or not words & set(re.findall(r"\w+", t.lower()))]
    return [quote_term(t) for t in kept]
