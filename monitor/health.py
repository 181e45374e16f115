"""Is a source working? One word for `status`, the logs and alerts.

Silent connector death is the failure users fear most, so the verdict does
not trust the daemon to be alive: it is computed from what the database says
happened. A source with no successful poll for ``not_working_after``
intervals is "not working", whatever the reason (expired credentials, a
hung connector, a daemon that is not running).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.config import DaemonConfig, SourceConfig
from monitor.timeutil import format_duration, from_db

OK = "ok"
FAILING = "failing"
NOT_WORKING = "not working"
NEVER_POLLED = "never polled"
DISABLED = "disabled"
REMOVED = "removed"  # stored history of a source no longer configured (``status`` only)


@dataclass(frozen=True)
class Health:
    state: str  # one of OK, FAILING, NOT_WORKING, NEVER_POLLED, DISABLED
    note: str  # why, in a few words


def assess(
    source: SourceConfig,
    state: dict[str, Any] | None,
    *,
    now: datetime,
    settings: DaemonConfig,
    first_run_at: datetime | None = None,
) -> Health:
    """The health of ``source`` given its stored ``state`` (a ``sources`` row, or None)."""
    if not source.enabled:
        return Health(DISABLED, "enabled = false")
    if not state or not state.get("last_poll_at"):
        return Health(NEVER_POLLED, "no poll recorded yet")
    failures = int(state.get("consecutive_failures") or 0)
    last_success = from_db(state["last_success_at"]) if state.get("last_success_at") else None
    since = last_success or first_run_at
    limit = source.every * settings.not_working_after
    if since is not None and now - since > limit:
        quiet = format_duration(now - since)
        what = f"no successful poll for {quiet}" if last_success else f"never succeeded in {quiet}"
        return Health(
            NOT_WORKING,
            f"{what} ({settings.not_working_after} intervals of {format_duration(source.every)})",
        )
    if failures:
        kind = state.get("last_error_kind") or "error"
        return Health(FAILING, f"{failures} failed poll(s) in a row ({kind})")
    return Health(OK, "last poll succeeded")
