"""The ``periods`` CTE shared by period queries: one row per ``(key, start, end)``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from monitor.timeutil import to_db


def periods_cte(periods: Sequence[tuple[str, datetime, datetime]]) -> tuple[str, list[Any]]:
    """``WITH periods(key, start, end) AS (VALUES ...)`` and its parameters (UTC text times).

    Joining a table on ``t.time >= p.start AND t.time < p.end`` makes each
    period one index range scan, whatever zone drew its boundaries.
    """
    values = ", ".join("(?, ?, ?)" for _ in periods)
    params: list[Any] = [p for key, start, end in periods for p in (key, to_db(start), to_db(end))]
    return f"WITH periods(key, start, end) AS (VALUES {values})", params
