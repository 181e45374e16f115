"""The digest's chart: daily volume (bars) and negative ratio (line), as a PNG.

Drawn with Pillow: a bar-and-line chart is a few rectangles and a polyline,
and Pillow installs as one wheel with its own FreeType and font, where
matplotlib would add tens of megabytes and a second of import time to every
digest. Drawn at twice the displayed size so it stays sharp on HiDPI screens.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from monitor.digest.builder import DayPoint

WIDTH, HEIGHT = 600, 220  # as displayed (CSS pixels)
_SCALE = 2
_BAR = (148, 178, 214)
_BAR_DAY = (52, 101, 164)
_LINE = (192, 57, 43)
_GRID = (230, 230, 230)
_TEXT = (90, 90, 90)


def _font(size: int):  # type: ignore[no-untyped-def]
    from PIL import ImageFont

    return ImageFont.load_default(size=size * _SCALE)


def render(points: Sequence[DayPoint]) -> bytes:
    """A PNG of ``points`` (the reported day last), ``WIDTH``×``HEIGHT`` at 2x."""
    from PIL import Image, ImageDraw

    s = _SCALE
    image = Image.new("RGB", (WIDTH * s, HEIGHT * s), "white")
    draw = ImageDraw.Draw(image)
    small, tiny = _font(11), _font(10)
    left, right, top, bottom = 40 * s, (WIDTH - 44) * s, 28 * s, (HEIGHT - 26) * s
    peak = max([p.volume for p in points] + [1])
    axis_max = 4 * _nice_step(peak)

    # Legend
    draw.rectangle((left, 8 * s, left + 10 * s, 18 * s), fill=_BAR)
    draw.text((left + 14 * s, 13 * s), "mentions per day", fill=_TEXT, font=small, anchor="lm")
    lx = left + 130 * s
    draw.line((lx, 13 * s, lx + 16 * s, 13 * s), fill=_LINE, width=3 * s)
    draw.text((lx + 20 * s, 13 * s), "negative share", fill=_TEXT, font=small, anchor="lm")

    # Grid and axes: volume on the left, share (0-100%) on the right.
    for i in range(5):
        y = bottom - (bottom - top) * i / 4
        draw.line((left, y, right, y), fill=_GRID, width=s)
        draw.text((left - 6 * s, y), _axis_label(axis_max * i // 4), fill=_TEXT, font=tiny, anchor="rm")
        draw.text((right + 6 * s, y), f"{25 * i}%", fill=_LINE, font=tiny, anchor="lm")

    n = max(len(points), 1)
    slot = (right - left) / n
    line: list[tuple[float, float]] = []
    for i, p in enumerate(points):
        x0 = left + slot * i + slot * 0.18
        x1 = left + slot * (i + 1) - slot * 0.18
        y = bottom - (bottom - top) * p.volume / axis_max
        if p.volume:
            draw.rectangle((x0, y, x1, bottom), fill=_BAR_DAY if i == n - 1 else _BAR)
        cx = (x0 + x1) / 2
        label = f"{p.day:%d}" if i not in (0, n - 1) else f"{p.day:%d %b}"
        draw.text((cx, bottom + 5 * s), label, fill=_TEXT, font=tiny, anchor="mt")
        if p.negative_ratio is not None:
            line.append((cx, bottom - (bottom - top) * p.negative_ratio))
        elif len(line) > 1:
            draw.line(line, fill=_LINE, width=2 * s, joint="curve")
            line = []
        else:
            line = []
        if p.negative_ratio is not None:
            r = 3 * s
            cy = line[-1][1]
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=_LINE)
    if len(line) > 1:
        draw.line(line, fill=_LINE, width=2 * s, joint="curve")
    draw.line((left, bottom, right, bottom), fill=_TEXT, width=s)

    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _nice_step(peak: int) -> int:
    """The smallest round step (1, 2, 2.5 or 5 times a power of ten, a whole number) with
    which four grid lines reach ``peak``: the tallest bar fills at least 40% of the chart."""
    magnitude = 1
    while True:
        for times in (1, 2, 2.5, 5):
            step = times * magnitude
            if step == int(step) and step * 4 >= peak:
                return int(step)
        magnitude *= 10


def _axis_label(value: int) -> str:
    """A volume on the axis, short enough for its margin: 7500, 250k, 1.5M."""
    if value < 10_000:
        return f"{value}"
    if value < 1_000_000:
        return f"{value / 1000:g}k"
    return f"{value / 1_000_000:g}M"
