"""HTML fragments as platforms send them (Mastodon statuses, Hacker News
comments, feed summaries) turned into the plain text we score and show."""

from __future__ import annotations

import html
import re

_BREAK = re.compile(r"<\s*(?:br\s*/?|/p|/div|/li|/h[1-6]|p|li)\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\s*\n\s*")


def html_to_text(fragment: str | None) -> str:
    """Tags dropped (paragraphs and line breaks kept as newlines), entities unescaped,
    runs of white space collapsed. ``None`` gives ``""``."""
    if not fragment:
        return ""
    text = _TAG.sub("", _BREAK.sub("\n", fragment))
    text = _SPACES.sub(" ", html.unescape(text))
    return _BLANK_LINES.sub("\n", text).strip()
