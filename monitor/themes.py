"""Complaint themes and emerging phrases: what negative mentions are about.

**Themes** are keyword rules (``[[themes]]``, on top of the shipped defaults in
``monitor/defaults/themes.toml``), matched on the mention text the way brand
keywords are (:class:`monitor.brands.TermSets`). A mention may be in several
themes. Themes are matched when a report is asked for, over the period's
negative mentions (an index range scan), not stored per mention: rules can
change at any time without a backfill, and the work is bounded by the period.

**Emerging phrases** are the 1-3 word phrases of the period's negative
mentions that are new or growing against the period before. Texts are
prepared like for scoring (:class:`sentiment.text.TextPreparer`: brand names
and handles masked, URLs dropped); numbers, masked names, punctuation and
emoji break phrases, and a phrase never starts or ends with a stop word. Each
phrase is counted once per mention. With ``a`` the smoothing:

    lift = ((now + a) / length of the period) / ((before + a) / length of the period before)

A phrase (or theme) is *new* when it is in at least ``min_count`` negative
mentions now and in none before, *growing* at ``min_count`` and a lift of at
least ``min_lift``, *fading* when it was in ``min_count`` before and the lift
is at most ``1 / min_lift``. Output is deterministic: every ordering has a
complete tie-break.
"""

from __future__ import annotations

import re
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from monitor.brands import TermSets, term_pattern
from monitor.config import Config, InsightsConfig, ThemeConfig
from monitor.storage import Store
from monitor.storage.mentions import MentionFilter
from monitor.timeutil import to_db
from sentiment.base import NEGATIVE
from sentiment.text import PLACEHOLDER, TextPreparer, normalise

NO_THEME = "(no theme)"

#: Words that never start or end a phrase (short English function words).
STOP_WORDS = frozenset("""
a about above after again against all also am an and any are aren't as at be because been before being
below between both but by can could couldn't did do does doing done each even ever every few for
from further get gets getting got had has have having he her here hers him his how i i'd i'll i'm i've
if in into is it it's its itself just let's like me more most my myself now of off on once only or other
our ours out over own please really same she should so some such than thank thanks that that's the their
them then there these they they're this those through to too under until up very via was we we're were
what when where which while who whom why will with would you you're your yours yet lol tbh ngl pls im
ive dont cant wont thats one two three four five hi hello hey anyone else someone
across along among around behind beyond during inside outside since toward towards upon within without
onto per whole know think say said says make made go goes going gonna went see seen come came take took
want need tell told try tried use used thing things lot way much many day week today yesterday
morning afternoon evening night tonight tomorrow weekend hour hours minute minutes days weeks month months
monday tuesday wednesday thursday friday saturday sunday mon tue wed thu fri sat sun
""".split())
#: Negations may start a phrase ("no internet", "not working") but are no phrase alone.
NEGATIONS = frozenset("""
no not never nothing nobody none nowhere cannot can't won't don't doesn't didn't isn't wasn't aren't
haven't hasn't hadn't couldn't wouldn't shouldn't still
""".split())
# What breaks a run of words: punctuation, emoji, words with digits, one-letter words,
# the placeholder of a masked name.
_BREAK = re.compile(rf"[^\w\s']+|\w*[\d_]\w*|(?<![\w'])(?:\w|{PLACEHOLDER})(?![\w'])")

MentionRef = tuple[float, str, str, str]  # (compound, created_at, platform, id)


class ThemeMatcher:
    """The themes a text is in, by the configured rules (in their order)."""

    def __init__(self, rules: Sequence[ThemeConfig]) -> None:
        self.names = [r.name for r in rules]
        self._terms = TermSets({r.name: r.keywords for r in rules})
        # A theme's exclusions cancel the words they cover, not the mention: "let me down"
        # stops "down" counting for outage, "let me down, outage since Sunday" is still one.
        self._exclude = {r.name: term_pattern(r.exclude, wildcards=True) for r in rules if r.exclude}

    @classmethod
    def from_config(cls, config: Config) -> ThemeMatcher:
        return cls(config.theme_rules())

    def themes(self, text: str) -> list[str]:
        text = normalise(text)
        return [name for name in self._terms.find(text) if self._kept(name, text)]

    def _kept(self, name: str, text: str) -> bool:
        """Whether theme ``name`` (found in ``text``) still is once its exclusions are cut out."""
        pattern = self._exclude.get(name)
        if pattern is None or pattern.search(text) is None:
            return True
        return name in self._terms.find(pattern.sub(" | ", text))  # "|" parts the words either side


