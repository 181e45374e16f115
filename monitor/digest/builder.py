"""What a digest says: the figures of one local day for a set of brands.

:func:`build` reads everything from the store (through :mod:`monitor.summary`,
the mention queries, the alert rule, the poll log and source health as
:func:`monitor.health.assess` judges it) and returns plain
dataclasses for the templates. Nothing here formats or sends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any

from monitor.alerts.rule import Signal, ceil_hour, replay
from monitor.config import BrandConfig, Config
from monitor.digest.kpis import KpiFigure, KpiProvider, service_kpis
from monitor.health import DISABLED, NEVER_POLLED, OK, assess
from monitor.storage import Store
from monitor.storage.mentions import MentionFilter
from monitor.summary import Counts, summarize
from monitor.themes import BrandThemes, PhraseExtractor, ThemeCount, ThemeMatcher, brand_themes, compared_from
from monitor.timeutil import day_bounds, from_db, local_midnight, utcnow

CHART_DAYS = 14
AVERAGE_DAYS = 7
TOP_THEMES = 3  # themes listed per brand; new or growing ones are listed too


@dataclass
class DayPoint:
    day: date
    volume: int
    negative_ratio: float | None


@dataclass
class BrandDigest:
    name: str
    figures: dict[str, Any]  # Counts.as_dict() of the day
    previous: dict[str, Any]  # ... of the day before
    average: dict[str, Any]  # the 7 days before: mean volume, pooled ratios
    history: list[DayPoint]  # the last 14 days, the reported day last
    most_negative: list[dict[str, Any]]
    most_engaged: list[dict[str, Any]]  # negatives with the most likes/replies/reposts
    platforms: list[dict[str, Any]]
    spikes: list[Signal]
    #: Complaint themes of the day against the 7 days before (scaled to a day).
    themes: BrandThemes | None = None

    @property
    def top_themes(self) -> list[ThemeCount]:
        """The day's biggest themes, then any other that is new or growing."""
        if self.themes is None:
            return []
        top = self.themes.top(TOP_THEMES)
        return top + [t for t in self.themes.rising if t not in top]


@dataclass
class SourceHealth:
    name: str
    platform: str
    status: str  # the source's health now (:func:`monitor.health.assess`): ok, failing, not working, ...
    new: int  # mentions it added that day
    detail: str  # what it did that day, and why it is not ok


@dataclass
class Digest:
    day: date
    timezone: str
    start: datetime
    end: datetime
    brand_set: str
    brands: list[BrandDigest]
    share_of_voice: list[dict[str, Any]]
    kpis: list[KpiFigure]
    sources: list[SourceHealth]
    tz: tzinfo = timezone.utc
    generated_at: datetime = field(default_factory=utcnow)

    @property
    def title(self) -> str:
        names = " & ".join(b.name for b in self.brands)
        return f"{names} daily digest for {self.day:%a %d %b %Y}"


def brand_set_key(config: Config) -> str:
    """Which brands a digest covers, as a stable key: one digest per key and date."""
    return "+".join(sorted(b.name.lower() for b in _digest_brands(config)))


def _digest_brands(config: Config) -> tuple[BrandConfig, ...]:
    return config.own_brands() or config.brands


def build(store: Store, config: Config, day: date, *, kpi_provider: KpiProvider = service_kpis,
          now: datetime | None = None) -> Digest:
    """The digest of the local ``day`` for the configured own brands."""
    tz, tz_name = config.monitor.tz, config.monitor.timezone
    now = now or utcnow()
    start, end = day_bounds(day, tz)
    first = store.mentions.first_created_at()  # where history begins: no day before it averages as 0
    known = AVERAGE_DAYS if first is None else max(0, min(AVERAGE_DAYS, (day - first.astimezone(tz).date()).days))
    # The alert hours that start in the day (in a half-hour zone its last runs from 23:30 to 00:30),
    # those over by now: an hour still to come has no mentions yet, and is no drop to zero.
    alerts_end = min(ceil_hour(end), now)
    brands = [_brand(store, config, b.name, day, start, end, known, alerts_end) for b in _digest_brands(config)]
    matcher = ThemeMatcher.from_config(config)
    extractor = PhraseExtractor(config.brand_terms(), config.insights)
    # a new install's themes are compared with the days it has, as its volume average is
    previous_start = compared_from(store, tz, start, local_midnight(day - timedelta(days=AVERAGE_DAYS), tz))
    for brand in brands:
        brand.themes = brand_themes(store, config.insights, matcher, extractor, brand=brand.name, start=start,
                                    end=end, previous_start=previous_start)
    return Digest(
        day=day, timezone=tz_name, start=start, end=end, brand_set=brand_set_key(config),
        brands=brands, share_of_voice=_share_of_voice(store, config, start, end),
        kpis=kpi_provider(store, config, start, end), sources=_source_health(store, config, start, end, now),
        tz=tz, generated_at=now,
    )


