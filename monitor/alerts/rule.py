"""The spike rule: one brand's hour against the same hour of the week before.

For every complete hour and every own brand:

* **negative_count** — negatives in the hour against the same hour of the week
  over the previous ``lookback_weeks`` weeks (with ``window_hours`` neighbouring
  hours each side). Baseline = median; spread = ``1.4826 × MAD`` (the MAD scaled
  to a standard deviation), never less than the Poisson noise ``√median`` (at
  least 1), so a flat history does not make every extra mention an alert.
  Threshold = ``max(min_count, median + k × spread)``.
* **negative_ratio** — the hour's negative share against the share in the same
  baseline hours (pooled; the whole lookback when those hold fewer than 20
  mentions). Shares are over *scored* mentions, as in ``summary``: mentions in a
  language the classifier does not support, or left unscored, are not in them. Threshold = ``baseline + k × √(p(1-p)/n)``, the binomial standard
  error at the hour's scored volume ``n`` (``p`` smoothed as (neg+1)/(vol+2)).
  Only hours with at least ``min_count`` scored mentions and ``min_count``
  negatives count.
* **zero_volume** — no mention at all in an hour whose baseline median volume
  is at least ``drop_min_baseline``: usually a broken source or query. The hour
  itself must lie within the stored history in some week, not only its neighbours.

An alert fires when the observed value is at or above the threshold. Weeks
before the first stored mention are not counted as zeros; an hour with no
baseline hour at all is not judged. Hours are UTC hours; "the same hour of the
week" is taken on the configured time zone's wall clock, so it follows DST.
Each :class:`Signal` carries observed value, baseline and threshold, and says
in words how they were computed.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

from monitor.config import AlertsConfig, Config
from monitor.output import percent
from monitor.storage import Store
from monitor.timeutil import format_duration, to_db
from sentiment.base import LABELS

KINDS = ("negative_count", "negative_ratio", "zero_volume")
HOUR = timedelta(hours=1)
MAD_SCALE = 1.4826  # MAD x this = standard deviation, for normal data
_MIN_RATIO_SAMPLE = 20  # mentions needed in the same-hour baseline to trust its ratio
_PERIODS_PER_QUERY = 300
#: How far before its window :func:`replay` judges hours, to know which cooldowns run into it.
WARM_UP = timedelta(weeks=1)


@dataclass(frozen=True)
class HourCounts:
    volume: int = 0  # every mention
    negative: int = 0
    scored: int = 0  # positive, neutral or negative: what shares are over


@dataclass(frozen=True)
class Signal:
    """One rule that fired for one brand and hour, with the numbers behind it."""

    brand: str
    kind: str
    hour: datetime  # start of the hour, UTC
    observed: float
    baseline: float
    threshold: float
    volume: int  # mentions in the hour
    negative: int  # negative mentions in the hour
    scored: int  # mentions in the hour with a sentiment label (what the negative share is over)
    basis: str  # how baseline and threshold were computed, in words

    def describe(self, tz: tzinfo) -> str:
        """The alert as people read it: what, when, observed, baseline, threshold, and how."""
        start = self.hour.astimezone(tz)
        when = f"{start:%a %d %b %H:%M}–{(start + HOUR):%H:%M} {start.tzname()}"
        if self.kind == "negative_count":
            return (f"{self.brand}: {self.negative} negative mentions {when} (of {self.volume});"
                    f" baseline {self.baseline:g}, threshold {self.threshold:.1f} — {self.basis}.")
        if self.kind == "negative_ratio":
            return (f"{self.brand}: {percent(self.observed)} negative {when} ({self.negative} of"
                    f" {self.scored} scored mentions); baseline {percent(self.baseline)}, threshold"
                    f" {percent(self.threshold)} — {self.basis}.")
        return (f"{self.brand}: no mentions {when}; baseline {self.baseline:g} per hour,"
                f" threshold {self.threshold:g} — {self.basis}. Check the sources.")

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "hour": to_db(self.hour)}

    def row(self, tz: tzinfo) -> dict[str, Any]:
        """The stored form (see :class:`monitor.storage.alerts.AlertStore`)."""
        return {
            "brand": self.brand, "kind": self.kind, "hour": self.hour, "observed": self.observed,
            "baseline": self.baseline, "threshold": round(self.threshold, 4), "volume": self.volume,
            "message": self.describe(tz),
        }


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)


def ceil_hour(moment: datetime) -> datetime:
    """The start of the first whole UTC hour at or after ``moment``."""
    hour = floor_hour(moment)
    return hour if hour == moment else hour + HOUR


def complete_hours(start: datetime, end: datetime) -> list[datetime]:
    """Start times of the whole hours inside ``[start, end)``."""
    hour = floor_hour(start)
    if hour < start:
        hour += HOUR
    out = []
    while hour + HOUR <= end:
        out.append(hour)
        hour += HOUR
    return out


def baseline_hours(hour: datetime, settings: AlertsConfig, tz: tzinfo) -> list[datetime]:
    """The same hour of the week (± ``window_hours``) in each of the previous weeks."""
    local = hour.astimezone(tz)
    out = []
    for week in range(1, settings.lookback_weeks + 1):
        # Wall-clock arithmetic on an aware datetime: the same local hour, DST or not.
        same = floor_hour((local - timedelta(weeks=week)).astimezone(timezone.utc))
        out += [same + d * HOUR for d in range(-settings.window_hours, settings.window_hours + 1)]
    return out


class HourlyCounts:
    """Mentions and negatives per brand and UTC hour, fetched once for a span."""

    def __init__(self, store: Store, hours: Iterable[datetime]) -> None:
        wanted = sorted(set(hours))
        self._counts: dict[tuple[str, datetime], HourCounts] = {}
        self.first = store.mentions.first_created_at()
        for i in range(0, len(wanted), _PERIODS_PER_QUERY):
            periods = [(to_db(h), h, h + HOUR) for h in wanted[i : i + _PERIODS_PER_QUERY]]
            by_key = {key: h for key, h, _ in periods}
            for key, brand, label, n in store.mentions.label_counts(periods, group="brand"):
                if brand is None:
                    continue
                slot = (brand.lower(), by_key[key])
                old = self._counts.get(slot, HourCounts())
                self._counts[slot] = HourCounts(
                    old.volume + n, old.negative + (n if label == "negative" else 0),
                    old.scored + (n if label in LABELS else 0),
                )

    def get(self, brand: str, hour: datetime) -> HourCounts:
        return self._counts.get((brand.lower(), hour), HourCounts())

    def known(self, hour: datetime) -> bool:
        """Whether ``hour`` lies within the stored history (not before the first mention)."""
        return self.first is not None and hour >= floor_hour(self.first)


def needed_hours(hours: Sequence[datetime], settings: AlertsConfig, tz: tzinfo) -> set[datetime]:
    """Every hour the evaluation of ``hours`` reads: themselves, their baselines, the lookback."""
    if not hours:
        return set()
    lookback = timedelta(weeks=settings.lookback_weeks) + (settings.window_hours + 1) * HOUR
    start, end = floor_hour(hours[0] - lookback), hours[-1] + HOUR
    return set(complete_hours(start, end))


def evaluate(brand: str, hour: datetime, data: HourlyCounts, settings: AlertsConfig,
             tz: tzinfo) -> list[Signal]:
    """The signals ``brand`` raises for ``hour`` (no cooldown applied)."""
    candidates = baseline_hours(hour, settings, tz)
    samples = [h for h in candidates if data.known(h)]
    if not samples:
        return []
    now = data.get(brand, hour)
    sample_counts = [data.get(brand, h) for h in samples]
    weeks = math.ceil(len(samples) / (2 * settings.window_hours + 1))
    span = f"the same hour ±{settings.window_hours}h over {weeks} week{'s' if weeks > 1 else ''}"
    out: list[Signal] = []

    negatives = [c.negative for c in sample_counts]
    median = statistics.median(negatives)
    mad = statistics.median(abs(x - median) for x in negatives)
    spread = max(MAD_SCALE * mad, math.sqrt(max(median, 1.0)))
    threshold = max(float(settings.min_count), median + settings.k * spread)
    if now.negative >= threshold:
        out.append(Signal(
            brand, "negative_count", hour, now.negative, median, threshold, now.volume, now.negative, now.scored,
            f"median of {span}; threshold max(floor {settings.min_count},"
            f" {median:g} + {settings.k:g} × {spread:.2f})",
        ))

    if now.scored >= settings.min_count and now.negative >= settings.min_count:
        vol, neg = sum(c.scored for c in sample_counts), sum(c.negative for c in sample_counts)
        basis = span
        if vol < _MIN_RATIO_SAMPLE:
            lookback = [h for h in complete_hours(hour - timedelta(weeks=settings.lookback_weeks), hour)
                        if data.known(h)]
            vol = sum(data.get(brand, h).scored for h in lookback)
            neg = sum(data.get(brand, h).negative for h in lookback)
            basis = f"all hours of the previous {format_duration(hour - lookback[0]) if lookback else '0s'}"
        if vol:
            p = neg / vol
            smoothed = (neg + 1) / (vol + 2)
            error = math.sqrt(smoothed * (1 - smoothed) / now.scored)
            threshold = min(1.0, p + settings.k * error)
            observed = now.negative / now.scored
            if observed >= threshold and observed > p:
                out.append(Signal(
                    brand, "negative_ratio", hour, round(observed, 4), round(p, 4), threshold,
                    now.volume, now.negative, now.scored,
                    f"{neg} of {vol} scored mentions in {basis}; threshold {percent(p)} + {settings.k:g} × {percent(error, 1)}",
                ))

    # A drop to zero needs the hour itself seen in some week: beside where history began, its
    # neighbour alone (the first busy hour after the install) would call a quiet hour a drop.
    same_hours = candidates[settings.window_hours :: 2 * settings.window_hours + 1]
    if now.volume == 0 and any(data.known(h) for h in same_hours):
        volumes = statistics.median(c.volume for c in sample_counts)
        if volumes >= settings.drop_min_baseline:
            out.append(Signal(
                brand, "zero_volume", hour, 0, volumes, settings.drop_min_baseline, 0, 0, 0,
                f"median volume of {span}",
            ))
    return out


def replay(store: Store, config: Config, start: datetime, end: datetime,
           brand: str | None = None) -> list[Signal]:
    """What the rule would have fired for the complete hours in ``[start, end)``,
    with the cooldown applied as the daemon applies it: the hours of the
    :data:`WARM_UP` before ``start`` are judged too, only to start the cooldowns that
    run into the window (an alert at 23:00 keeps the same kind quiet at midnight)."""
    settings, tz = config.alerts, config.monitor.tz
    hours = complete_hours(start - max(WARM_UP, settings.cooldown), end)
    data = HourlyCounts(store, needed_hours(hours, settings, tz))
    brands = [b.name for b in config.own_brands() if brand is None or b.name.lower() == brand.lower()]
    fired: list[Signal] = []
    last: dict[tuple[str, str], datetime] = {}
    for hour in hours:
        for name in brands:
            for signal in evaluate(name, hour, data, settings, tz):
                previous = last.get((name, signal.kind))
                if previous is not None and hour - previous < settings.cooldown:
                    continue
                last[(name, signal.kind)] = hour
                fired.append(signal)
    return [signal for signal in fired if signal.hour >= start]
