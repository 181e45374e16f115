"""Memory over 1,000 poll cycles: is the daemon's RSS flat?

Runs the real Daemon (worker threads, a Store per poll, the result queue, the
scheduler) against local fake sources: three scripted sources that return new
mentions on every poll, one failing with back-off, one rate-limited, and a
jsonl replay. A simulated clock (time-machine) jumps to each next job, so a
cycle takes milliseconds instead of a minute. Prints RSS every 100 cycles and
the growth after warm-up.

    pip install -e '.[test]'     # time-machine, and tests/pluginkit.py
    python bench/daemon_rss.py [--cycles 1000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import time_machine

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import pluginkit  # noqa: E402

from monitor import logs, plugins  # noqa: E402
from monitor.config import load  # noqa: E402
from monitor.daemon import Daemon  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status (Linux only)")


def config_text(workdir: Path) -> str:
    replay = workdir / "replay.jsonl"
    replay.write_text("".join(
        f'{{"platform": "rss", "id": "r{i}", "text": "globex outage again {i}", "created_at": "2026-01-01T00:00:00Z"}}\n'
        for i in range(5000)
    ))
    text = f'[monitor]\ndatabase = "{workdir / "bench.db"}"\n[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n'
    text += '[[brands]]\nname = "Globex"\nkeywords = ["globex"]\n[daemon]\nbackoff_max = "5m"\n'
    # Digests and alerts run in the daemon too; without [smtp] they are written as files.
    text += '[digest]\nrecipients = ["bench@example.com"]\n'
    for i in range(3):
        text += (f'[[sources]]\nname = "busy{i}"\nplatform = "scripted"\nbrand = "Acme"\nevery = "1m"\n'
                 f'per_poll = 20\nid_prefix = "b{i}-"\n')
    text += '[[sources]]\nname = "down"\nplatform = "scripted"\nevery = "1m"\nmode = "transient"\n'
    text += '[[sources]]\nname = "limited"\nplatform = "scripted"\nevery = "1m"\nmode = "rate_limited"\nretry_after = 90\n'
    text += f'[[sources]]\nname = "replay"\nplatform = "jsonl"\nevery = "1m"\npath = "{replay}"\nmax_per_poll = 5\n'
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=1000)
    args = parser.parse_args()
    logs.configure("ERROR")  # the failing sources would log a warning per poll
    workdir = Path(tempfile.mkdtemp(prefix="sm-bench-"))
    sys.path.insert(0, str(pluginkit.install_scripted(workdir / "plugins")))
    plugins.refresh()
    path = workdir / "bench.toml"
    path.write_text(config_text(workdir))
    started = time.monotonic()
    samples: list[tuple[int, float]] = []
    with time_machine.travel(datetime(2026, 3, 2, tzinfo=timezone.utc), tick=False) as clock:
        daemon = Daemon(load(path), monotonic=time.time)  # the real thread executor
        daemon.start()
        while (cycle := daemon.polls["busy0"]) < args.cycles:  # a cycle: every healthy source once
            upcoming = daemon.scheduler.next_run
            clock.shift(max(0.0, (upcoming - datetime.now()).total_seconds()) if upcoming else 60)
            daemon.step()
            daemon.settle(30)
            if daemon.polls["busy0"] > cycle and (daemon.polls["busy0"] == 1 or daemon.polls["busy0"] % 100 == 0):
                cycle = daemon.polls["busy0"]
                samples.append((cycle, rss_mb()))
                print(f"cycle {cycle:5d}  polls {sum(daemon.polls.values()):6d}  "
                      f"mentions {daemon.store.mentions.count():6d}  RSS {samples[-1][1]:6.1f} MB", flush=True)
        polls = dict(daemon.polls)
        daemon.close()
    warm = next(mb for c, mb in samples if c >= min(100, args.cycles))
    print(f"\n{args.cycles} cycles, {sum(polls.values())} polls ({polls}) in {time.monotonic() - started:.0f}s")
    print(f"RSS after warm-up (cycle 100): {warm:.1f} MB; at the end: {samples[-1][1]:.1f} MB; "
          f"growth {samples[-1][1] - warm:+.1f} MB")


if __name__ == "__main__":
    os.environ.setdefault("TZ", "UTC")
    main()
