"""Benchmark `kpi import` on a large Zendesk ticket export.

Writes an export of N rows in Zendesk's CSV layout (all 41 built-in columns
plus a custom field) to a temporary directory, imports it through the CLI in
a child process, and prints rows per second and the child's peak RSS; then
imports it again (every row unchanged). Run with several sizes to see that
memory does not grow with the file:

    python bench/kpi_import.py                     # 1,000,000 rows
    python bench/kpi_import.py --rows 100000 1000000
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

HEADER = (
    "Summation column,Id,Requester,Requester id,Requester external id,Requester email,Requester domain,"
    "Submitter,Assignee,Group,Subject,Tags,Status,Priority,Via,Ticket type,Created at,Updated at,Assigned at,"
    "Organization,Due date,Initially assigned at,Solved at,Resolution time,Satisfaction Score,Group stations,"
    "Assignee stations,Reopens,Replies,First reply time in minutes,First reply time in minutes within business hours,"
    "First resolution time in minutes,First resolution time in minutes within business hours,"
    "Full resolution time in minutes,Full resolution time in minutes within business hours,"
    "Agent wait time in minutes,Agent wait time in minutes within business hours,Requester wait time in minutes,"
    "Requester wait time in minutes within business hours,On hold time in minutes,"
    "On hold time in minutes within business hours,Motivo do Contato [list]"
).split(",")
_FMT = "%Y-%m-%d %H:%M"


def write_export(path: Path, rows: int, seed: int = 6) -> None:
    rng = random.Random(seed)
    start = datetime(2024, 1, 1)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HEADER)
        for i in range(rows):
            created = start + timedelta(minutes=i * 131_000 // max(rows, 1) + rng.randrange(60))
            first_reply = rng.randrange(1, 600)
            solved = rng.random() < 0.85
            resolution = first_reply + rng.randrange(0, 4000)
            rating = rng.choices(["Good", "Bad", "Offered", "Unoffered", ""], [40, 8, 20, 20, 12])[0] if solved else ""
            replies = rng.choice([0, 1, 1, 1, 2, 3])
            writer.writerow([
                1, 100000 + i, f"Customer {i % 5000}", 370000000000 + i % 5000, "", f"c{i % 5000}@example.com",
                "example.com", f"Customer {i % 5000}", f"Agent {i % 40}", "Support", f"Question number {i}",
                "billing vip" if i % 7 == 0 else "shipping", "Solved" if solved else "Open", "Normal",
                rng.choice(["Mail", "Web form", "Native Messaging"]), "Question", created.strftime(_FMT),
                (created + timedelta(minutes=resolution + 5)).strftime(_FMT), (created + timedelta(minutes=3)).strftime(_FMT),
                "Acme Corp", "", (created + timedelta(minutes=3)).strftime(_FMT),
                (created + timedelta(minutes=resolution)).strftime(_FMT) if solved else "",
                resolution // 60 if solved else "", rating, 1, 1, int(rng.random() < 0.05), replies,
                first_reply, first_reply * 3 // 4, resolution if solved else "", resolution // 2 if solved else "",
                resolution if solved else "", resolution // 2 if solved else "", 0, 0, 0, 0, 0, 0, "-",
            ])


def run_import(export: Path, workdir: Path) -> tuple[float, int, str]:
    """Seconds, the child's peak RSS in KiB, and its output."""
    return run(workdir, "kpi", "import", str(export), "--timezone", "UTC", "--output", "csv")


def run(workdir: Path, *args: str) -> tuple[float, int, str]:
    """Run the CLI on the bench database: seconds, the child's peak RSS in KiB, its last output line."""
    command = [sys.executable, "-m", "monitor", "--db", str(workdir / "bench.db"), *args]
    out_path, err_path = workdir / "stdout.txt", workdir / "stderr.txt"
    clock = time.monotonic()
    with out_path.open("w") as out, err_path.open("w") as err:
        child = subprocess.Popen(command, cwd=workdir, stdout=out, stderr=err)
        # wait4 gives this child's own resource usage; ru_maxrss is its peak RSS (KiB on Linux).
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - clock
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{err_path.read_text()}")
    return seconds, usage.ru_maxrss, out_path.read_text().strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    args = parser.parse_args()
    print(f"{'rows':>10} {'file MB':>8} {'import s':>9} {'rows/s':>8} {'peak RSS MB':>12} {'db MB':>7}"
          f" {'re-import s':>12} {'rows/s':>8} {'show s':>7}  re-import result")
    for rows in args.rows:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            export = workdir / "export-zendesk.csv"
            write_export(export, rows)
            seconds, rss, _ = run_import(export, workdir)
            db_mb = sum(p.stat().st_size for p in workdir.glob("bench.db*")) / 1e6
            again, _, result = run_import(export, workdir)
            # KPIs per week over the whole export (means and medians by SQL window functions)
            show, _, _ = run(workdir, "kpi", "show", "--from", "2024-01-01", "--to", "2024-03-31", "--by", "week",
                             "--format", "csv")
            print(f"{rows:>10,} {export.stat().st_size / 1e6:>8.0f} {seconds:>9.1f} {rows / seconds:>8,.0f}"
                  f" {rss / 1024:>12.0f} {db_mb:>7.0f} {again:>12.1f} {rows / again:>8,.0f} {show:>7.1f}  {result}")


if __name__ == "__main__":
    main()
