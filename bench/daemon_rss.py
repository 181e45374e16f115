"""Memory over 1,000 poll cycles: is the daemon's RSS flat?

Runs the real Daemon (worker threads, a Store per poll, the result queue, the
scheduler, the alert and digest jobs) against local fake sources: three real
HTTP connectors (X through tweepy, Mastodon, Hacker News) polling the test
suite's fake APIs on 127.0.0.1 (tests/fakeserver.py, tests/wire_*.py), where 20
new posts are waiting at every poll, so cursors advance and mentions are stored;
a scripted source returning 20 new mentions per poll; one failing with back-off;
one rate-limited; and a jsonl replay. A simulated clock (time-machine) jumps to
each next job, so a cycle takes milliseconds instead of a minute (the HTTP is
real). Prints RSS every 100 cycles, then start, end, growth after warm-up and
the peak (VmHWM).

    pip install -e '.[test]'     # time-machine, and tests/pluginkit.py
    python bench/daemon_rss.py [--cycles 1000]
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import time_machine

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import pluginkit  # noqa: E402
import wire_hackernews as whn  # noqa: E402
import wire_mastodon as wm  # noqa: E402
import wire_x as wx  # noqa: E402
from fakeserver import FakeServer, Reply, Request  # noqa: E402

from monitor import logs, plugins  # noqa: E402
from monitor.config import load  # noqa: E402
from monitor.daemon import Daemon, limit_malloc_arenas  # noqa: E402

PER_POLL = 20  # new posts waiting at each poll of every HTTP source
KEEP = 100  # posts each fake API keeps (older ones were read long ago): the fakes stay small
CYCLE_SOURCE = "x"  # a cycle: every healthy source polled once


def status_kb() -> dict[str, float]:
    """VmRSS and VmHWM (peak RSS) of this process, in MB."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    if "VmRSS" not in fields:
        raise RuntimeError("no VmRSS in /proc/self/status (Linux only)")
    return {k: int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM")}


def rss_mb() -> float:
    return status_kb()["VmRSS"]


class XSearch:
    """Recent search on the fake server: the posts newer than ``since_id``, newest first."""

    def __init__(self, server: FakeServer) -> None:
        self.posts: list[dict[str, Any]] = []
        self._sequence = itertools.count()  # ids stay unique while the simulated clock stands still
        self.users = [wx.user("2244994945", "jane_doe"), wx.user("783214", "sam", followers=7)]
        server.route("GET", wx.SEARCH, self._search)

    def add(self, count: int) -> None:
        for i in range(count):
            self.posts.append(wx.post(f"acme support {'was great' if i % 2 else 'kept me waiting'} #{i}",
                                      minutes_ago=0, sequence=next(self._sequence), author_id=self.users[i % 2]["id"]))
        del self.posts[:-KEEP]

    def _search(self, request: Request) -> Reply:
        since = int(request.params.get("since_id", 0))
        limit = int(request.params.get("max_results", 100))
        newer = [p for p in self.posts if int(p["id"]) > since]
        return wx.ok(wx.page(sorted(newer, key=lambda p: int(p["id"]))[-limit:], self.users))


class HttpSources:
    """X, Mastodon and Hacker News fake APIs on one FakeServer, topped up after every poll."""

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.x = XSearch(server)
        self.mastodon = wm.Fake(server)
        self.hackernews = whn.Fake(server)
        self._topped_up_at: dict[str, int] = {}
        os.environ.update({"X_BEARER_TOKEN": "bench-bearer", **wm.Fake.env})

    def toml(self) -> str:
        url, every = self.server.url, 'every = "1m"\n'  # a loaded machine gets 10 s to answer
        return (wx.source_toml(url, "x", every, timeout=10)
                + wm.source_toml(url, "mastodon", every + 'query = "#acme"\n', timeout=10)
                + whn.source_toml(url, "hackernews", every + 'query = "acme"\npage_size = 20\n', timeout=10))

    def top_up(self, polls: dict[str, int]) -> None:
        """New posts for every source polled since its last top-up (and before its first poll)."""
        for name, add in (("x", self.x.add), ("mastodon", self._toot), ("hackernews", self._story)):
            if self._topped_up_at.get(name) != polls.get(name, 0):
                add(PER_POLL)
                self._topped_up_at[name] = polls.get(name, 0)
        self.server.clear()  # the server's request log would grow with every poll

    def _toot(self, count: int) -> None:
        for i in range(count):
            self.mastodon.add(f"acme outage again, day {i}", minutes_ago=0)
        del self.mastodon.statuses[:-KEEP]

    def _story(self, count: int) -> None:
        for i in range(count):
            self.hackernews.add(f"Acme widget teardown part {i}", minutes_ago=0)
        del self.hackernews.hits[:-KEEP]


def config_text(workdir: Path, http: HttpSources) -> str:
    replay = workdir / "replay.jsonl"
    replay.write_text("".join(
        f'{{"platform": "rss", "id": "r{i}", "text": "globex outage again {i}", "created_at": "2026-01-01T00:00:00Z"}}\n'
        for i in range(5000)
    ))
    text = f'[monitor]\ndatabase = "{workdir / "bench.db"}"\n[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n'
    text += '[[brands]]\nname = "Globex"\nkeywords = ["globex"]\n[daemon]\nbackoff_max = "5m"\n'
    # Digests and alerts run in the daemon too; without [smtp] they are written as files.
    text += '[digest]\nrecipients = ["bench@example.com"]\n'
    text += http.toml()
    text += (f'[[sources]]\nname = "busy"\nplatform = "scripted"\nbrand = "Acme"\nevery = "1m"\n'
             f'per_poll = {PER_POLL}\nid_prefix = "b-"\n')
    text += '[[sources]]\nname = "down"\nplatform = "scripted"\nevery = "1m"\nmode = "transient"\n'
    text += '[[sources]]\nname = "limited"\nplatform = "scripted"\nevery = "1m"\nmode = "rate_limited"\nretry_after = 90\n'
    text += f'[[sources]]\nname = "replay"\nplatform = "jsonl"\nevery = "1m"\npath = "{replay}"\nmax_per_poll = 5\n'
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=1000)
    args = parser.parse_args()
    logs.configure("ERROR")  # the failing sources would log a warning per poll
    capped = limit_malloc_arenas()  # as `run` does
    workdir = Path(tempfile.mkdtemp(prefix="sm-bench-"))
    sys.path.insert(0, str(pluginkit.install_scripted(workdir / "plugins")))
    plugins.refresh()
    started = time.monotonic()
    samples: list[tuple[int, float]] = []
    with FakeServer() as server, \
            time_machine.travel(datetime(2026, 3, 2, tzinfo=timezone.utc), tick=False) as clock:
        http = HttpSources(server)
        path = workdir / "bench.toml"
        path.write_text(config_text(workdir, http))
        daemon = Daemon(load(path), monotonic=time.time)  # the real thread executor
        daemon.start()
        start_mb = rss_mb()
        while (cycle := daemon.polls[CYCLE_SOURCE]) < args.cycles:
            http.top_up(daemon.polls)
            upcoming = daemon.scheduler.next_run
            clock.shift(max(0.0, (upcoming - datetime.now()).total_seconds()) if upcoming else 60)
            daemon.step()
            daemon.settle(30)
            done = daemon.polls[CYCLE_SOURCE]
            if done > cycle and (done == 1 or done % 100 == 0 or done == args.cycles):
                samples.append((done, rss_mb()))
                print(f"cycle {done:5d}  polls {sum(daemon.polls.values()):6d}  "
                      f"mentions {daemon.store.mentions.count():6d}  RSS {samples[-1][1]:6.1f} MB", flush=True)
        polls = dict(daemon.polls)
        by_platform = dict(daemon.store.conn.execute(
            "SELECT platform, count(*) FROM mentions GROUP BY platform ORDER BY platform").fetchall())
        cursors = {name: (daemon.store.sources.cursor(name) or "")[:60] for name in ("x", "mastodon", "hackernews")}
        daemon.close()
    memory = status_kb()
    warm = next(mb for c, mb in samples if c >= min(100, args.cycles))
    half = next(mb for c, mb in samples if c >= args.cycles // 2)
    print(f"\nmalloc arenas: {'capped at 2 (as in run)' if capped else 'MALLOC_ARENA_MAX=' + os.environ.get('MALLOC_ARENA_MAX', '(glibc default)')}")
    print(f"{args.cycles} cycles, {sum(polls.values())} polls ({polls}) in {time.monotonic() - started:.0f}s")
    print(f"mentions stored by platform: {by_platform}")
    print(f"cursors: {cursors}")
    print(f"RSS at start: {start_mb:.1f} MB; after warm-up (cycle 100): {warm:.1f} MB; at the end: "
          f"{samples[-1][1]:.1f} MB; growth after warm-up {samples[-1][1] - warm:+.1f} MB, over the second half "
          f"{samples[-1][1] - half:+.1f} MB; peak (VmHWM) "
          f"{memory['VmHWM']:.1f} MB")


if __name__ == "__main__":
    os.environ.setdefault("TZ", "UTC")
    main()
