"""Turn a :class:`~monitor.digest.builder.Digest` into text, HTML and a MIME message.

Templates are Jinja2 (``templates/digest.html`` with autoescape on, and
``templates/digest.txt``). Styles are written inline in the HTML because many
mail clients drop ``<style>`` blocks. Mention text and authors are untrusted:
they reach the HTML only through autoescaping, links only when they are
http(s) URLs, and never a header (the subject is built from brand names,
counts and the date).
"""

from __future__ import annotations

import base64
from datetime import date
from email.message import EmailMessage
from functools import cache
from typing import Any

from monitor import mail
from monitor.digest import chart
from monitor.digest.builder import Digest
from monitor.output import closed_bidi, percent, printable, signed

_CID_DOMAIN = "sentiment-monitor"


@cache
def _environment(kind: str) -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined, pass_environment

    env = Environment(
        loader=PackageLoader("monitor.digest", "templates"),
        autoescape=kind == "html",
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(pct=_pct, signed=_signed, points=_points, relative=_relative, num=_num,
                       delta=_delta, oneline=_oneline, clip=pass_environment(_clip), score=_score)
    return env


def _pct(value: float | None, digits: int = 0) -> str:
    return percent(value, digits) or "–"


def _signed(value: float | None) -> str:
    return "–" if value is None else signed(value)  # type: ignore[return-value]


def _score(value: float | None) -> str:
    """A mention's compound score; "–" for one not scored (a language the classifier does not
    read), which a person may still have labelled negative."""
    return "–" if value is None else f"{value:.2f}"


def _num(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _oneline(text: str) -> str:
    """An untrusted text (a mention, an author) on one line, as tables show it: control
    characters as symbols, right-to-left overrides it leaves open closed."""
    return printable(" ".join(str(text).split()))


def _clip(env: Any, text: str, length: int) -> str:
    """:func:`_oneline`, shortened to ``length`` characters at a word ("…"), still closed."""
    from jinja2.filters import do_truncate

    return closed_bidi(do_truncate(env, _oneline(text), length, end="…"))


def _delta(now: float | None, then: float | None) -> str:
    return "–" if now is None or then is None else f"{now - then:+.2f}"


def _points(now: float | None, then: float | None) -> str:
    """A ratio's change in percentage points."""
    if now is None or then is None:
        return "–"
    return f"{(now - then) * 100:+.0f} pts"


def _relative(now: float | None, then: float | None) -> str:
    """A count's change in percent."""
    if now is None or then is None:
        return "–"
    if then == 0:
        return "new" if now else "±0%"
    return f"{(now - then) / then * 100:+.0f}%"


def subject(digest: Digest) -> str:
    """Brand names, date and counts only: never text taken from a mention."""
    parts = [
        f"{b.name} {_num(b.figures['volume'])} mention{'' if b.figures['volume'] == 1 else 's'},"
        f" {_pct(b.figures['negative_ratio'])} negative"
        for b in digest.brands
    ]
    spikes = sum(len(b.spikes) for b in digest.brands)
    alert = f", {spikes} spike alert{'s' if spikes > 1 else ''}" if spikes else ""
    return mail.header_text(f"Daily digest {digest.day:%a %d %b %Y}: {'; '.join(parts)}{alert}")


def _context(digest: Digest, images: dict[str, str]) -> dict[str, Any]:
    return {"d": digest, "images": images, "subject": subject(digest), "tz": digest.tz}


def text(digest: Digest) -> str:
    return str(_environment("txt").get_template("digest.txt").render(_context(digest, {})))


def html(digest: Digest, images: dict[str, str]) -> str:
    """The HTML part; ``images`` maps brand name to the chart's ``src`` (cid: or data:)."""
    return str(_environment("html").get_template("digest.html").render(_context(digest, images)))


def charts(digest: Digest) -> dict[str, bytes]:
    return {b.name: chart.render(b.history) for b in digest.brands}


def standalone_html(digest: Digest, pngs: dict[str, bytes] | None = None) -> str:
    """HTML with the charts embedded as data: URIs, to open in a browser."""
    pngs = pngs if pngs is not None else charts(digest)
    return html(digest, {name: "data:image/png;base64," + base64.b64encode(png).decode() for name, png in pngs.items()})


def message(digest: Digest, *, sender: str, recipients: list[str], message_id: str | None = None,
            pngs: dict[str, bytes] | None = None) -> EmailMessage:
    """multipart/alternative: text/plain, then multipart/related (HTML + inline PNG charts)."""
    pngs = pngs if pngs is not None else charts(digest)
    msg = mail.new_message(subject=subject(digest), sender=sender, recipients=recipients, message_id=message_id)
    cids = {name: f"chart{i}.{digest.day:%Y%m%d}@{_CID_DOMAIN}" for i, name in enumerate(pngs)}
    # Quoted-printable keeps every line short and "<" as it is: what the HTML escapes stays visible.
    msg.set_content(text(digest), cte="quoted-printable")
    msg.add_alternative(html(digest, {n: f"cid:{c}" for n, c in cids.items()}), subtype="html",
                        cte="quoted-printable")
    html_part = msg.get_payload()[1]
    for name, png in pngs.items():
        html_part.add_related(png, maintype="image", subtype="png", cid=f"<{cids[name]}>",
                              disposition="inline", filename=f"chart-{mail.slug(name)}-{digest.day}.png")
    return msg



def file_stem(brand_set: str, day: date) -> str:
    return f"digest-{mail.slug(brand_set)}-{day}"
