"""Text preparation before scoring: what a mention says, not who it names.

Brand names and handles are neutralised because they are names, not
sentiment: VADER reads "@united" as the word "united" (+1.8), so "@united my
flight was delayed 3 hours" would come out positive. Every @handle is masked
for the same reason, HTML entities are unescaped (``&amp;`` as platforms send
it), curly quotes straightened, URLs dropped and words glued by punctuation
("delay...again") split so a lexicon can see them.

This is the one masking implementation: every classifier that masks uses
:class:`TextPreparer`. A classifier can hand it phrase rewrites too (the
customer-service phrases of :mod:`sentiment.lexicon`): brands, handles and
phrases are then found in ONE regex pass over the lower-cased text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

#: Stands in for a masked name. Not in VADER's lexicon, so it scores 0. A name
#: of several words becomes as many placeholders, so VADER's three-word
#: negation and booster windows see the same positions.
PLACEHOLDER = "brandx"

# "I\u2019m", "year\u002c": a JSON escape that an export left in the text (double
# encoding). Read as the character it stands for, so "can\u2019t" is a negation and
# "\u002c" a comma; a surrogate pair is one character (an emoji). After a backslash
# ("\\\u2019": an escaped backslash, then "u2019") nothing is decoded.
_ESCAPE = re.compile(r"(?<!\\)\\u(?:(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})|([0-9a-f]{4}))", re.IGNORECASE)
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_QUOTES = (("\u2019", "'"), ("\u2018", "'"), ("\u201c", '"'), ("\u201d", '"'))
# "delay...killing me", "credit.Whats": VADER splits on whitespace only, so a word glued to
# the next by punctuation is lost to the lexicon. Only letter-punctuation-letter joins are
# split (decimals, times, emoticons, handles and e-mail addresses are untouched; URLs
# are removed before).
_GLUED = re.compile(r"(?:\.{2,}|\u2026|[.,!?;]+)(?=[A-Za-z])")
# Every match of _GLUED ends like this; searching for it first is 3x cheaper (a pattern that
# starts with a character class is scanned for that class), and most texts have none.
_MAY_BE_GLUED = re.compile(r"[.,!?;\u2026](?=[A-Za-z])").search
# A handle starts a word (so e-mail addresses are left alone): @name, @name.bsky.social
_HANDLE = r"@[\w.]*\w"
# Every match starts where a word can start (not after a letter, digit, apostrophe or
# "@") and ends where a word ends: "united" never matches in "reunited" or "@unitedhelp".
_LEFT, _RIGHT = r"(?<![\w'@])", r"(?!\w)"


def _unglue(match: re.Match[str]) -> str:
    start, text = match.start(), match.string
    if start > 0 and text[start - 1].isalpha():
        word_start = max(text.rfind(" ", 0, start), text.rfind("\n", 0, start)) + 1
        if "@" not in text[word_start:start]:  # handles and e-mail addresses stay whole
            return match.group(0) + " "
    return match.group(0)


def _unescape(match: re.Match[str]) -> str:
    high, low, single = match.groups()
    if single is None:
        return chr(0x10000 + ((int(high, 16) - 0xD800) << 10) + int(low, 16) - 0xDC00)
    code = int(single, 16)
    return match.group(0) if 0xD800 <= code < 0xE000 else chr(code)  # a lone surrogate stays as written


def normalise(text: str) -> str:
    """Entities and leaked ``\\uXXXX`` escapes unescaped, quotes straightened, URLs
    dropped, glued words split, whitespace collapsed to single spaces."""
    if "\\u" in text:
        text = _ESCAPE.sub(_unescape, text)
    if "&" in text:
        text = html.unescape(text)
    if not text.isascii():  # curly quotes are not ASCII; isascii() costs nothing
        for curly, straight in _QUOTES:  # four replace() calls: 15x cheaper than str.translate
            text = text.replace(curly, straight)
    if "://" in text or "www." in text:
        text = _URL.sub(" ", text)
    if _MAY_BE_GLUED(text):
        text = _GLUED.sub(_unglue, text)
    return " ".join(text.split())


def term_key(term: str) -> str:
    """A brand or theme term as compared: lower case, single spaces, no leading ``@``/``#``."""
    return " ".join(term.strip().lstrip("@#").lower().split())


def brand_term_keys(terms: Iterable[str]) -> list[str]:
    """Brand terms as matched, longest first (so "acme mobile" wins over "acme")."""
    keys = {term_key(t) for t in terms}
    return sorted((k for k in keys if k), key=len, reverse=True)


