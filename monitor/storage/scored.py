"""What a write to the ``mentions`` table carries and reports (see :mod:`monitor.storage.mentions`).

Kept apart so that a command that only reads mentions never creates these classes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from monitor.storage.mentions import LANG_DETECTED, LANG_PLATFORM

if TYPE_CHECKING:
    from connectors.base import Mention


@dataclass(frozen=True)
class ScoredMention:
    """A mention ready to store: where it came from, whose it is, how it feels."""

    mention: Mention
    source: str | None
    brand: str | None
    compound: float | None  # None: not scored (unsupported language)
    label: str
    classifier: str
    lang: str | None = None  # the language to store; None: the mention's own tag
    lang_detected: bool = False  # ``lang`` was detected, not the platform's


def mention_row(
    platform: str, mention_id: str, source: str | None, brand: str | None, text: str, author: str | None,
    url: str | None, created_at: str, fetched_at: str, lang: str | None, likes: int | None,
    replies: int | None, reposts: int | None, followers: int | None, compound: float | None,
    label: str, classifier: str, raw: Any, *, lang_detected: bool,
) -> tuple[Any, ...]:
    """A new mention's row in :data:`monitor.storage.mentions.COLUMNS` order: times
    already in the stored form, the raw payload encoded by :func:`payload_json`, the
    classifier's label as both label and model label, where ``lang`` came from."""
    return (
        platform, mention_id, source, brand, text, author, url, created_at, fetched_at, lang,
        likes, replies, reposts, followers, compound, label, classifier, payload_json(raw), label,
        LANG_DETECTED if lang_detected else None if lang is None else LANG_PLATFORM,
    )


def payload_json(value: Any) -> str:
    """The stored form of a raw payload: compact JSON, non-ASCII kept, anything JSON
    has no type for (a datetime, ...) as its ``str()``, NaN and infinities as null.
    orjson does it 3-7 times faster than the json module; an integer beyond 64 bits
    falls back to json (with the same output)."""
    try:
        return orjson.dumps(value, default=str, option=orjson.OPT_PASSTHROUGH_DATETIME).decode("utf-8")
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(_nan_as_null(value), ensure_ascii=False, separators=(",", ":"), default=str)


def _nan_as_null(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_as_null(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nan_as_null(v) for v in value]
    return value


@dataclass(frozen=True)
class UpsertCounts:
    new: int
    duplicates: int
