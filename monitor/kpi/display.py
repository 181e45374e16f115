"""What each service KPI is, and its values as people read them: 66.7%, +28.6, 5.50/7, 1h05m, 12.50.

:data:`KPIS` is the one table of KPI names, kinds and directions; :func:`human`,
:func:`target_text` and :func:`mark` are the one way values, changes and
targets are written, in `kpi show`, `summary`, the digest and KPI alerts alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Kpi:
    key: str  # the KPI key of `kpi show` JSON: "first_response_median_s"
    label: str  # its name in rows and sentences: "First response time (median)"
    kind: str  # pct (0-100), score (NPS), ces, time (seconds), money
    better: str  # "higher" or "lower": which way is good news
    basis: str | None  # the count it rests on, if it has one
    short: str | None = None  # its column heading, where tables have one: "1st reply (med)"


#: Every KPI, in display order.
KPIS: dict[str, Kpi] = {k.key: k for k in (
    Kpi("csat_pct", "CSAT", "pct", "higher", "csat_responses"),
    Kpi("nps", "NPS", "score", "higher", "nps_responses"),
    Kpi("ces", "CES", "ces", "higher", "ces_responses"),
    Kpi("first_response_median_s", "First response time (median)", "time", "lower", "first_response_count",
        "1st reply (med)"),
    Kpi("first_response_mean_s", "First response time (mean)", "time", "lower", "first_response_count"),
    Kpi("first_response_business_median_s", "First response time (business hours, median)", "time", "lower", None),
    Kpi("first_response_business_mean_s", "First response time (business hours, mean)", "time", "lower", None),
    Kpi("resolution_median_s", "Resolution time (median)", "time", "lower", "resolution_count", "resolution (med)"),
    Kpi("resolution_mean_s", "Resolution time (mean)", "time", "lower", "resolution_count"),
    Kpi("resolution_business_median_s", "Resolution time (business hours, median)", "time", "lower", None),
    Kpi("resolution_business_mean_s", "Resolution time (business hours, mean)", "time", "lower", None),
    Kpi("fcr_pct", "First-contact resolution", "pct", "higher", "fcr_tickets", "FCR"),
    Kpi("retention_pct", "Customer retention", "pct", "higher", None, "retention"),
    Kpi("cost_per_resolution", "Cost per resolution", "money", "lower", "cost_tickets", "cost/res"),
    Kpi("abandonment_pct", "Abandonment rate", "pct", "lower", None, "abandon"),
)}
#: The main KPIs: the per-period tables of `kpi show`, the digest, the targets.
MAIN = ("csat_pct", "nps", "ces", "first_response_median_s", "resolution_median_s", "fcr_pct",
        "retention_pct", "cost_per_resolution", "abandonment_pct")
#: The KPIs `summary` shows beside sentiment (all of them are in its JSON).
SUMMARY = ("csat_pct", "nps", "first_response_median_s", "resolution_median_s", "fcr_pct")
#: KPI -> column heading.
SHORT: dict[str, str] = {key: kpi.short or kpi.label for key, kpi in KPIS.items()}


def label(key: str, *, estimated: bool = False) -> str:
    """The KPI's name; an FCR estimated from replies and reopens says so."""
    return KPIS[key].label + (" (estimated)" if estimated else "")


def human(
    key: str, value: Any, *, signed: bool = False, ces_scale: int | None = None, target: float | None = None,
) -> str | None:
    """A KPI value as people read it: 66.7%, +28.6, 1h05m, 12.50 (``signed``: a change).

    With its ``target``, a value that is not the target but would read as it does is
    shown finer, so that a ✗ never stands beside the very figure it asks for: a median
    of 24h45m is "1d00h45m" beside "≤ 1d00h", not "1d00h"."""
    if value is None:
        return None
    text = _human(key, value, signed, ces_scale, 0)
    finer = 0
    while target is not None and not signed and value != target and finer < 3 \
            and text == _human(key, target, False, ces_scale, finer):
        finer += 1
        text = _human(key, value, False, ces_scale, finer)
    return text


def _human(key: str, value: Any, signed: bool, ces_scale: int | None, finer: int) -> str:
    """:func:`human`, with ``finer`` more units or decimals than people usually read."""
    kind = KPIS[key].kind
    if kind == "time":
        sign = ("+" if value > 0 else "-" if value < 0 else "±") if signed and round(value) else "±" if signed else ""
        return sign + clock(abs(value), units=2 + finer)
    if signed and round(value, 2 if kind in ("ces", "money") else 1) == 0:
        value, plus = 0.0, "±"  # no "-0.0": a change too small to show
    else:
        plus = "+" if signed and value > 0 else ""
    if kind == "pct":
        # KPI percentages are already 0-100 (kpi.formulas.percent) and read to one
        # decimal: not monitor.output.percent, which is for 0-1 sentiment shares.
        return f"{plus}{value:.{1 + finer}f}" + ("" if signed else "%")
    if kind == "score":
        return f"{plus}{value:.{1 + finer}f}" if signed else f"{value:+.{1 + finer}f}"
    if kind == "ces":
        return f"{plus}{value:.{2 + finer}f}" + (f"/{ces_scale}" if ces_scale and not signed else "")
    return f"{plus}{value:,.{2 + finer}f}"


def target_text(key: str, target: float, ces_scale: int | None = None) -> str:
    """A target as people read it, with the direction that meets it: "≥ 80.0%", "≤ 4h00m";
    as finely as it was set ("≥ 80.25%", "≤ 1h07m12s"), up to three more units or decimals."""
    finer = 0
    while finer < 3 and not _exact(key, target, finer):
        finer += 1
    return ("≥ " if KPIS[key].better == "higher" else "≤ ") + _human(key, target, False, ces_scale, finer)


def _exact(key: str, value: float, finer: int) -> bool:
    """Whether :func:`_human` with ``finer`` shows ``value`` without rounding it."""
    if KPIS[key].kind == "time":
        seconds = round(value)
        sizes = (86400, 3600, 60, 1)
        first = next((i for i, size in enumerate(sizes) if seconds >= size), 3)
        return seconds % sizes[min(first + 1 + finer, 3)] == 0
    decimals = (2 if KPIS[key].kind in ("ces", "money") else 1) + finer
    return abs(round(value, decimals) - value) < 1e-9


def mark(meets: bool | None) -> str:
    """"✓" for a KPI that meets its target, "✗" for one that misses it, "" without one."""
    return "✓" if meets is True else "✗" if meets is False else ""


def clock(seconds: float, units: int = 2) -> str:
    """1d02h, 3h05m, 12m30s, 45s (``units=3``: 1d02h05m, 3h05m12s).

    A measured time, rounded to the second and cut to its ``units`` largest units,
    zero-padded so a column of them lines up. Deliberately not
    :func:`monitor.timeutil.format_duration`: that one is exact (``1d2h3m4s``) for
    settings people copy back into the config.
    """
    seconds = round(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    first = next((i for i, (n, _) in enumerate(parts) if n), len(parts) - 1)
    shown = parts[first : first + units]
    return f"{shown[0][0]}{shown[0][1]}" + "".join(f"{n:02d}{unit}" for n, unit in shown[1:])
