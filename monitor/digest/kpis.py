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
from monitor.kpi import display
from monitor.storage import Store


@dataclass(frozen=True)
class KpiFigure:
    """One KPI of the period, in its own unit (seconds for times), written by
    :mod:`monitor.kpi.display` as `kpi show` writes it."""

    key: str  # the KPI key of `kpi show` JSON: "first_response_median_s"
    value: float
    change: float | None = None  # against the previous period; None: nothing to compare with
    target: float | None = None  # None: no target
    meets: bool | None = None  # met the target (None: no target)
    estimated: bool = False  # an FCR estimated from replies and reopens
    ces_scale: int | None = None  # CES is shown out of this

    @property
    def name(self) -> str:
        """"First response time (median)", "First-contact resolution (estimated)"."""
        return display.label(self.key, estimated=self.estimated)

    @property
    def better(self) -> str:
        """"higher" or "lower": which way the change is good news."""
        return display.KPIS[self.key].better

    @property
    def value_text(self) -> str:
        """"50.0%", "1h07m", "5.50/7"."""
        return display.human(self.key, self.value, ces_scale=self.ces_scale, target=self.target) or ""

    @property
    def change_text(self) -> str:
        """"-50.0", "+37m30s"; "" without a change."""
        return display.human(self.key, self.change, signed=True) or ""

    @property
    def mark(self) -> str:
        """✓ met, ✗ missed, "" without a target."""
        return display.mark(self.meets)

    @property
    def target_text(self) -> str:
        """"≥ 80.0%", "≤ 4h00m"; "" without a target."""
        return "" if self.target is None else display.target_text(self.key, self.target, self.ces_scale)


#: (store, config, start, end) -> the KPIs of ``[start, end)``.
KpiProvider = Callable[[Store, Config, datetime, datetime], list[KpiFigure]]


def service_kpis(store: Store, config: Config, start: datetime, end: datetime) -> list[KpiFigure]:
    """The main service KPIs of ``[start, end)`` that have data, with their change against the period before."""
    from monitor.kpi.report import change, kpis_for
    from monitor.kpi.targets import by_kpi

    spans = [("now", start, end), ("before", start - (end - start), start)]
    kpis = kpis_for(store, spans, config.monitor.tz, config.kpi)
    now, delta = kpis["now"], change(kpis["now"], kpis["before"])
    targets = by_kpi(config.kpi)
    figures = []
    for key in display.MAIN:
        value = now[key]
        if value is None:
            continue
        target = targets.get(key)
        figures.append(KpiFigure(
            key, value, change=delta[key], target=None if target is None else target.value,
            meets=None if target is None else target.meets(value),
            estimated=key == "fcr_pct" and bool(now["fcr_estimated"]), ces_scale=config.kpi.ces_scale,
        ))
    return figures
