"""KPI targets (``[kpi.targets]``): which KPIs meet theirs.

Each target is kept in the unit of the KPI it applies to (seconds for
times), with the KPI's direction of good news (:data:`monitor.kpi.display.KPIS`):
CSAT, NPS, CES, FCR and retention meet a target at or above it; times, cost
and abandonment at or below it. Times are judged on the median, in calendar time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from monitor.config import KpiConfig
from monitor.kpi import formulas
from monitor.kpi.display import KPIS, target_text

#: [kpi.targets] key -> (the KPI it applies to, KPI units per configured unit)
SPECS: dict[str, tuple[str, float]] = {
    "csat_pct": ("csat_pct", 1.0),
    "nps": ("nps", 1.0),
    "ces": ("ces", 1.0),
    "first_response_hours": ("first_response_median_s", 3600.0),
    "resolution_hours": ("resolution_median_s", 3600.0),
    "fcr_pct": ("fcr_pct", 1.0),
    "retention_pct": ("retention_pct", 1.0),
    "cost_per_resolution": ("cost_per_resolution", 1.0),
    "abandonment_pct": ("abandonment_pct", 1.0),
}
DEFAULT_CES = 5.5  # of 7 (CES 2.0), rescaled to [kpi] ces_scale


@dataclass(frozen=True)
class Target:
    kpi: str  # the KPI key of `kpi show` JSON: "first_response_median_s"
    setting: str  # its [kpi.targets] key: "first_response_hours"
    configured: float  # as configured (hours for times)
    value: float  # in the KPI's unit (seconds for times)

    @property
    def better(self) -> str:
        """"higher" or "lower": the KPI's direction of good news."""
        return KPIS[self.kpi].better

    @property
    def basis(self) -> str | None:
        """The count the KPI rests on, if it has one."""
        return KPIS[self.kpi].basis

    def meets(self, value: float | None) -> bool | None:
        """Whether ``value`` meets the target (``None``: no value)."""
        if value is None:
            return None
        return value >= self.value if self.better == "higher" else value <= self.value

    def text(self, ces_scale: int | None = None) -> str:
        """The target as people read it: "≥ 80.0%", "≤ 4h00m"."""
        return target_text(self.kpi, self.value, ces_scale)

    def as_dict(self) -> dict[str, Any]:
        return {"target": self.value, "better": self.better, "setting": self.setting,
                "configured": self.configured}


def targets(settings: KpiConfig) -> list[Target]:
    """The targets in force, in KPI display order (``"off"`` ones left out)."""
    out = []
    for setting, (kpi, scale) in SPECS.items():
        configured = getattr(settings.targets, setting)
        if setting == "ces" and configured is None:
            configured = round(formulas.rescale(DEFAULT_CES, 1, 7, 1, settings.ces_scale), 2)
        if configured == "off" or configured is None:
            continue
        out.append(Target(kpi, setting, configured, configured * scale))
    return out


def by_kpi(settings: KpiConfig) -> dict[str, Target]:
    return {t.kpi: t for t in targets(settings)}


def meets(found: Sequence[Target], kpis: Mapping[str, Any]) -> dict[str, bool | None]:
    """Per KPI with a target: met (true), missed (false) or no data (null)."""
    return {t.kpi: t.meets(kpis.get(t.kpi)) for t in found}


def as_json(found: Sequence[Target]) -> dict[str, dict[str, Any]]:
    return {t.kpi: t.as_dict() for t in found}
