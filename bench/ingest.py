"""Backfill speed, memory and footprint: `sentiment-monitor import` of a large JSONL file.

    python bench/ingest.py [--records 1000000] [--workers N] [--keep DIR]

Writes a JSONL file of N mentions into a temporary directory: the bundled demo corpus
(360 real-looking mentions of Acme and Globex on eight platforms, 97% of them with the
platform's language tag, as X, Mastodon and Bluesky give it) repeated with new ids and
times over a year. Then, side by side in one run:

1. a plain single-process loop of stock vaderSentiment ``polarity_scores`` over the same
   texts (texts/s): the yardstick;
2. ``sentiment-monitor import FILE --format json`` as a whole process, end to end (check
   pass, scoring, storage): mentions/s, and its ratio to the yardstick (target >= 1.5);
   peak memory of the import's processes (PSS sampled every 2 s: reading it walks the page tables, so more often slows the import; target <= 300 MB);
3. the labels against a single-process import (``--workers 1``) of the first 100,000, and
   ``reclassify`` of those by one process and by workers (wall times, same labels);
4. the database: bytes per mention, the share of the raw payload, and what compressing
   the payload would save and cost.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import REPO, cli, describe  # noqa: E402

CONFIG = """[monitor]
database = "{db}"
[[brands]]
name = "Acme"
keywords = ["acme", "acme mobile", "acme broadband"]
handles = ["@acme", "@acmesupport"]
exclude = ["acme anvil", "wile e", "acme of"]
[[brands]]
name = "Globex"
keywords = ["globex"]
handles = ["@globex", "@globexhelp"]
competitor = true
"""

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def write_records(path: Path, count: int) -> list[str]:
    """``count`` mentions made from the demo corpus, a year of them ending now; returns the texts.

    Record ``i`` is demo record ``i % 360`` (platform, author, counts, language tag) with
    a new id and time; a text of several sentences keeps its first sentence and draws
    the others from other demo texts of the same language, so that texts vary (341,000
    distinct in 1,000,000, average length unchanged): nothing is measured on a handful
    of texts seen over and over. Texts without a language tag are kept as written.
    """
    corpus = [json.loads(line) for line in (REPO / "connectors" / "data" / "demo.jsonl").open(encoding="utf-8")]
    sentences = [_SENTENCE_END.split(record["text"]) for record in corpus]
    pool: dict[str, list[str]] = {}
    for record, parts in zip(corpus, sentences):
        if record.get("lang"):
            pool.setdefault(record["lang"], []).extend(parts[1:])
    rng = random.Random(9)
    end = datetime.now(timezone.utc).replace(microsecond=0)
    step = timedelta(days=365) / count
    texts = []
    with path.open("w", encoding="utf-8") as fh:
        for i in range(count):
            record = dict(corpus[i % len(corpus)])
            parts = sentences[i % len(corpus)]
            others = pool.get(record.get("lang") or "", [])
            if len(parts) > 1 and others:
                record["text"] = " ".join([parts[0], *(others[rng.randrange(len(others))] for _ in parts[1:])])
            record["id"] = f"{record['id']}-{i}"
            record["created_at"] = (end - timedelta(days=365) + step * i).strftime("%Y-%m-%dT%H:%M:%SZ")
            texts.append(record["text"])
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return texts


def stock_rate(texts: list[str]) -> float:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    polarity_scores = SentimentIntensityAnalyzer().polarity_scores
    started = time.perf_counter()
    for text in texts:
        polarity_scores(text)
    return len(texts) / (time.perf_counter() - started)


def _tree_rss_kb(root: int) -> int:
    """Proportional resident memory (PSS: shared pages split between the processes that
    share them) of a process and all its descendants, in KiB (Linux /proc)."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    total = 0
    for pid in tree:  # smaps_rollup walks the page tables: read it for these processes only
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:")), 0)
    return total


