"""The service KPIs of periods: overall, per day or per week, with the change
against the previous period.

A period's KPIs come from what happened in it: survey answers given in it
(CSAT, NPS, CES), tickets created in it (first response time), tickets
resolved in it (resolution time, first-contact resolution, cost per
resolution), and the period figures lying wholly within its local days
(retention, cost, abandonment; each from inputs that cover the same days). Times and counts come from
:class:`monitor.storage.kpi.KpiStore`; the formulas from
:mod:`monitor.kpi.formulas`.

Broken down by channel, issue type or tag (:mod:`monitor.kpi.groups`), the
ticket KPIs are those of each group's tickets and the survey KPIs those of
the answers about them; period figures (retention, cost, abandonment) belong
to no group.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from monitor.config import KpiConfig
from monitor.kpi import formulas, targets
from monitor.kpi.groups import BREAKDOWNS, NONE, group_value
from monitor.kpi.records import CONFIGURED_SCALE, SURVEY_KINDS
from monitor.storage import Store
from monitor.storage.kpi import DURATION_METRICS, TicketCounts
from monitor.timeutil import local_midnight, period_before, periods, to_db

#: The KPI values of a period, in display order; each also has a change.
VALUE_KEYS: tuple[str, ...] = (
    "csat_pct", "nps", "ces",
    "first_response_mean_s", "first_response_median_s",
    "first_response_business_mean_s", "first_response_business_median_s",
    "resolution_mean_s", "resolution_median_s",
    "resolution_business_mean_s", "resolution_business_median_s",
    "fcr_pct", "retention_pct", "cost_per_resolution", "abandonment_pct",
)
#: What the values are based on.
COUNT_KEYS: tuple[str, ...] = (
    "tickets_created", "tickets_resolved", "csat_responses", "nps_responses", "ces_responses",
    "first_response_count", "resolution_count", "fcr_tickets", "fcr_estimated", "fcr_estimated_tickets",
    "cost_tickets",
)
KEYS = (*VALUE_KEYS, *COUNT_KEYS)

Span = tuple[str, datetime, datetime]


def kpis_for(
    store: Store,
    spans: Sequence[Span],
    tz: tzinfo,
    settings: KpiConfig | None = None,
    parts: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, dict[str, Any]]:
    """The KPIs of each ``(key, start, end)`` span, keyed like the spans.

    Spans may overlap (a total beside its days); ``parts`` names spans that
    are exactly the union of others (``{"total": [day keys]}``): they are
    added up from those instead of being read again.
    """
    settings = settings or KpiConfig()
    parts = parts or {}
    if not spans:
        return {}
    queried = [span for span in spans if span[0] not in parts]
    surveys, durations, tickets = _histograms(store, queried, settings)
    for union, members in parts.items():
        tickets[union] = sum((tickets.get(m, TicketCounts()) for m in members), TicketCounts())
        for kinds, table in ((("csat", "nps", "ces"), surveys), (tuple(DURATION_METRICS), durations)):
            for kind in kinds:
                table[union, kind] = _merged(table.get((m, kind), {}) for m in members)  # type: ignore[index]
    days = {key: _days(start, end, tz) for key, start, end in spans}
    figures = store.kpi.figures(min(d[0] for d in days.values()), max(d[1] for d in days.values()))

    def resolved_on(runs: Sequence[tuple[date, date]]) -> int:
        """Tickets resolved on the local days of ``runs``."""
        found = store.kpi.ticket_counts([
            (str(i), local_midnight(first, tz), local_midnight(last + timedelta(days=1), tz))
            for i, (first, last) in enumerate(runs)
        ])
        return sum(counts.resolved for counts in found.values())

    out = {}
    for key, _, _ in spans:
        lo, hi = days[key]
        out[key] = _values(key, surveys, durations, tickets, settings,
                           [f for f in figures if f[1] >= lo and f[2] <= hi], resolved_on, days[key])
    return out


def kpis_by_group(
    store: Store, spans: Sequence[Span], by: str, settings: KpiConfig | None = None,
) -> tuple[dict[tuple[str, str], dict[str, Any]], dict[str, list[str]]]:
    """The KPIs of each span per ``by`` group (channel, type or tag), keyed
    ``(span key, group)``, and the values as exported that each group gathers."""
    if by not in BREAKDOWNS:
        raise ValueError(f"by must be one of {BREAKDOWNS}")
    settings = settings or KpiConfig()
    exported: dict[str, set[str]] = defaultdict(set)

    def regroup(key: tuple[str, Any]) -> tuple[str, str]:
        span, value = key
        group = group_value(by, value)
        if value is not None and group != NONE:
            exported[group].add(str(value))
        return span, group

    surveys, durations, tickets = _histograms(store, spans, settings, by, regroup)
    keys = {k for k, _ in surveys} | {k for k, _ in durations} | set(tickets)
    out = {key: _values(key, surveys, durations, tickets, settings, None) for key in keys}
    return out, {group: sorted(values) for group, values in exported.items()}


Histograms = tuple[
    dict[tuple[Any, str], dict[float, int]], dict[tuple[Any, str], dict[float, int]], dict[Any, TicketCounts]
]


def _histograms(store: Store, spans: Sequence[Span], settings: KpiConfig, group: str | None = None,
                regroup: Any = None) -> Histograms:
    """Survey and duration histograms and ticket counts per key (``regroup``
    maps a stored key to the reported one; keys mapped alike are merged)."""
    key_of = regroup or (lambda key: key)
    surveys: dict[tuple[Any, str], dict[float, int]] = defaultdict(lambda: defaultdict(int))
    for key, kind, score, lo, hi, n in store.kpi.survey_histogram(spans, group):
        if kind == "ces" and hi == CONFIGURED_SCALE:  # given on the configured scale
            if score > settings.ces_scale:
                continue  # impossible on a ces_scale lowered since the import: left out
            hi = settings.ces_scale
        surveys[key_of(key), kind][_on_scale(kind, score, lo, hi, settings)] += n
    parts: dict[tuple[Any, str], list[Mapping[float, int]]] = defaultdict(list)
    for (key, metric), histogram in store.kpi.duration_histograms(spans, group).items():
        parts[key_of(key), metric].append(histogram)
    durations = {key: _merged(histograms) for key, histograms in parts.items()}
    tickets: dict[Any, TicketCounts] = {}
    for key, counts in store.kpi.ticket_counts(spans, group).items():
        mapped = key_of(key)
        tickets[mapped] = tickets.get(mapped, TicketCounts()) + counts
    return surveys, durations, tickets


def _values(key: Any, surveys: Mapping[tuple[Any, str], Mapping[float, int]],
            durations: Mapping[tuple[Any, str], Mapping[float, int]], tickets: Mapping[Any, TicketCounts],
            settings: KpiConfig, figures: Sequence[tuple[str, date, date, float]] | None,
            resolved_on: Any = None, days: tuple[date, date] | None = None) -> dict[str, Any]:
    """Every KPI of one key; ``figures`` None: the key has no period figures (a group)."""
    values: dict[str, Any] = {}
    _surveys(values, {kind: surveys.get((key, kind), {}) for kind in ("csat", "nps", "ces")}, settings)
    counts = tickets.get(key, TicketCounts())
    _tickets(values, counts, {m: durations.get((key, m), {}) for m in DURATION_METRICS})
    if figures is not None and days is not None:
        _figures(values, figures, counts.resolved, resolved_on, days)
    return {k: _round(values.get(k)) for k in KEYS}


def _merged(histograms: Iterable[Mapping[float, int]]) -> dict[float, int]:
    total: dict[float, int] = defaultdict(int)
    for histogram in histograms:
        for value, n in histogram.items():
            total[value] += n
    return total


def change(current: Mapping[str, Any], previous: Mapping[str, Any]) -> dict[str, float | None]:
    """Each KPI value minus the previous period's (percentage points for percentages)."""
    return {
        k: _round(current[k] - previous[k]) if current.get(k) is not None and previous.get(k) is not None else None
        for k in VALUE_KEYS
    }


