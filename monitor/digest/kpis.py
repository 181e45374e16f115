"""The seam between the digest and the service KPIs.

The digest shows, beside the day's sentiment, whatever :func:`service_kpis`
returns for the same period: the KPIs of :mod:`monitor.kpi.report` that have
data that day, each with its change against the day before and, where
``[kpi.targets]`` sets one, its target and whether it was met. With no KPI
data imported it returns nothing and the digest says "no KPI data imported".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from monitor.config import Config
from monitor.storage import Store


@dataclass(frozen=True)
class KpiFigure:
    name: str  # "First response time (median)"
    value: float | None  # None: no data for the period
    unit: str  # "h", "%", "" ...
    change: float | None = None  # against the previous period, in the same unit
    better: str = "lower"  # "lower" or "higher": which way the change is good news
    target: float | None = None  # in the same unit; None: no target
    meets: bool | None = None  # met the target (None: no target)

    @property
    def mark(self) -> str:
        """✓ met, ✗ missed, "" without a target."""
        return "✓" if self.meets is True else "✗" if self.meets is False else ""

    @property
    def target_text(self) -> str:
        """"≥ 80%", "≤ 4h"; "" without a target."""
        if self.target is None:
            return ""
        return f"{'≥' if self.better == 'higher' else '≤'} {self.target:g}{self.unit}"


#: (store, config, start, end) -> the KPIs of ``[start, end)``.
KpiProvider = Callable[[Store, Config, datetime, datetime], list[KpiFigure]]


#: KPI key -> (name, kind, which way is good news). Kinds: "pct", "time", "number".
_SHOWN = {
    "csat_pct": ("CSAT", "pct", "higher"),
    "nps": ("NPS", "number", "higher"),
    "ces": ("CES", "number", "higher"),
    "first_response_median_s": ("First response time (median)", "time", "lower"),
    "resolution_median_s": ("Resolution time (median)", "time", "lower"),
    "fcr_pct": ("First-contact resolution", "pct", "higher"),
    "retention_pct": ("Customer retention", "pct", "higher"),
    "cost_per_resolution": ("Cost per resolution", "number", "lower"),
    "abandonment_pct": ("Abandonment rate", "pct", "lower"),
}


def service_kpis(store: Store, config: Config, start: datetime, end: datetime) -> list[KpiFigure]:
    """The service KPIs of ``[start, end)``, with their change against the period before."""
    from monitor.kpi.report import change, kpis_for
    from monitor.kpi.targets import by_kpi

    spans = [("now", start, end), ("before", start - (end - start), start)]
    kpis = kpis_for(store, spans, config.monitor.tz, config.kpi)
    now, delta = kpis["now"], change(kpis["now"], kpis["before"])
    targets = by_kpi(config.kpi)
    figures = []
    for key, (name, kind, better) in _SHOWN.items():
        value = now[key]
        if value is None:
            continue
        if key == "fcr_pct" and now["fcr_estimated"]:
            name += " (estimated)"
        if key == "ces":
            name += f" (1-{config.kpi.ces_scale})"
        unit, scale = {"pct": ("%", 1.0), "number": ("", 1.0)}.get(kind) or (
            ("h", 3600.0) if value >= 3600 else ("min", 60.0)
        )
        moved = delta[key]
        target = targets.get(key)
        figures.append(KpiFigure(
            name, round(value / scale, 2), unit, change=None if moved is None else round(moved / scale, 1),
            better=better, target=None if target is None else round(target.value / scale, 2),
            meets=None if target is None else target.meets(value),
        ))
    return figures
