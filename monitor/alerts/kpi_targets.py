"""KPI targets missed the day before, raised as alerts (``[alerts] kpi_targets``).

Once ``[digest] send_at`` has passed, every run judges the previous local
day's KPIs against ``[kpi.targets]``. A KPI that missed its target, with at
least ``kpi_min_count`` answers or tickets behind it, is recorded in the
``alerts`` table as kind ``kpi_target:<kpi>`` for that day (brand
:data:`TEAM`): one row per KPI and day, so it is delivered once, through the
same channels and retries as spike alerts. KPI data imported later in the
day is judged when it arrives.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from monitor.config import Config
from monitor.kpi.display import human, label
from monitor.storage import Store
from monitor.timeutil import day_bounds, due_day

log = logging.getLogger(__name__)

KIND = "kpi_target:"  # + the KPI key, e.g. kpi_target:csat_pct
TEAM = "service KPIs"  # the alerts' brand: KPIs are the whole team's


def is_kpi_alert(kind: str) -> bool:
    return kind.startswith(KIND)


def misses(store: Store, config: Config, day: date) -> list[dict[str, Any]]:
    """Alert rows for the KPIs that missed their target on the local ``day``."""
    from monitor.kpi.report import kpis_for
    from monitor.kpi.targets import targets

    tz = config.monitor.tz
    start, end = day_bounds(day, tz)
    kpis = kpis_for(store, [("day", start, end)], tz, config.kpi)["day"]
    scale = config.kpi.ces_scale
    rows = []
    for target in targets(config.kpi):
        value = kpis[target.kpi]
        count = kpis[target.basis] if target.basis else None
        if target.meets(value) is not False or (count is not None and count < config.alerts.kpi_min_count):
            continue
        unit = "answers" if target.basis and target.basis.endswith("_responses") else "tickets"
        based = f" ({count} {unit})" if count else ""
        rows.append({
            "brand": TEAM, "kind": KIND + target.kpi, "hour": start, "observed": value, "baseline": None,
            "threshold": target.value, "volume": count,
            "message": f"{label(target.kpi)} was {human(target.kpi, value, ces_scale=scale, target=target.value)}"
                       f" on {day:%a %d %b}{based}, missing its target {target.text(scale)}.",
        })
    return rows


def record_due(store: Store, config: Config, now: datetime) -> int:
    """Record the misses of the day before once today's ``send_at`` has passed;
    returns how many were new."""
    tz = config.monitor.tz
    day = due_day(now, tz, config.digest.send_at)
    if day != now.astimezone(tz).date() - timedelta(days=1):
        return 0  # today's send_at has not passed: the day before yesterday was judged yesterday
    new = 0
    with store.transaction():
        for row in misses(store, config, day):
            if store.alerts.add(row, config.alerts.channels, now) is not None:
                log.warning("alert: %s", row["message"])
                new += 1
    return new
