"""Text preparation before scoring: what a mention says, not who it names.

Brand names and handles are neutralised because they are names, not
sentiment: VADER reads "@united" as the word "united" (+1.8), so "@united my
flight was delayed 3 hours" would come out positive. Every @handle is masked
for the same reason, HTML entities are unescaped (``&amp;`` as platforms send
it) and URLs are dropped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

#: Stands in for a masked name. Not in VADER's lexicon, so it scores 0 while
#: keeping the token positions VADER's negation and booster windows rely on.
PLACEHOLDER = "brandx"

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
# A handle starts a word (so e-mail addresses are left alone): @name, @name.bsky.social
_HANDLE = re.compile(r"(?<![\w@])@[\w.]*\w")


def _keep_case(match: re.Match[str]) -> str:
    # An all-caps name stays all caps so VADER's caps emphasis sees the same shape.
    word = match.group(0)
    return PLACEHOLDER.upper() if word.isupper() else PLACEHOLDER


class TextPreparer:
    """Callable that prepares a text for scoring, masking the given brand terms.

    Terms match case-insensitively on word boundaries, longest first, with an
    optional leading ``#`` or ``@``: with the term "united", "@United",
    "#united" and "UNITED" are masked, "reunited" is not.
    """

    def __init__(self, brand_terms: Iterable[str] = ()) -> None:
        terms = sorted(
            {t.strip().lstrip("@#").lower() for t in brand_terms if t.strip().lstrip("@#")},
            key=len,
            reverse=True,
        )
        self._brands = (
            re.compile(
                r"(?<![\w@#])[@#]?(?:"
                + "|".join(r"\s+".join(map(re.escape, t.split())) for t in terms)
                + r")(?!\w)",
                re.IGNORECASE,
            )
            if terms
            else None
        )

    def __call__(self, text: str) -> str:
        if "&" in text:
            text = html.unescape(text)
        if "://" in text or "www." in text:
            text = _URL.sub(" ", text)
        if self._brands is not None:
            text = self._brands.sub(_keep_case, text)
        if "@" in text:
            text = _HANDLE.sub(_keep_case, text)
        return text
