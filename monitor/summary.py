"""Mention volume and sentiment per period, platform, brand or complaint
theme, beside the service KPIs of the same periods.

Periods follow the configured time zone (DST included): day and week
boundaries come from :func:`monitor.timeutil.periods` and each becomes an
index range scan. The KPIs
(:mod:`monitor.kpi.report`) are the team's own, so they are given for the
whole window and per day or week, never per platform, brand or theme; each
is marked as meeting its target or not. By theme, every mention of the
window is matched against the theme rules (:mod:`monitor.themes`): a
mention in several themes counts in each, one in none under "(no theme)".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from monitor.config import KpiConfig
from monitor.storage import Store
from monitor.storage.mentions import MentionFilter
from monitor.timeutil import periods, to_db
from sentiment.base import LABELS, NEGATIVE, NEUTRAL, POSITIVE, UNSUPPORTED

if TYPE_CHECKING:
    from monitor.kpi.targets import Target
    from monitor.themes import ThemeMatcher

BY_CHOICES = ("day", "week", "platform", "brand", "theme")


@dataclass
class Counts:
    positive: int = 0
    neutral: int = 0
    negative: int = 0
    unsupported: int = 0  # in a language the classifier does not support: not in ratios
    other: int = 0  # any other label outside positive/neutral/negative ("unscored")

    def add(self, label: str | None, n: int) -> None:
        if label in LABELS:
            setattr(self, label, getattr(self, label) + n)
        elif label == UNSUPPORTED:
            self.unsupported += n
        else:
            self.other += n

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    @property
    def volume(self) -> int:
        return self.positive + self.neutral + self.negative + self.unsupported + self.other

    def as_dict(self) -> dict[str, Any]:
        scored = self.positive + self.neutral + self.negative

        def ratio(n: float) -> float | None:
            return round(n / scored, 4) if scored else None

        return {
            "volume": self.volume,
            POSITIVE: self.positive,
            NEUTRAL: self.neutral,
            NEGATIVE: self.negative,
            "unscored": self.other,
            UNSUPPORTED: self.unsupported,
            "negative_ratio": ratio(self.negative),
            "positive_ratio": ratio(self.positive),
            "net_sentiment": ratio(self.positive - self.negative),
        }


@dataclass
class Summary:
    start: datetime
    end: datetime
    timezone: str
    by: str | None
    brand: str | None = None
    platform: str | None = None
    total: Counts = field(default_factory=Counts)
    rows: dict[str, Counts] = field(default_factory=dict)
    #: KPIs of the window ("total") and of each day/week row, by the same keys.
    kpis: dict[str, dict[str, Any]] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    #: By theme: each theme's counts per platform.
    platforms: dict[str, dict[str, Counts]] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The name of the rows' first column: ``period`` (days, weeks, or the total alone), else ``by``."""
        return {"day": "period", "week": "period"}.get(self.by or "", self.by or "period")

    def as_dict(self) -> dict[str, Any]:
        from monitor.kpi import targets

        key = self.key

        def with_kpis(counts: dict[str, Any], row: str) -> dict[str, Any]:
            if row in self.platforms:
                counts["platforms"] = [{"platform": p, **c.as_dict()} for p, c in self.platforms[row].items()]
            if row not in self.kpis:
                return counts
            return {**counts, "kpis": self.kpis[row], "meets_target": targets.meets(self.targets, self.kpis[row])}

        out = {
            "from": to_db(self.start),
            "to": to_db(self.end),
            "timezone": self.timezone,
            "by": self.by,
            "brand": self.brand,
            "platform": self.platform,
            "total": with_kpis(self.total.as_dict(), "total"),
            "rows": [with_kpis({key: k, **c.as_dict()}, k) for k, c in self.rows.items()],
        }
        if self.kpis:
            out["targets"] = targets.as_json(self.targets)
        return out


def summarize(
    store: Store,
    *,
    start: datetime,
    end: datetime,
    tz: tzinfo,
    tz_name: str = "UTC",
    by: str | None = None,
    brand: str | None = None,
    platform: str | None = None,
    kpi_settings: KpiConfig | None = None,
    with_kpis: bool = True,
    themes: ThemeMatcher | None = None,
    brands: Sequence[str] = (),
) -> Summary:
    """Counts and ratios over ``[start, end)``, overall and per ``by``, with the
    service KPIs of the window and of each day or week (unless ``with_kpis`` is false).
    ``by="theme"`` needs the ``themes`` to match. ``by="brand"`` has a row for each of
    ``brands`` (the configured ones), with no mention too, as every day and theme has."""
    from monitor.kpi import targets
    from monitor.kpi.report import kpis_for

    if by is not None and by not in BY_CHOICES:
        raise ValueError(f"by must be one of {BY_CHOICES}")
    summary = Summary(start, end, tz_name, by, brand, platform)
    spans = periods(start, end, by, tz) if by in ("day", "week") else [("all", start, end)]
    if by == "theme":
        if themes is None:
            raise ValueError("by theme needs the theme rules")
        _by_theme(store, summary, themes)
    else:
        _by_label(store, summary, spans, brands if by == "brand" else ())
    if not with_kpis:
        return summary
    rows = spans if by in ("day", "week") else []
    summary.kpis = kpis_for(store, [("total", start, end), *rows], tz, kpi_settings,
                            parts={"total": [key for key, _, _ in rows]} if rows else None)
    summary.targets = targets.targets(kpi_settings or KpiConfig())
    return summary


def _by_label(store: Store, summary: Summary, spans: list[tuple[str, datetime, datetime]],
              names: Sequence[str] = ()) -> None:
    """Counts per label: in total, and per day/week, platform or brand (SQL counts); ``names``:
    the groups listed even with no mention (brands are matched in any case, as ``--brand`` is)."""
    by = summary.by
    group = None if by in ("day", "week") else by
    if group is None and by is not None:
        summary.rows = {key: Counts() for key, _, _ in spans}
    listed = {name.lower(): name for name in names}
    summary.rows.update({name: Counts() for name in listed.values()})
    for key, group_value, label, n in store.mentions.label_counts(
        spans, group=group, brand=summary.brand, platform=summary.platform
    ):
        summary.total.add(label, n)
        row = (listed.get(group_value.lower(), group_value) if group_value is not None else None) if group else key
        if by is not None:
            summary.rows.setdefault(row if row is not None else "(none)", Counts()).add(label, n)
    if group:
        summary.rows = dict(sorted(summary.rows.items(), key=lambda kv: -kv[1].volume))


def _by_theme(store: Store, summary: Summary, themes: ThemeMatcher) -> None:
    """Counts per theme (and per theme and platform) from every mention of the window."""
    from monitor.themes import NO_THEME

    rows = {name: Counts() for name in themes.names}
    platforms: dict[str, dict[str, Counts]] = {}
    mentions = store.mentions.stream(
        MentionFilter(since=summary.start, until=summary.end, brand=summary.brand, platform=summary.platform,
                      limit=None),
        ("platform", "label", "text"),
    )
    for platform, label, text in mentions:
        summary.total.add(label, 1)
        for name in themes.themes(text) or [NO_THEME]:
            rows.setdefault(name, Counts()).add(label, 1)
            platforms.setdefault(name, {}).setdefault(platform, Counts()).add(label, 1)
    order = sorted(rows, key=lambda name: (name == NO_THEME, -rows[name].negative, -rows[name].volume, name))
    summary.rows = {name: rows[name] for name in order}
    summary.platforms = {
        name: dict(sorted(platforms.get(name, {}).items(), key=lambda kv: (-kv[1].volume, kv[0]))) for name in order
    }
