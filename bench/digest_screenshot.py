"""Render the offline demo's digest and screenshot it in headless Chromium.

    apt-get install -y chromium fonts-noto-color-emoji   # Debian's packages
    python bench/digest_screenshot.py                    # writes bench/digest.png

Polls the bundled demo into a scratch database, renders the digest of the
outage day (the day with the demo's spike; ``--date`` picks another), writes
it as HTML with the chart embedded, and has Chromium take a screenshot at a
mail client's width. The page's empty margin below the content is trimmed.
Not part of the test suite: CI machines have no Chromium.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

from PIL import Image, ImageChops

from monitor import config as config_module
from monitor import ingest
from monitor.alerts import replay
from monitor.digest import build, render
from monitor.storage import Store
from monitor.timeutil import utcnow

HERE = Path(__file__).resolve().parent
WIDTH = 720


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--date", type=date.fromisoformat, help="day to render (default: the demo's spike day)")
    parser.add_argument("--output", type=Path, default=HERE / "digest.png")
    args = parser.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        sys.exit("chromium not found: apt-get install -y chromium")
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        config = config_module.load(None).with_database(work / "demo.db")
        with Store.open(config.monitor.database) as store:
            ingest.poll(store, config)
            day = args.date or _spike_day(store, config)
            digest = build(store, config, day)
            page = work / "digest.html"
            page.write_text(render.standalone_html(digest), encoding="utf-8")
        shot = work / "shot.png"
        subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
             f"--user-data-dir={work / 'profile'}", f"--screenshot={shot}", f"--window-size={WIDTH},4000",
             page.as_uri()],
            check=True, capture_output=True, timeout=120,
        )
        _trim(shot, args.output)
    print(f"{args.output} ({day}): {render.subject(digest)}")
    return 0


def _spike_day(store: Store, config: config_module.Config) -> date:
    now = utcnow()
    fired = replay(store, config, now - timedelta(days=14), now)
    if not fired:
        return now.astimezone(config.monitor.tz).date() - timedelta(days=1)
    return fired[0].hour.astimezone(config.monitor.tz).date()


def _trim(source: Path, target: Path) -> None:
    """Cut the page background below the content, keeping a small margin."""
    image = Image.open(source).convert("RGB")
    background = Image.new("RGB", image.size, image.getpixel((0, image.height - 1)))
    box = ImageChops.difference(image, background).getbbox()
    bottom = min(image.height, (box[3] if box else image.height) + 16)
    image.crop((0, 0, image.width, bottom)).save(target, optimize=True)


if __name__ == "__main__":
    raise SystemExit(main())
