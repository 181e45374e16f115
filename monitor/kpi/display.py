"""KPI values as people read them: 66.7%, +28.6, 5.50/7, 1h05m, 12.50."""

from __future__ import annotations

from typing import Any

#: KPI -> kind of value: pct (0-100), score (NPS), ces, time (seconds), money.
KINDS: dict[str, str] = {
    "csat_pct": "pct", "nps": "score", "ces": "ces",
    "first_response_median_s": "time", "first_response_mean_s": "time",
    "first_response_business_median_s": "time", "first_response_business_mean_s": "time",
    "resolution_median_s": "time", "resolution_mean_s": "time",
    "resolution_business_median_s": "time", "resolution_business_mean_s": "time",
    "fcr_pct": "pct", "retention_pct": "pct", "cost_per_resolution": "money", "abandonment_pct": "pct",
}


def human(key: str, value: Any, *, signed: bool = False, ces_scale: int | None = None) -> str | None:
    """A KPI value as people read it: 66.7%, +28.6, 1h05m, 12.50 (``signed``: a change)."""
    if value is None:
        return None
    kind = KINDS[key]
    if kind == "time":
        sign = ("+" if value > 0 else "-" if value < 0 else "±") if signed and round(value) else "±" if signed else ""
        return sign + clock(abs(value))
    if signed and round(value, 2 if kind in ("ces", "money") else 1) == 0:
        value, plus = 0.0, "±"  # no "-0.0": a change too small to show
    else:
        plus = "+" if signed and value > 0 else ""
    if kind == "pct":
        return f"{plus}{value:.1f}" + ("" if signed else "%")
    if kind == "score":
        return f"{plus}{value:.1f}" if signed else f"{value:+.1f}"
    if kind == "ces":
        return f"{plus}{value:.2f}" + (f"/{ces_scale}" if ces_scale and not signed else "")
    return f"{plus}{value:,.2f}"


def clock(seconds: float) -> str:
    """1d02h, 3h05m, 12m30s, 45s."""
    seconds = round(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