def _brand(store: Store, config: Config, name: str, day: date, start: datetime, end: datetime,
           known_days: int, alerts_end: datetime) -> BrandDigest:
    """``known_days``: how many of the :data:`AVERAGE_DAYS` before ``day`` are on or after
    the first stored mention (a new install's average is of the days it has); ``alerts_end``:
    where the alert hours of the day end (the spikes are the complete hours from ``start``)."""
    tz = config.monitor.tz
    first = local_midnight(day - timedelta(days=CHART_DAYS - 1), tz)
    daily = summarize(store, start=first, end=end, tz=tz, by="day", brand=name, with_kpis=False).rows
    counts = list(daily.values())
    week = sum(counts[-AVERAGE_DAYS - 1 : -1], Counts())
    average = week.as_dict()
    average["volume"] = week.volume / known_days if known_days else None
    history = [DayPoint(date.fromisoformat(k), c.volume, c.as_dict()["negative_ratio"]) for k, c in daily.items()]

    def top(order: str, limit: int) -> list[dict[str, Any]]:
        return store.mentions.query(MentionFilter(
            since=start, until=end, brand=name, label="negative", limit=limit, order=order))

    most_negative = top("most_negative", config.digest.top)
    shown = {(m["platform"], m["id"]) for m in most_negative}
    engaged = [m for m in top("most_engaged", config.digest.top * 2)
               if (m["platform"], m["id"]) not in shown and _engagement(m) > 0][: config.digest.top]
    by_platform = summarize(store, start=start, end=end, tz=tz, by="platform", brand=name, with_kpis=False)
    platforms = [{"platform": k, **c.as_dict()} for k, c in by_platform.rows.items()]
    total = by_platform.total.volume
    for p in platforms:
        p["share"] = p["volume"] / total if total else None
    return BrandDigest(
        name=name, figures=counts[-1].as_dict(), previous=counts[-2].as_dict(), average=average,
        history=history, most_negative=[_mention(m, tz) for m in most_negative],
        most_engaged=[_mention(m, tz) for m in engaged], platforms=platforms,
        spikes=replay(store, config, start, alerts_end, brand=name),
    )


def _engagement(m: dict[str, Any]) -> int:
    return sum(m.get(k) or 0 for k in ("likes", "replies", "reposts"))


def _mention(m: dict[str, Any], tz: Any) -> dict[str, Any]:
    url = m["url"] or ""
    return {
        **m,
        "local_time": from_db(m["created_at"]).astimezone(tz),
        "engagement": _engagement(m),
        # Only web links: a mention's URL is untrusted (javascript:, data: ...).
        "link": url if url.lower().startswith(("https://", "http://")) else None,
    }


def _share_of_voice(store: Store, config: Config, start: datetime, end: datetime) -> list[dict[str, Any]]:
    rows = summarize(store, start=start, end=end, tz=config.monitor.tz, by="brand", with_kpis=False).rows
    known = {k.lower(): c for k, c in rows.items() if k is not None}
    out = []
    for brand in config.brands:
        counts = known.get(brand.name.lower(), Counts())
        out.append({"brand": brand.name, "competitor": brand.competitor, **counts.as_dict()})
    total = sum(r["volume"] for r in out)
    for r in out:
        r["share"] = r["volume"] / total if total else None
    return sorted(out, key=lambda r: (-r["volume"], r["brand"]))


def _source_health(store: Store, config: Config, start: datetime, end: datetime, now: datetime) -> list[SourceHealth]:
    """Each source's health as `status` judges it now, beside what it did that day."""
    activity = store.sources.activity([s.name for s in config.sources], start, end)
    out = []
    for source in config.sources:
        seen = activity.get(source.name)
        state = store.sources.get(source.name) or {}
        health = assess(source, state, now=now, settings=config.daemon,
                        first_run_at=None if state.get("last_success_at") else store.sources.first_run_at(source.name))
        if health.state in (DISABLED, NEVER_POLLED):
            detail = health.note
        else:
            detail = _day(seen, state, config)
            if health.state != OK:
                detail += f"; now {health.note}"
        out.append(SourceHealth(source.name, source.platform, health.state, seen["new"] if seen else 0, detail))
    return out


def _day(seen: dict[str, Any] | None, state: dict[str, Any], config: Config) -> str:
    """What a source's polls did that day."""
    if seen is None:
        return f"no poll that day (last success {_when(state.get('last_success_at'), config)})"
    if seen["last_status"] != "ok":
        return f"{seen['errors']} of {seen['runs']} polls failed; last: {seen['last_error']}"
    if seen["new"] == 0:
        return f"{seen['runs']} polls returned nothing that day" + (f" ({seen['errors']} failed)" if seen["errors"] else "")
    return f"{seen['runs']} polls" + (f", {seen['errors']} failed" if seen["errors"] else "")


def _when(stored: str | None, config: Config) -> str:
    if not stored:
        return "never"
    return f"{from_db(stored).astimezone(config.monitor.tz):%d %b %H:%M}"