def _on_scale(kind: str, score: float, lo: int, hi: int, settings: KpiConfig) -> float:
    """CSAT answers go on 1-5, CES answers on 1..ces_scale, NPS stays 0-10."""
    if kind == "csat" and (lo, hi) != (1, 5):
        return formulas.rescale(score, lo, hi, 1, 5)
    if kind == "ces" and (lo, hi) != (1, settings.ces_scale):
        return formulas.rescale(score, lo, hi, 1, settings.ces_scale)
    return score


def _surveys(values: dict[str, Any], histograms: Mapping[str, Mapping[float, int]], settings: KpiConfig) -> None:
    csat = formulas.csat_from_ratings(histograms["csat"], settings.csat_satisfied_min, settings.csat_neutral)
    values["csat_pct"], values["csat_responses"] = csat.value, csat.responses
    values["nps"], values["nps_responses"] = formulas.nps_from_scores(histograms["nps"])
    values["ces"], values["ces_responses"] = formulas.mean_of(histograms["ces"])


def _tickets(values: dict[str, Any], counts: TicketCounts, durations: Mapping[str, Mapping[float, int]]) -> None:
    values["tickets_created"] = counts.created
    values["tickets_resolved"] = counts.resolved
    for metric, histogram in durations.items():
        values[f"{metric}_mean_s"] = formulas.mean_of(histogram)[0]
        values[f"{metric}_median_s"] = formulas.median_of(histogram)
    values["first_response_count"] = sum(durations["first_response"].values())
    values["resolution_count"] = sum(durations["resolution"].values())
    values["fcr_pct"] = formulas.fcr(counts.first_contact, counts.first_contact_known)
    values["fcr_tickets"] = counts.first_contact_known
    values["fcr_estimated"] = counts.first_contact_estimated > 0 if counts.first_contact_known else None
    values["fcr_estimated_tickets"] = counts.first_contact_estimated  # of fcr_tickets


