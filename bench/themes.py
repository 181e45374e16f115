"""Benchmark complaint themes on a large database: `themes --since 7d` and
`summary --by theme --since 7d`.

Stores N mentions spread over the last 14 days (texts of the offline demo with
random words and numbers mixed in, 40% negative), then runs both commands in
a child process and prints their time and peak RSS. Themes are matched when a
report asks for them, so the cost follows the mentions in the period (the
negatives of this and the previous period for `themes`, every mention of the
period for `summary --by theme`):

    python bench/themes.py                      # 100,000 and 1,000,000 mentions
    python bench/themes.py --mentions 200000
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from kpi_import import run  # noqa: E402  (the same child-process runner)

from connectors.base import Mention  # noqa: E402
from monitor.storage import Store  # noqa: E402
from monitor.storage.mentions import ScoredMention  # noqa: E402

_WORDS = ("router", "fibre", "engineer", "contract", "renewal", "signal", "upgrade", "voucher", "sim", "porting",
          "roaming", "tariff", "hub", "mesh", "wifi", "landline", "appointment", "invoice", "account", "email")


def fill(database: Path, mentions: int, seed: int = 10) -> None:
    rng = random.Random(seed)
    text = (resources.files("connectors") / "data" / "demo.jsonl").read_text(encoding="utf-8")
    texts = [json.loads(line)["text"] for line in text.splitlines() if line.strip()]
    now = datetime.now(timezone.utc)
    with Store.open(database) as store:
        batch: list[ScoredMention] = []
        for i in range(mentions):
            words = " ".join(rng.choices(_WORDS, k=3))
            body = f"{rng.choice(texts)} {words} {rng.randrange(1000)}"
            at = now - timedelta(seconds=rng.randrange(14 * 86400))
            label = rng.choices(["negative", "neutral", "positive"], [40, 35, 25])[0]
            compound = {"negative": -0.5, "neutral": 0.0, "positive": 0.5}[label] + rng.uniform(-0.3, 0.3)
            mention = Mention(rng.choice(["x", "reddit", "mastodon", "bluesky"]), str(i), body, "someone", None, at)
            batch.append(ScoredMention(mention, "bench", rng.choice(["Acme", "Acme", "Acme", "Globex"]),
                                       compound, label, "bench/1"))
            if len(batch) == 10_000:
                store.mentions.upsert(batch, now)
                batch = []
        if batch:
            store.mentions.upsert(batch, now)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mentions", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    print(f"{'mentions':>10} {'in 7d':>8} {'fill s':>7} {'themes s':>9} {'RSS MB':>7} {'summary s':>10} {'RSS MB':>7}")
    for mentions in args.mentions:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            (workdir / "config").mkdir()
            (workdir / "config" / "monitor.toml").write_text(
                '[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n[[brands]]\nname = "Globex"\ncompetitor = true\n')
            clock = time.monotonic()
            fill(workdir / "bench.db", mentions)
            filled = time.monotonic() - clock
            themes, themes_rss, _ = run(workdir, "themes", "--since", "7d", "--format", "csv")
            summary, summary_rss, _ = run(workdir, "summary", "--by", "theme", "--since", "7d", "--format", "csv")
            print(f"{mentions:>10,} {mentions // 2:>8,} {filled:>7.0f} {themes:>9.1f} {themes_rss / 1024:>7.0f}"
                  f" {summary:>10.1f} {summary_rss / 1024:>7.0f}")


if __name__ == "__main__":
    main()