class PhraseExtractor:
    """The candidate phrases of a text: runs of words between masked names,
    numbers and punctuation, cut into 1..``max_words`` word phrases."""

    def __init__(self, brand_terms: Iterable[str], settings: InsightsConfig) -> None:
        self._prepare = TextPreparer(brand_terms, keep_case=False)
        self._max = settings.max_words
        self._stop = STOP_WORDS | {w.lower() for w in settings.stop_words}

    def runs(self, text: str) -> list[list[str]]:
        """The text's runs of usable words (lower case)."""
        runs = []
        for segment in _BREAK.split(self._prepare(text).lower()):
            words = [w for w in (w.strip("'") for w in segment.split()) if w]
            if words:
                runs.append(words)
        return runs

    def ok(self, words: Sequence[str]) -> bool:
        """Whether ``words`` can be a phrase: no stop word (or lone negation) at either end."""
        first, last = words[0], words[-1]
        if len(words) == 1:
            return first not in self._stop and first not in NEGATIONS and len(first) > 2
        return (first not in self._stop or first in NEGATIONS) and last not in self._stop and last not in NEGATIONS

    @property
    def max_words(self) -> int:
        return self._max


@dataclass
class ThemeCount:
    theme: str
    negatives: int  # negative mentions in the theme, this period
    previous: int  # ... in the period before
    expected: float  # ``previous`` scaled to this period's length
    lift: float
    trend: str  # new, growing, steady, fading
    share: float | None  # of this period's negative mentions
    examples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def change(self) -> float:
        return round(self.negatives - self.expected, 2)

    def as_dict(self) -> dict[str, Any]:
        return {
            "theme": self.theme, "negatives": self.negatives, "previous": self.previous,
            "expected": round(self.expected, 2), "change": self.change, "lift": round(self.lift, 2),
            "trend": self.trend, "share": None if self.share is None else round(self.share, 4),
            "examples": self.examples,
        }


@dataclass
class Phrase:
    phrase: str
    negatives: int
    previous: int
    lift: float
    trend: str  # new or growing
    examples: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"phrase": self.phrase, "negatives": self.negatives, "previous": self.previous,
                "lift": round(self.lift, 2), "trend": self.trend, "examples": self.examples}


@dataclass
class BrandThemes:
    """One brand's complaint themes and emerging phrases over ``[start, end)``,
    against ``[previous_start, start)``."""

    brand: str | None
    start: datetime
    end: datetime
    previous_start: datetime
    negatives: int = 0
    previous_negatives: int = 0
    no_theme: int = 0  # negatives in no theme
    previous_no_theme: int = 0  # ... in the period before
    themes: list[ThemeCount] = field(default_factory=list)
    unthemed: ThemeCount | None = None  # the negatives in no theme, counted as a theme is
    emerging: list[Phrase] = field(default_factory=list)

    @property
    def rising(self) -> list[ThemeCount]:
        """Themes that are new or growing."""
        return [t for t in self.themes if t.trend in ("new", "growing")]

    def top(self, n: int) -> list[ThemeCount]:
        """The ``n`` themes with most negatives now (none with zero)."""
        return [t for t in self.themes if t.negatives][:n]

    def as_dict(self) -> dict[str, Any]:
        return {
            "brand": self.brand, "from": to_db(self.start), "to": to_db(self.end),
            "previous": {"from": to_db(self.previous_start), "to": to_db(self.start)},
            "negatives": self.negatives, "previous_negatives": self.previous_negatives,
            "no_theme": self.no_theme, "previous_no_theme": self.previous_no_theme,
            "themes": [t.as_dict() for t in self.themes],
            "emerging": [p.as_dict() for p in self.emerging],
        }


def lift(now: int, before: int, now_length: float, before_length: float, smoothing: float) -> float:
    """The smoothed rate now against the rate before (lengths in any one unit)."""
    return ((now + smoothing) / now_length) / ((before + smoothing) / before_length)


def trend(now: int, before: int, ratio: float, settings: InsightsConfig) -> str:
    if now >= settings.min_count and before == 0:
        return "new"
    if now >= settings.min_count and ratio >= settings.min_lift:
        return "growing"
    if before >= settings.min_count and ratio <= 1 / settings.min_lift:
        return "fading"
    return "steady"


def compared_from(store: Store, tz: tzinfo, start: datetime, previous_start: datetime) -> datetime:
    """Where the period before ``start`` begins: ``previous_start``, or the start of the first
    stored mention's (local) hour when that lies between the two. On a new install, the hours
    before the history would count as quiet ones, and every theme would look like growing:
    an evening's install would make the next day's digest compare with a day of 4 hours of
    history (its midnight is no better), ``--since 6h`` the same afternoon with 2 hours of 6."""
    first = store.mentions.first_created_at()
    if first is None:
        return previous_start
    history = first.astimezone(tz).replace(minute=0, second=0, microsecond=0)
    return history if previous_start < history < start else previous_start