def run_import(args: list[str], env: dict[str, str]) -> tuple[float, dict, int, int]:
    """Wall time, the JSON report, peak RSS of the whole process tree and of the main process (KiB)."""
    started = time.perf_counter()
    proc = subprocess.Popen([*cli(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    peak_tree = peak_main = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak_tree, peak_main
        while not stop.wait(2.0):
            peak_tree = max(peak_tree, _tree_rss_kb(proc.pid))
            try:
                status = Path(f"/proc/{proc.pid}/status").read_text()
                peak_main = max(peak_main, next(int(x.split()[1]) for x in status.splitlines() if x.startswith("VmHWM:")))
            except (OSError, StopIteration):
                pass

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    elapsed = time.perf_counter() - started
    stop.set()
    sampler.join()
    if proc.returncode:
        raise SystemExit(f"import failed: {err}")
    return elapsed, json.loads(out), peak_tree, peak_main


def footprint(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    mentions = conn.execute("SELECT count(*) FROM mentions").fetchone()[0]
    size = db.stat().st_size
    raw = conn.execute("SELECT sum(length(CAST(raw AS BLOB))) FROM mentions").fetchone()[0] or 0
    text = conn.execute("SELECT sum(length(CAST(text AS BLOB))) FROM mentions").fetchone()[0] or 0
    print(f"footprint: {size / mentions:.0f} bytes per mention ({size / 1e6:.0f} MB for {mentions:,});"
          f" raw payload {raw / mentions:.0f} B, text {text / mentions:.0f} B per mention")
    sample = [r[0].encode() for r in conn.execute("SELECT raw FROM mentions ORDER BY random() LIMIT 20000")]
    for level in (1, 6):
        started = time.process_time()
        packed = [zlib.compress(r, level) for r in sample]
        cost = (time.process_time() - started) / len(sample) * 1e6
        saved = (sum(map(len, sample)) - sum(map(len, packed))) / len(sample)
        print(f"  zlib level {level} on each payload: saves {saved:.0f} B per mention"
              f" ({saved / (size / mentions):.0%} of the database) for {cost:.1f} us of CPU per mention")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, help="passed to import --workers (default: one per CPU)")
    parser.add_argument("--label-check", type=int, default=100_000, help="records compared with --workers 1 (0: skip)")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep its files")
    args = parser.parse_args()
    print(describe())
    work = args.keep or Path(tempfile.mkdtemp(prefix="sm-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    data, db = work / "backfill.jsonl", work / "bench.db"
    for stale in work.glob("*.db*"):
        stale.unlink()
    (work / "bench.toml").write_text(CONFIG.format(db=db))
    env = {**os.environ, "SENTIMENT_MONITOR_CONFIG": str(work / "bench.toml")}
    texts = write_records(data, args.records)
    print(f"data: {args.records:,} mentions, {data.stat().st_size / 1e6:.0f} MB of JSONL in {work}")

    stock = stock_rate(texts)
    del texts
    workers = ["--workers", str(args.workers)] if args.workers else []
    elapsed, report, peak_tree, peak_main = run_import(["import", str(data), "--format", "json", *workers], env)
    rate = report["records"] / elapsed
    print(f"stock vaderSentiment polarity_scores, one process: {stock:,.0f} texts/s")
    print(f"sentiment-monitor import, whole process: {rate:,.0f} mentions/s ({elapsed:.1f} s;"
          f" {report['new']:,} new, {report['excluded']:,} excluded)  ratio {rate / stock:.2f}  (target >= 1.5)")
    print(f"peak memory: {peak_tree / 1024:.0f} MB for the import and its workers together (PSS),"
          f" peak RSS {peak_main / 1024:.0f} MB of the main process  (target <= 300 MB)")
    footprint(db)

    if args.label_check:
        sample = work / "sample.jsonl"
        with data.open(encoding="utf-8") as src, sample.open("w", encoding="utf-8") as dst:
            for _, line in zip(range(args.label_check), src):
                dst.write(line)
        one = work / "single.db"
        run_import(["--db", str(one), "import", str(sample), "--format", "json", "--workers", "1"], env)
        run_import(["--db", str(work / "parallel.db"), "import", str(sample), "--format", "json", *workers], env)
        query = "SELECT platform, id, brand, lang, compound, label FROM mentions ORDER BY platform, id"
        single = sqlite3.connect(one).execute(query).fetchall()
        parallel = sqlite3.connect(work / "parallel.db").execute(query).fetchall()
        print(f"labels: {len(parallel):,} mentions imported by worker processes and by one process:"
              f" {'identical' if single == parallel else 'DIFFERENT'}")
        # Re-scoring them (another classifier: every row changes) in one process and in workers.
        took = {}
        for name, db_path, extra in (("one process", one, ["--workers", "1"]), ("workers", work / "parallel.db", workers)):
            started = time.perf_counter()
            subprocess.run([*cli(), "--db", str(db_path), "reclassify", "--classifier", "vader-stock",
                            "--format", "json", *extra], env=env, check=True, stdout=subprocess.DEVNULL)
            took[name] = time.perf_counter() - started
        single = sqlite3.connect(one).execute(query).fetchall()
        parallel = sqlite3.connect(work / "parallel.db").execute(query).fetchall()
        print(f"reclassify --classifier vader-stock of those {len(parallel):,}: one process {took['one process']:.1f} s,"
              f" worker processes {took['workers']:.1f} s ({took['one process'] / took['workers']:.2f}x);"
              f" labels {'identical' if single == parallel else 'DIFFERENT'}")
    if not args.keep:
        for path in work.iterdir():
            path.unlink()
        work.rmdir()


if __name__ == "__main__":
    main()
