"""Which brand a mention is about, and whether it is noise to drop."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from monitor.config import BrandConfig


def _pattern(terms: Iterable[str]) -> re.Pattern[str] | None:
    cleaned = sorted({t.strip().lower() for t in terms if t.strip()}, key=len, reverse=True)
    if not cleaned:
        return None
    # A term matches as a whole word or phrase; "@acme" does not match "@acmesupport".
    alternatives = "|".join(r"\s+".join(map(re.escape, t.split())) for t in cleaned)
    return re.compile(rf"(?<![\w@#])[@#]?(?:{alternatives})(?!\w)", re.IGNORECASE)


class BrandMatcher:
    """Assigns brands by their configured names, keywords and handles."""

    def __init__(self, brands: Sequence[BrandConfig]) -> None:
        self._brands = [
            (b, _pattern([b.name, *b.keywords, *b.handles]), _pattern(b.exclude)) for b in brands
        ]
        self._by_name = {b.name.lower(): b for b in brands}

    def canonical(self, name: str) -> str:
        """A configured brand's own spelling of ``name`` (or ``name`` itself)."""
        brand = self._by_name.get(name.lower())
        return brand.name if brand else name

    def assign(self, text: str, brand: str | None = None) -> tuple[str | None, bool]:
        """Return ``(brand, excluded)`` for a text.

        With a known ``brand`` (the source's, or the record's), only its
        exclusions apply. Otherwise the first configured brand the text names
        and does not exclude wins; ``excluded`` is true when brands were named
        but every one of them was excluded (e.g. "the Acme anvil").
        """
        if brand is not None:
            config = self._by_name.get(brand.lower())
            if config is None:
                return brand, False
            exclude = next(e for b, _, e in self._brands if b is config)
            return config.name, bool(exclude and exclude.search(text))
        named = False
        for config, terms, exclude in self._brands:
            if terms is not None and terms.search(text):
                named = True
                if not (exclude and exclude.search(text)):
                    return config.name, False
        return None, named
