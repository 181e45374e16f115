"""Start-up: what a command costs before it does anything, and what it imports.

    python bench/startup.py [--runs 15]

In a temporary directory with the embedded default config and an empty database
(``sentiment-monitor init``), times side by side ``python -c pass``,
``python -c "import sqlite_utils, click"`` and ``sentiment-monitor negatives`` (target:
at most 2x the second), then lists, for commands that touch no network, which heavy
or platform libraries they import (``python -X importtime``): none of tweepy, praw,
prawcore, requests, feedparser may appear.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cli, describe, side_by_side  # noqa: E402

PLATFORM_CLIENTS = ("tweepy", "praw", "prawcore", "requests", "feedparser")
HEAVY = ("sqlite_utils", "numpy", "vaderSentiment", "py3langid", "jinja2", "tabulate", "dateutil", "PIL",
         "importlib.metadata", "logging")
COMMANDS = {
    "negatives": ["negatives"],
    "mentions --format json": ["mentions", "--format", "json"],
    "summary --by day": ["summary", "--by", "day"],
    "status": ["status"],
    "kpi show": ["kpi", "show"],
    "classify": ["classify", "the refund never came"],
    "import": ["import", "one.jsonl"],
}


def imported(cmd: list[str], cwd: Path) -> set[str]:
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "monitor", *cmd], cwd=cwd,
                          capture_output=True, text=True, check=True)
    return {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    print(describe())
    with tempfile.TemporaryDirectory(prefix="sm-startup-") as tmp:
        work = Path(tmp)
        env = {k: v for k, v in os.environ.items() if k != "SENTIMENT_MONITOR_CONFIG"}
        subprocess.run([*cli(), "init"], cwd=work, env=env, stdout=subprocess.DEVNULL, check=True)
        (work / "one.jsonl").write_text('{"platform": "x", "id": "1", "text": "acme ok", "created_at": "2026-01-01T00:00:00Z"}\n')
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "python -c 'import sqlite_utils, click'": [sys.executable, "-c", "import sqlite_utils, click"],
            "sentiment-monitor negatives (empty database)": [*cli(), "negatives"],
        }
        side_by_side(commands, 2, cwd=work, env=env)  # warm up
        times = side_by_side(commands, args.runs, cwd=work, env=env)
        for name, seconds in times.items():
            print(f"{name:48s} {seconds * 1000:6.0f} ms")
        base = times["python -c 'import sqlite_utils, click'"]
        ratio = times["sentiment-monitor negatives (empty database)"] / base
        print(f"negatives / import sqlite_utils, click: {ratio:.2f}  (target <= 2; median of {args.runs})")
        print("imports per command (platform clients must be absent):")
        for name, cmd in COMMANDS.items():
            modules = imported(cmd, work)
            clients = [m for m in PLATFORM_CLIENTS if m in modules]
            heavy = [m for m in HEAVY if m in modules]
            print(f"  {name:24s} {len(modules):4d} modules; platform clients: {', '.join(clients) or 'none'};"
                  f" heavy: {', '.join(heavy) or 'none'}")


if __name__ == "__main__":
    main()