Figure = tuple[str, date, date, float]


def _figures(values: dict[str, Any], figures: Sequence[Figure], resolved: int,
             resolved_on: Any, days: tuple[date, date]) -> None:
    """Retention, cost per resolution and abandonment from the figures within a period.

    Each KPI combines only inputs that cover the same days, so a figure missing
    for part of the period never skews it: abandonment uses the days that have
    both contacts offered and handled; retention runs from the start of the
    earliest ``customers_start`` to the end of the latest ``customers_end`` and
    is unknown unless ``customers_new`` covers every day of that span; cost per
    resolution divides the cost by the tickets resolved on the days that have a
    cost (``resolved_on(runs of days)`` counts those when they are not all of
    ``days``, the period's first and last local day).
    """
    rows: dict[str, list[Figure]] = defaultdict(list)
    for figure in figures:
        rows[figure[0]].append(figure)
    offered, handled = _same_days(rows["contacts_offered"], rows["contacts_handled"])
    if offered:
        values["abandonment_pct"] = formulas.abandonment(_sum(offered), _sum(handled))
    starts, ends = rows["customers_start"], rows["customers_end"]
    if starts and ends and rows["customers_new"]:
        first = min(starts, key=lambda f: f[1])
        last = max(ends, key=lambda f: f[2])
        new = [f for f in rows["customers_new"] if f[1] >= first[1] and f[2] <= last[2]]
        if first[1] <= last[2] and _covered(new) == _span(first[1], last[2]):
            values["retention_pct"] = formulas.retention(first[3], last[3], _sum(new))
    cost = rows["operating_cost"]
    if cost:
        covered = _covered(cost)
        if covered != _span(*days):
            resolved = resolved_on(_runs(covered))
        values["cost_per_resolution"] = formulas.cost_per_resolution(_sum(cost), resolved)
        values["cost_tickets"] = resolved  # what the cost was divided by: the basis of the KPI


def _same_days(a: Sequence[Figure], b: Sequence[Figure]) -> tuple[list[Figure], list[Figure]]:
    """The figures of ``a`` and of ``b`` that cover the same days, as many as can."""
    a, b = list(a), list(b)
    while True:
        common = _covered(a) & _covered(b)
        kept_a = [f for f in a if _span(f[1], f[2]) <= common]
        kept_b = [f for f in b if _span(f[1], f[2]) <= common]
        if (len(kept_a), len(kept_b)) == (len(a), len(b)):
            return a, b
        a, b = kept_a, kept_b


def _span(first: date, last: date) -> set[int]:
    """The days ``first`` to ``last`` inclusive, as ordinals."""
    return set(range(first.toordinal(), last.toordinal() + 1))


def _covered(figures: Iterable[Figure]) -> set[int]:
    days: set[int] = set()
    for _, start, end, _ in figures:
        days |= _span(start, end)
    return days


def _runs(days: set[int]) -> list[tuple[date, date]]:
    """Consecutive days as ``(first, last)`` runs."""
    runs: list[tuple[date, date]] = []
    for day in sorted(days):
        if runs and runs[-1][1].toordinal() == day - 1:
            runs[-1] = (runs[-1][0], date.fromordinal(day))
        else:
            runs.append((date.fromordinal(day), date.fromordinal(day)))
    return runs


def _sum(figures: Iterable[Figure]) -> float:
    return sum(f[3] for f in figures)