def report(
    store: Store, config: Config, *, start: datetime, end: datetime, brand: str | None = None,
    previous_start: datetime | None = None,
) -> list[BrandThemes]:
    """Themes and emerging phrases per own brand (or only ``brand``) over ``[start, end)``,
    against ``[previous_start, start)`` (default: as long, within the stored history: see
    :func:`compared_from`)."""
    previous_start = compared_from(store, config.monitor.tz, start, previous_start or start - (end - start))
    if brand is not None:
        known = config.brand(brand)
        names: list[str | None] = [known.name if known else brand]
    else:
        names = [b.name for b in (config.own_brands() or config.brands)] or [None]
    matcher = ThemeMatcher.from_config(config)
    extractor = PhraseExtractor(config.brand_terms(), config.insights)
    return [
        brand_themes(store, config.insights, matcher, extractor, brand=name, start=start, end=end,
                     previous_start=previous_start)
        for name in names
    ]


def brand_themes(
    store: Store, settings: InsightsConfig, matcher: ThemeMatcher, extractor: PhraseExtractor, *,
    brand: str | None, start: datetime, end: datetime, previous_start: datetime | None = None,
) -> BrandThemes:
    """One brand's themes and emerging phrases (``brand`` None: every mention)."""
    previous_start = previous_start or start - (end - start)
    out = BrandThemes(brand, start, end, previous_start)
    now_length = (end - start).total_seconds()
    before_length = (start - previous_start).total_seconds()

    # This period: themes, and every mention's word runs for the phrases.
    counts: Counter[str] = Counter()
    refs: dict[str, list[MentionRef]] = {name: [] for name in matcher.names}
    vocabulary: dict[str, int] = {}
    docs: list[tuple[MentionRef, list[array[int]]]] = []
    for ref, text in _negatives(store, brand, start, end):
        out.negatives += 1
        found = matcher.themes(text)
        if not found:
            out.no_theme += 1
        for name in found:
            counts[name] += 1
            refs[name].append(ref)
        runs = [array("I", (vocabulary.setdefault(w, len(vocabulary)) for w in run)) for run in extractor.runs(text)]
        docs.append((ref, runs))
    words = list(vocabulary)
    candidates = _frequent_phrases(docs, words, extractor, settings.min_count)

    # The period before: themes, and only the candidate phrases.
    before: Counter[str] = Counter()
    before_phrases: Counter[tuple[int, ...]] = Counter()
    starts = {key[0] for key in candidates}
    for _, text in _negatives(store, brand, previous_start, start):
        out.previous_negatives += 1
        found = matcher.themes(text)
        if not found:
            out.previous_no_theme += 1
        before.update(found)
        runs = [[vocabulary.get(w, -1) for w in run] for run in extractor.runs(text)]
        before_phrases.update(_phrases_in(runs, candidates, extractor.max_words, starts))

    def counted(name: str, now: int, then: int) -> ThemeCount:
        ratio = lift(now, then, now_length, before_length, settings.smoothing)
        return ThemeCount(name, now, then, then * now_length / before_length, ratio, trend(now, then, ratio, settings),
                          now / out.negatives if out.negatives else None)

    out.themes = [counted(name, counts[name], before[name]) for name in matcher.names]
    # A growing "(no theme)" is complaints the themes do not cover yet
    out.unthemed = counted(NO_THEME, out.no_theme, out.previous_no_theme)
    out.themes.sort(key=lambda t: (-t.negatives, -t.previous, t.theme))

    emerging = []
    for key, n in candidates.items():
        ratio = lift(n, before_phrases[key], now_length, before_length, settings.smoothing)
        kind = trend(n, before_phrases[key], ratio, settings)
        if kind in ("new", "growing"):
            emerging.append((key, Phrase(" ".join(words[i] for i in key), n, before_phrases[key], ratio, kind)))
    emerging.sort(key=lambda kp: (-kp[1].lift, -kp[1].negatives, -len(kp[0]), kp[1].phrase))
    chosen = _distinct(emerging, settings.emerging)

    theme_examples = {t.theme: _most_negative(refs[t.theme], settings.examples) for t in out.themes}
    phrase_refs = _refs_of([key for key, _ in chosen], docs)
    phrase_examples = {key: _most_negative(phrase_refs[key], settings.examples) for key, _ in chosen}
    mentions = _fetch(store, [*theme_examples.values(), *phrase_examples.values()])
    for t in out.themes:
        t.examples = [mentions[k] for k in theme_examples[t.theme] if k in mentions]
    for key, phrase in chosen:
        phrase.examples = [mentions[k] for k in phrase_examples[key] if k in mentions]
        out.emerging.append(phrase)
    return out


