"""Spike alerts: the rule (:mod:`monitor.alerts.rule`) and its delivery
(:mod:`monitor.alerts.channels`).

The daemon calls :func:`run_due` after polling; ``alerts test`` calls
:func:`replay`.
"""

from monitor.alerts.channels import AlertResult, deliver_pending, run_due
from monitor.alerts.rule import KINDS, Signal, replay

__all__ = ["KINDS", "AlertResult", "Signal", "deliver_pending", "replay", "run_due"]
