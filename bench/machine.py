"""What the bench scripts print about the machine they ran on, and small helpers they share."""

from __future__ import annotations

import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def describe() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), platform.processor() or "?")
    mem = next((int(line.split()[1]) / 1024 / 1024 for line in _read("/proc/meminfo").splitlines()
                if line.startswith("MemTotal")), 0.0)
    import monitor

    installed = Path(monitor.__file__).resolve()
    mode = "editable (the work tree)" if REPO in installed.parents else "installed (site-packages)"
    return (f"machine: {cpu}, {os.cpu_count()} CPUs, {mem:.0f} GiB RAM; Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}; sentiment-monitor {mode}; load average "
            f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}")


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def cli() -> list[str]:
    """The ``sentiment-monitor`` command of this Python (its console script beside it)."""
    script = Path(sys.executable).with_name("sentiment-monitor")
    return [str(script)] if script.exists() else [sys.executable, "-m", "monitor"]


def wall(cmd: Sequence[str], runs: int, **kwargs: object) -> list[float]:
    """Wall times of ``runs`` runs of ``cmd`` (output discarded)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True, **kwargs)  # type: ignore[call-overload]
        times.append(time.perf_counter() - started)
    return times


def side_by_side(commands: dict[str, Sequence[str]], runs: int, **kwargs: object) -> dict[str, float]:
    """Median wall time of each command, the commands run in turn (so machine load hits all alike)."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, cmd in commands.items():
            times[name] += wall(cmd, 1, **kwargs)
    return {name: statistics.median(t) for name, t in times.items()}
