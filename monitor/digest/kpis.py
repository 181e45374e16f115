"""The seam between the digest and the service KPIs.

The digest shows, beside the day's sentiment, whatever :func:`service_kpis`
returns for the same period. Until KPI data can be imported it returns
nothing and the digest says "no KPI data imported". The KPI module plugs in
by returning its figures here; the digest needs no other change.
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


#: (store, config, start, end) -> the KPIs of ``[start, end)``.
KpiProvider = Callable[[Store, Config, datetime, datetime], list[KpiFigure]]


def service_kpis(store: Store, config: Config, start: datetime, end: datetime) -> list[KpiFigure]:
    """The service KPIs of ``[start, end)``, with their change against the period before."""
    return []
