"""How far a listing has been read, for platforms that list newest first by time.

A :class:`Watermark` keeps the newest item time seen and the ids seen within
``overlap`` seconds before it. The next poll asks the platform for items from
``since()`` (a little before the newest, so late-indexed or same-second items
are not missed) and serves only the items it has not seen. Its JSON form is
part of a connector's cursor: ``{"newest": <unix seconds>, "seen": {id: <unix seconds>}}``.

An item dated more than :data:`FUTURE_TOLERANCE` ahead of this machine's clock (a remote
server's wrong clock) is remembered as seen but does not move the newest time: it would
put ``since()`` ahead of every item posted until then, and the listing would skip them all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

MAX_SEEN = 500  # ids kept per listing; more than any platform's same-window burst we poll
#: Seconds an item may be dated ahead of this machine's clock and still move the newest time
#: (clocks a little apart); a later date is a wrong clock somewhere.
FUTURE_TOLERANCE = 300.0


class Watermark:
    """The state of one listing before a poll, and what the poll has read since.

    :meth:`is_old` looks at the state before the poll; :meth:`take` tells a new
    item and collects what this poll read; :meth:`state` is the merged state to
    save once every page succeeded.
    """

    def __init__(
        self,
        newest: float | None = None,
        seen: Mapping[str, float] | None = None,
        overlap: float = 0.0,
        floor: float | None = None,
        now: float | None = None,
    ) -> None:
        now = time.time() if now is None else now
        self.latest = now + FUTURE_TOLERANCE  # the newest time an item may move the state to
        # A cursor saved when a future-dated item could move it: from now on, not from then.
        self.newest = newest if newest is None or newest <= self.latest else now
        self.seen = dict(seen or {})
        self.overlap = overlap
        self.floor = floor  # where a first poll (nothing seen yet) starts
        self._read: dict[str, float] = {}

    @classmethod
    def load(cls, state: Any, overlap: float = 0.0, floor: float | None = None) -> Watermark:
        """From a cursor's JSON value; an absent or unreadable one reads as "nothing seen"."""
        if not isinstance(state, Mapping):
            return cls(overlap=overlap, floor=floor)
        newest = state.get("newest")
        seen = state.get("seen")
        return cls(
            float(newest) if isinstance(newest, (int, float)) and not isinstance(newest, bool) else None,
            {str(k): float(v) for k, v in seen.items() if isinstance(v, (int, float))} if isinstance(seen, Mapping) else {},
            overlap,
            floor,
        )

    def since(self) -> float | None:
        """Where the next request should start: the newest time seen less the overlap
        (on a first poll, the floor; ``None``: from the beginning)."""
        return self.floor if self.newest is None else self.newest - self.overlap

    def is_old(self, at: float) -> bool:
        """Older than the window re-read each poll: this item and any after it are old news."""
        since = self.since()
        return since is not None and at < since

    def take(self, item_id: str, at: float) -> bool:
        """Whether the item is new (not old, not seen before, not read this poll); a new
        one is recorded as read."""
        if self.is_old(at) or item_id in self.seen or item_id in self._read:
            return False
        self._read[item_id] = at
        return True

    def state(self) -> dict[str, Any] | None:
        """The JSON value to save: newest time and the ids within the overlap before it (and
        those of items dated in the future, which do not move the newest time)."""
        merged = {**self.seen, **self._read}
        if not merged and self.newest is None:
            return None
        times = [v for v in merged.values() if v <= self.latest]
        newest = max([*times, *([self.newest] if self.newest is not None else [])], default=None)
        window = {k: v for k, v in merged.items() if newest is None or v >= newest - self.overlap}
        kept = dict(sorted(window.items(), key=lambda kv: kv[1], reverse=True)[:MAX_SEEN])
        return {"newest": None if newest is None else _compact(newest),
                "seen": {k: _compact(v) for k, v in kept.items()}}


def keep_state(after: dict[str, Any], key: str, mark: Watermark) -> None:
    """Put ``mark``'s state in a cursor under ``key`` (nothing when nothing was ever seen)."""
    state = mark.state()
    if state is not None:
        after[key] = state


def read_lines(
    lines: Iterable[str],
    before: Mapping[str, Any],
    read: Callable[[str, Watermark], None],
    *,
    overlap: float,
    floor: float | None,
) -> dict[str, Any]:
    """``read(line, mark)`` for each query line with its watermark from cursor ``before``;
    returns the cursor after them (each line's state)."""
    after: dict[str, Any] = {}
    for line in lines:
        mark = Watermark.load(before.get(line), overlap, floor)
        read(line, mark)
        keep_state(after, line, mark)
    return after


def _compact(seconds: float) -> float | int:
    return int(seconds) if float(seconds).is_integer() else round(seconds, 3)