class TextPreparer:
    """Callable that prepares a text for scoring.

    ``brand_terms`` match case-insensitively on word boundaries, longest first,
    with an optional leading ``#`` or ``@``: with the term "united", "@United",
    "#united" and "UNITED" are masked, "reunited" and "@unitedhelp" are not
    (the latter is masked as a handle). ``rewrites`` are ``(token, regex)``
    pairs: a phrase matching ``regex`` (on the lower-cased, normalised text)
    becomes ``token``; the first listed wins where several match.
    """

    def __init__(
        self,
        brand_terms: Iterable[str] = (),
        *,
        placeholder: str = PLACEHOLDER,
        keep_case: bool = True,
        normalise: bool = True,
        mask_brands: bool = True,
        mask_handles: bool = True,
        rewrites: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.placeholder = placeholder
        self._keep_case = keep_case  # an all-caps name gives an all-caps placeholder
        self._normalise = normalise
        self._mask_handles = mask_handles
        keys = brand_term_keys(brand_terms) if mask_brands else []
        self._brands = frozenset(keys)
        branches: list[str] = []
        for key in keys:
            escaped = re.escape(key)
            branches += [escaped, "@" + escaped, "#" + escaped]
        if mask_handles:
            branches.append(_HANDLE)
        self._rewrites = [(re.compile(f"(?:{rx}){_RIGHT}"), token) for token, rx in rewrites]
        for _token, rx in rewrites:
            branches += _expand_leading_groups(rx)
        self._pattern = (
            re.compile(f"{_LEFT}(?:{group_by_first_char(branches)}){_RIGHT}") if branches else None
        )
        # Which rewrite a matched phrase is: phrases repeat, so the answer is kept.
        # Filled from several threads at once harmlessly: every writer stores the same value.
        self._token_of: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        return self.prepare(text)

    def prepare(self, text: str, trace: list[tuple[str, str, str]] | None = None) -> str:
        """The prepared text; with ``trace``, appends ``(kind, original, replacement)``
        per replacement, kind being "brand", "handle" or "phrase"."""
        text = normalise(text) if self._normalise else " ".join(text.split())
        if self._pattern is None:
            return text
        low = text.lower()
        if len(low) != len(text):  # a rare case mapping changes the length: match as is
            low = text
        out: list[str] = []
        pos = 0
        for match in self._pattern.finditer(low):
            start, end = match.span()
            original = text[start:end]
            found = match.group(0)
            if found.lstrip("@#") in self._brands or (found[0] == "@" and self._mask_handles):
                kind = "brand" if found.lstrip("@#") in self._brands else "handle"
                shout = self._keep_case and original.isupper() and len(original) > 1
                word = self.placeholder.upper() if shout else self.placeholder
                replacement = " ".join([word] * (original.count(" ") + 1))
            else:
                kind = "phrase"
                token = self._token(low, start, end)
                replacement = token.upper() if original.isupper() and len(original) > 2 else token
            if trace is not None:
                trace.append((kind, original, replacement))
            out.append(text[pos:start])
            out.append(replacement)
            pos = end
        if not out:
            return text
        out.append(text[pos:])
        return "".join(out)

    def _token(self, low: str, start: int, end: int) -> str:
        """The token of the first rewrite matching ``low[start:end]`` (in place, so a
        rewrite with a lookahead, like "well(?=,)", is recognised too)."""
        phrase = low[start:end]
        token = self._token_of.get(phrase)
        if token is None:
            token = next(
                (t for rx, t in self._rewrites if (m := rx.match(low, start)) is not None and m.end() == end),
                "",  # unreachable: the combined pattern matches listed phrases only
            )
            if len(self._token_of) < 20_000:  # bounded: phrases with numbers vary
                self._token_of[phrase] = token
        return token


# --- making one big alternation fast -------------------------------------------------
# Python's regex engine tries the branches of an alternation one by one at every
# position. Grouping branches by their first literal character lets it reject a whole
# group with one comparison; both rewrites keep the language and the preference order.


def _split_top(rx: str) -> list[str]:
    """Split a regex at its top-level '|' (outside groups and character classes)."""
    parts: list[str] = []
    depth, current, i, in_class = 0, [], 0, False
    while i < len(rx):
        ch = rx[i]
        if ch == "\\":
            current.append(rx[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append("".join(current))
            current = []
            i += 1
            continue
        current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


def _expand_leading_groups(rx: str) -> list[str]:
    """'(?:a|b) c|d' -> ['a c', 'b c', 'd']: each branch then starts with a literal."""
    out: list[str] = []
    for branch in _split_top(rx):
        if branch.startswith("(?:"):
            depth, j = 0, 0
            for j, ch in enumerate(branch):
                if ch == "(" and (j == 0 or branch[j - 1] != "\\"):
                    depth += 1
                elif ch == ")" and branch[j - 1] != "\\":
                    depth -= 1
                    if depth == 0:
                        break
            rest = branch[j + 1 :]
            if rest[:1] not in ("?", "*", "+", "{"):
                for alternative in _split_top(branch[3:j]):
                    out.extend(_expand_leading_groups(alternative + rest))
                continue
        out.append(branch)
    return out


def group_by_first_char(branches: list[str]) -> str:
    """'abc|axy|bcd' -> 'a(?:bc|xy)|b(?:cd)'. Branches starting with different literal
    characters never match at the same position and order within a group is kept, so
    the language and the match chosen are unchanged."""
    groups: dict[str, list[str]] = {}
    other: list[str] = []
    for branch in branches:
        ch = branch[:1]
        if ch and (ch.isalnum() or ch in "#'@") and branch[1:2] not in ("?", "*", "+", "{"):
            groups.setdefault(ch, []).append(branch[1:])
        else:
            other.append(branch)
    parts = [f"{re.escape(ch)}(?:{'|'.join(rest)})" for ch, rest in groups.items()]
    return "|".join(parts + other)
