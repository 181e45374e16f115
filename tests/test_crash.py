"""kill -9 at random moments, during polling and during a large import.

Afterwards the database must pass ``PRAGMA integrity_check``, hold no duplicate
rows, every cursor must cover exactly the stored mentions (a cursor never runs
ahead of what was saved), an import must have whole batches only, and
re-running must converge to exactly the full set. The kill moments come from a
seed printed with any failure; set ``SM_KILL_SEED`` to replay one.
"""

from __future__ import annotations

import json
import os
import random
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main
from monitor.ingest import IMPORT_BATCH
from monitor.storage import Store
from procs import MonitorProcess

pytestmark = pytest.mark.crash

SEED = int(os.environ.get("SM_KILL_SEED", random.randrange(2**32)))
BRANDS = '[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n[[brands]]\nname = "Globex"\nkeywords = ["globex"]\n'


def write_records(path: Path, prefix: str, count: int, platform: str = "x") -> list[str]:
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    ids = [f"{prefix}{i}" for i in range(count)]
    with path.open("w", encoding="utf-8") as fh:
        for i, mention_id in enumerate(ids):
            fh.write(json.dumps({
                "platform": platform, "id": mention_id, "author": f"user{i % 97}",
                "text": f"acme support kept me waiting {i} minutes, not impressed" if i % 3
                else f"globex sorted it in {i} seconds, great service",
                "created_at": (start + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }) + "\n")
    return ids


def stored_ids(store: Store, platform: str, prefix: str) -> set[str]:
    rows = store.conn.execute("SELECT id FROM mentions WHERE platform = ? AND id LIKE ?", [platform, prefix + "%"])
    return {r[0] for r in rows}


def check_sound(db: Path, context: str) -> Store:
    store = Store.open(db, create=False)
    assert store.integrity_check() == "ok", context
    dupes = store.conn.execute(
        "SELECT platform, id FROM mentions GROUP BY platform, id HAVING count(*) > 1"
    ).fetchall()
    assert dupes == [], context
    return store


def test_kill_9_while_polling_never_corrupts_duplicates_or_skips(tmp_path):
    names = ("a", "b", "c")
    files = {n: write_records(tmp_path / f"{n}.jsonl", f"{n}-", 20_000) for n in names}

    def config(per_poll: int, path: Path) -> Path:
        path.write_text(f'[monitor]\ndatabase = "{tmp_path / "m.db"}"\n{BRANDS}' + "".join(
            f'[[sources]]\nname = "{n}"\nplatform = "jsonl"\npath = "{tmp_path / n}.jsonl"\n'
            f'max_per_poll = {per_poll}\nevery = "1s"\n' for n in names
        ))
        return path

    rng = random.Random(SEED)
    path = config(800, tmp_path / "daemon.toml")
    polls_seen = 0
    for iteration in range(12):
        at = rng.uniform(0.0, 1.6)
        context = f"seed {SEED}, iteration {iteration}, kill -9 {at:.3f}s after start"
        daemon = MonitorProcess("--config", path, "run", cwd=tmp_path)
        try:
            daemon.wait_for("daemon started")
            if iteration % 2:
                # Every other kill comes after a finished poll, so later polls (and their
                # transactions) are under way whatever the machine's speed.
                daemon.wait_for("fetched")
            time.sleep(at)  # the random moment is the point: nothing to await
            daemon.kill9()
        finally:
            daemon.stop()
        polls_seen += daemon.stderr.count("fetched")
        with check_sound(tmp_path / "m.db", context) as store:
            for n in names:
                cursor = int(store.sources.cursor(n) or 0)
                # Exactly the first `cursor` records are stored: nothing past the cursor, no gap.
                assert stored_ids(store, "x", f"{n}-") == set(files[n][:cursor]), context
    assert polls_seen >= 6, f"seed {SEED}: the kills should interrupt a running daemon"

    # Re-running converges to exactly the full set.
    result = CliRunner().invoke(main, ["--config", str(config(100_000, tmp_path / "all.toml")), "poll"])
    assert result.exit_code == 0, result.output
    with check_sound(tmp_path / "m.db", f"seed {SEED}, convergence") as store:
        for n in names:
            assert stored_ids(store, "x", f"{n}-") == set(files[n])
            assert store.sources.cursor(n) == "20000"
        assert store.mentions.count() == 60_000


def test_kill_9_during_a_large_import_leaves_whole_batches_and_a_rerun_completes(tmp_path):
    data = tmp_path / "backfill.jsonl"
    ids = write_records(data, "imp-", 20_000, platform="rss")
    path = tmp_path / "import.toml"
    path.write_text(f'[monitor]\ndatabase = "{tmp_path / "m.db"}"\n{BRANDS}')

    def start(db: Path) -> MonitorProcess:
        return MonitorProcess("--config", path, "--db", db, "import", data, "--format", "json", cwd=tmp_path)

    # How long an import takes on this machine, so the kills land inside one.
    began = time.monotonic()
    assert start(tmp_path / "calibration.db").wait(timeout=120) == 0
    duration = time.monotonic() - began

    rng = random.Random(SEED)
    batches_seen = set()
    for iteration in range(10):
        at = rng.uniform(0.2, 0.95) * duration
        context = f"seed {SEED}, iteration {iteration}, kill -9 {at:.3f}s after start (import takes {duration:.2f}s)"
        db = tmp_path / f"killed{iteration}.db"  # each kill on its own database: where it landed shows
        proc = start(db)
        try:
            time.sleep(at)  # the random moment is the point: nothing to await
            proc.kill9()
        finally:
            proc.stop()
        if not db.exists():
            continue
        with check_sound(db, context) as store:
            stored = stored_ids(store, "rss", "imp-")
            # Batches are transactions written in file order: a prefix of whole batches.
            assert len(stored) % IMPORT_BATCH == 0 and stored == set(ids[: len(stored)]), context
            batches_seen.add(len(stored) // IMPORT_BATCH)
    assert len(batches_seen - {0, len(ids) // IMPORT_BATCH}) >= 2, (
        f"seed {SEED}: kills should interrupt the import at different batches, saw {sorted(batches_seen)}"
    )

    # Re-running the interrupted import converges to exactly the file.
    rerun = start(db)
    assert rerun.wait(timeout=120) == 0, rerun.stderr
    with check_sound(db, f"seed {SEED}, re-run") as store:
        assert stored_ids(store, "rss", "imp-") == set(ids) and store.mentions.count() == len(ids)