def _negatives(store: Store, brand: str | None, start: datetime, end: datetime) -> Iterator[tuple[MentionRef, str]]:
    rows = store.mentions.stream(
        MentionFilter(since=start, until=end, label=NEGATIVE, brand=brand, limit=None),
        ("compound", "created_at", "platform", "id", "text"),
    )
    for compound, created_at, platform, mention_id, text in rows:
        yield (compound or 0.0, created_at, platform, mention_id), text


def _frequent_phrases(
    docs: Sequence[tuple[MentionRef, list[array[int]]]], words: Sequence[str], extractor: PhraseExtractor,
    min_count: int,
) -> dict[tuple[int, ...], int]:
    """Phrases in at least ``min_count`` mentions, counted once per mention.

    Longer phrases are only counted when the phrase one word shorter at each
    end is frequent (a phrase is never in more mentions than its parts), so
    memory follows the frequent phrases, not every phrase seen.
    """
    frequent: dict[tuple[int, ...], int] = {}
    level: set[tuple[int, ...]] = set()
    for size in range(1, extractor.max_words + 1):
        seen: Counter[tuple[int, ...]] = Counter()
        for _, runs in docs:
            keys = set()
            for run in runs:
                for i in range(len(run) - size + 1):
                    key = tuple(run[i : i + size])
                    if size == 1 or (key[:-1] in level and key[1:] in level):
                        keys.add(key)
            seen.update(keys)
        level = {key for key, n in seen.items() if n >= min_count}
        if not level:
            break
        frequent.update((key, seen[key]) for key in level if extractor.ok([words[i] for i in key]))
    return frequent


def _phrases_in(runs: Sequence[Sequence[int]], wanted: dict[tuple[int, ...], int], max_words: int,
                starts: set[int]) -> set[tuple[int, ...]]:
    """The ``wanted`` phrases in ``runs``; ``starts``: their first words."""
    found = set()
    for run in runs:
        for i, word in enumerate(run):
            if word in starts:
                found.update(key for size in range(1, max_words + 1)
                             if (key := tuple(run[i : i + size])) in wanted and len(key) == size)
    return found


def _contains(big: tuple[int, ...], small: tuple[int, ...]) -> bool:
    return any(big[i : i + len(small)] == small for i in range(len(big) - len(small) + 1))


def _distinct(ranked: Sequence[tuple[tuple[int, ...], Phrase]], limit: int) -> list[tuple[tuple[int, ...], Phrase]]:
    """The first ``limit`` phrases, skipping one inside (or around) a phrase already
    chosen that is in nearly as many mentions: "status page" makes "page" redundant,
    but "broadband down" in 8 mentions does not hide "down" in 25."""
    chosen: list[tuple[tuple[int, ...], Phrase]] = []
    for key, phrase in ranked:
        if len(chosen) == limit:
            break
        redundant = any(
            (_contains(key, other) or _contains(other, key))
            and min(phrase.negatives, p.negatives) * 3 >= max(phrase.negatives, p.negatives) * 2
            for other, p in chosen
        )
        if not redundant:
            chosen.append((key, phrase))
    return chosen


def _refs_of(keys: Sequence[tuple[int, ...]], docs: Sequence[tuple[MentionRef, list[array[int]]]]) -> dict[tuple[int, ...], list[MentionRef]]:
    out: dict[tuple[int, ...], list[MentionRef]] = {key: [] for key in keys}
    if not keys:
        return out
    longest = max(len(k) for k in keys)
    wanted = dict.fromkeys(keys, 0)
    starts = {key[0] for key in keys}
    for ref, runs in docs:
        for key in _phrases_in(runs, wanted, longest, starts):
            out[key].append(ref)
    return out


def _most_negative(refs: list[MentionRef], n: int) -> list[tuple[str, str]]:
    """The ``n`` most negative mentions: lowest score, then newest, then by key."""
    ranked = sorted(refs, key=lambda r: (r[2], r[3]))
    ranked.sort(key=lambda r: r[1], reverse=True)
    ranked.sort(key=lambda r: r[0])
    return [(platform, mention_id) for _, _, platform, mention_id in ranked[:n]]


def _fetch(store: Store, wanted: Iterable[list[tuple[str, str]]]) -> dict[tuple[str, str], dict[str, Any]]:
    keys = list(dict.fromkeys(k for ks in wanted for k in ks))
    return {(m["platform"], m["id"]): _example(m) for m in store.mentions.by_keys(keys)}


def _example(m: dict[str, Any]) -> dict[str, Any]:
    keep = ("platform", "id", "brand", "created_at", "label", "compound", "author", "text", "url")
    return {k: m[k] for k in keep}