def _days(start: datetime, end: datetime, tz: tzinfo) -> tuple[date, date]:
    """The local days ``[start, end)`` touches, first and last."""
    return start.astimezone(tz).date(), (end - timedelta(microseconds=1)).astimezone(tz).date()


def _round(value: Any) -> Any:
    return round(value, 2) if isinstance(value, float) else value


@dataclass
class KpiReport:
    start: datetime
    end: datetime
    timezone: str
    by: str | None
    settings: KpiConfig
    total: dict[str, Any] = field(default_factory=dict)
    previous: dict[str, Any] = field(default_factory=dict)  # the window before, as long
    rows: list[tuple[str, datetime, datetime, dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    exported: dict[str, list[str]] = field(default_factory=dict)  # by channel: the values each kind gathers
    #: By a group: the window's answers whose ticket_id names no stored ticket, per kind
    #: (under "(none)"), and up to 4 (format, ticket id) they name.
    unmatched: dict[str, int] = field(default_factory=dict)
    unmatched_named: list[tuple[str, str]] = field(default_factory=list)

    @property
    def targets(self) -> list[targets.Target]:
        return targets.targets(self.settings)

    def as_dict(self) -> dict[str, Any]:
        found = self.targets
        key = self.by if self.by in BREAKDOWNS else "period"

        def row(name: str, start: datetime, end: datetime, kpis: dict[str, Any], delta: dict[str, Any]) -> dict[str, Any]:
            out = {key: name, "from": to_db(start), "to": to_db(end), "kpis": kpis, "change": delta,
                   "meets_target": targets.meets(found, kpis)}
            if self.by == "channel":
                out["as_exported"] = self.exported.get(name, [])
            return out

        out = {
            "from": to_db(self.start),
            "to": to_db(self.end),
            "timezone": self.timezone,
            "by": self.by,
            "previous_window": {"from": to_db(self.start - (self.end - self.start)), "to": to_db(self.start)},
            "settings": {
                "csat_satisfied_min": self.settings.csat_satisfied_min,
                "csat_neutral": self.settings.csat_neutral,
                "ces_scale": self.settings.ces_scale,
            },
            "targets": targets.as_json(found),
            "total": {"kpis": self.total, "previous": self.previous, "change": change(self.total, self.previous),
                      "meets_target": targets.meets(found, self.total)},
            "rows": [row(*r) for r in self.rows],
        }
        if self.by in BREAKDOWNS:
            out["unmatched_answers"] = {kind: self.unmatched.get(kind, 0) for kind in SURVEY_KINDS}
        return out


def kpi_report(
    store: Store, *, start: datetime, end: datetime, tz: tzinfo, tz_name: str = "UTC",
    by: str | None = None, settings: KpiConfig | None = None,
) -> KpiReport:
    """KPIs over ``[start, end)`` and the window before it; with ``by`` day or week,
    per local day or ISO week too, each with the change against the period before;
    with ``by`` channel, type or tag, per group, against the same group before."""
    settings = settings or KpiConfig()
    report = KpiReport(start, end, tz_name, by, settings)
    spans: list[Span] = [("total", start, end), ("previous", start - (end - start), start)]
    rows: list[Span] = []
    if by in BREAKDOWNS:
        kpis = kpis_for(store, spans, tz, settings)
        report.total, report.previous = kpis["total"], kpis["previous"]
        groups, report.exported = kpis_by_group(store, spans, by, settings)
        report.unmatched, report.unmatched_named = store.kpi.unmatched_answers(start, end, examples=4)
        names = {g for span, g in groups if span == "total"}
        for name in sorted(names, key=lambda g: (g == NONE, -groups["total", g]["tickets_created"], g)):
            now = groups["total", name]
            before = groups.get(("previous", name), {})
            report.rows.append((name, start, end, now, change(now, before)))
        return report
    if by is not None:
        if by not in ("day", "week"):
            raise ValueError(f"by must be day, week or one of {BREAKDOWNS}")
        rows = periods(start, end, by, tz)
        spans.append(("before-first", *period_before(start, by, tz)))
    kpis = kpis_for(store, [*spans, *rows], tz, settings, parts={"total": [key for key, _, _ in rows]} if rows else None)
    report.total, report.previous = kpis["total"], kpis["previous"]
    before = kpis.get("before-first", {})
    for key, lo, hi in rows:
        report.rows.append((key, lo, hi, kpis[key], change(kpis[key], before)))
        before = kpis[key]
    return report
