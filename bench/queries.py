"""Queries on a large database: the CLI against a bare sqlite3 script, side by side.

    python bench/queries.py [--mentions 10000000] [--db PATH] [--runs 7]

Builds (or reuses, with ``--db``) a database of N mentions: a year ending now, three
brands, eight platforms, about 25% negative, texts from the bundled demo corpus. The
rows are written straight into the schema with SQL (building is not what is measured).
Then it prints the query plans of the SQL the CLI runs and times, in turn, each of

    sentiment-monitor negatives --since 24h --limit 50 --format json
    sentiment-monitor summary --since 30d --by day --format json

against a bare ``python -c`` script that runs the equivalent SQL with the standard
``sqlite3`` module on the same file and prints the same rows as JSON: median wall
time of each, and the ratio (target <= 3).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import REPO, cli, describe, side_by_side  # noqa: E402

PLATFORMS = ("x", "x", "x", "reddit", "mastodon", "bluesky", "facebook", "instagram", "hackernews", "rss")
BRANDS = ("Acme",) * 6 + ("Globex",) * 3 + ("Initech",)
LABELS = (("negative", -0.52),) * 25 + (("positive", 0.61),) * 35 + (("neutral", 0.0),) * 38 + (("unsupported", None),) * 2

BARE_NEGATIVES = """
import json, sqlite3, sys
from datetime import datetime, timedelta, timezone
columns = {columns!r}
since = (datetime.now(timezone.utc) - timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%SZ")
rows = sqlite3.connect(sys.argv[1]).execute(
    f"SELECT {{', '.join(columns)}} FROM mentions WHERE label = 'negative' AND created_at >= ?"
    " ORDER BY created_at DESC, platform, id LIMIT 50", [since])
print(json.dumps([dict(zip(columns, row)) for row in rows], ensure_ascii=False, indent=2))
"""
BARE_SUMMARY = """
import json, sqlite3, sys
from datetime import datetime, timedelta, timezone
now = datetime.now(timezone.utc)
start, end = (t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in (now - timedelta(days=30), now))
days = {}
for day, label, n in sqlite3.connect(sys.argv[1]).execute(
    "SELECT substr(created_at, 1, 10), label, count(*) FROM mentions"
    " WHERE created_at >= ? AND created_at < ? GROUP BY 1, 2", [start, end]):
    days.setdefault(day, {})[label] = n
print(json.dumps(days, indent=2))
"""


def build(db: Path, count: int) -> None:
    """``count`` mentions over the year ending now, written with plain SQL in time order."""
    from monitor.storage import Store
    from monitor.storage.mentions import COLUMNS

    Store.open(db).close()  # the schema, through the migrations
    texts = [json.loads(line)["text"] for line in (REPO / "connectors" / "data" / "demo.jsonl").open(encoding="utf-8")]
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")  # building only
    conn.execute("PRAGMA cache_size = -262144")
    sql = f"INSERT INTO mentions ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    end = datetime.now(timezone.utc)
    start = end - timedelta(days=365)
    step = (end - start).total_seconds() / count
    rng = random.Random(9)
    started = time.perf_counter()
    chunk = 200_000
    for first in range(0, count, chunk):
        rows = []
        for i in range(first, min(count, first + chunk)):
            when = (start + timedelta(seconds=i * step)).strftime("%Y-%m-%dT%H:%M:%SZ")
            platform = PLATFORMS[i % len(PLATFORMS)]
            label, compound = rng.choice(LABELS)
            rows.append((
                platform, f"{i:010d}", "bench", rng.choice(BRANDS), texts[i % len(texts)], f"user{i % 5003}",
                None, when, when, "en", i % 7, i % 3, i % 2, 100 + i % 900, compound, label,
                "vader/2.bench", '{"bench":true}', label, "platform",
            ))
        conn.execute("BEGIN")
        conn.executemany(sql, rows)
        conn.execute("COMMIT")
        done = first + len(rows)
        print(f"\r  built {done:,} of {count:,} ({done / (time.perf_counter() - started):,.0f}/s)", end="", flush=True)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    print()


def plans(db: Path) -> None:
    """The SQL the two commands run (captured from the library), with its query plan."""
    from monitor.storage import Store
    from monitor.storage.mentions import MentionFilter
    from monitor.summary import summarize
    from monitor.timeutil import utcnow

    store = Store.open(db, create=False)
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    now = utcnow()
    store.mentions.query(MentionFilter(since=now - timedelta(hours=24), label="negative", limit=50))
    summarize(store, start=now - timedelta(days=30), end=now, tz=timezone.utc, by="day")
    store.conn.set_trace_callback(None)
    for sql in statements:
        if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
            continue
        shown = " ".join(sql.split())
        shown = shown if len(shown) < 240 else shown[:120] + " ... " + shown[-110:]
        steps = [row[-1] for row in store.conn.execute(f"EXPLAIN QUERY PLAN {sql}")]
        print(f"  {shown}\n      " + "; ".join(steps))
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mentions", type=int, default=10_000_000)
    parser.add_argument("--db", type=Path, help="use (or build, if missing) this database and keep it")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print(describe())
    work = Path(tempfile.mkdtemp(prefix="sm-queries-"))
    db = args.db or work / "bench.db"
    if not db.exists():
        build(db, args.mentions)
    count = sqlite3.connect(db).execute("SELECT count(*) FROM mentions").fetchone()[0]
    print(f"database: {count:,} mentions, {db.stat().st_size / 1e9:.1f} GB, {db}")
    print("query plans of the SQL the CLI runs:")
    plans(db)

    from monitor.storage.mentions import PUBLIC_COLUMNS

    env = {k: v for k, v in os.environ.items() if k != "SENTIMENT_MONITOR_CONFIG"}
    cases = {
        "negatives": (["negatives", "--since", "24h", "--limit", "50", "--format", "json"],
                      BARE_NEGATIVES.format(columns=list(PUBLIC_COLUMNS))),
        "summary": (["summary", "--since", "30d", "--by", "day", "--format", "json"], BARE_SUMMARY),
    }
    for name, (command, bare) in cases.items():
        commands = {"cli": [*cli(), "--db", str(db), *command], "bare": [sys.executable, "-c", bare, str(db)]}
        for cmd in commands.values():  # warm the OS page cache for both
            subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True, cwd=work, env=env)
        times = side_by_side(commands, args.runs, cwd=work, env=env)
        print(f"{name}: CLI {times['cli'] * 1000:.0f} ms, bare sqlite3 script {times['bare'] * 1000:.0f} ms"
              f" (median of {args.runs})  ratio {times['cli'] / times['bare']:.2f}  (target <= 3)")
    if not args.db:
        for path in work.iterdir():
            path.unlink()
        work.rmdir()


if __name__ == "__main__":
    main()
