"""A base for stateful fake platform APIs served by the one :class:`~fakeserver.FakeServer`.

A fake API (``wire_<platform>.Fake``) keeps the platform's items in a list,
answers the listing the way the platform does (honouring its cursor and
paging parameters, newest first, with the platform's paging links and
headers), and can be told to fail: ``fake.fail(reply, after=1)`` answers
``reply`` from the second listing request on. Tests add items between polls
and assert on stored rows, cursors and ``fake.listing_requests()``.

Every fake offers the same members, so the shared scenarios
(tests/test_platform_scenarios.py) run against each platform's real wire format:

* ``platform``, ``listing`` (the path counted), ``env`` (secrets to set),
  ``paged`` (whether the listing has pages), ``trailing_request`` (whether a
  walk ends with an extra, empty page);
* ``source(name, extra)``: a ``[[sources]]`` entry at the fake, page size 2;
* ``add(text, minutes_ago, bare=False)``: an item, returning the stored mention id;
  ``bare=True`` leaves out every optional field;
* ``too_many(reset_in)``, ``server_error()``, ``malformed()``: the platform's replies.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fakeserver import FakeServer, Reply, Request
from monitor import config as config_module
from monitor import ingest
from monitor.storage import Store
from monitor.storage.mentions import MentionFilter


def poll_once(store: Store, config_path: Path) -> Any:
    """Poll the one source of a config file into ``store``; its PollResult."""
    (result,) = ingest.poll(store, config_module.load(config_path))
    return result


def stored(store: Store) -> dict[str, dict[str, Any]]:
    """Every stored mention row, by id."""
    return {r["id"]: r for r in store.mentions.query(MentionFilter(limit=None))}


class FakeApi:
    platform = ""
    listing = ""
    paged = True
    trailing_request = False
    env: dict[str, str] = {}

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self._failure: tuple[Reply, int] | None = None
        self._served = 0

    def fail(self, reply: Reply, after: int = 0) -> None:
        """Answer ``reply`` to listing requests after the first ``after`` ones."""
        self._failure = (reply, after)
        self._served = 0

    def listing_requests(self) -> list[Request]:
        return [r for r in self.server.requests if r.path == self.listing]

    def guarded(self, respond: Callable[[Request], Reply]) -> Callable[[Request], Reply]:
        """``respond``, unless a failure is due."""

        def answer(request: Request) -> Reply:
            if self._failure is not None:
                reply, after = self._failure
                self._served += 1
                if self._served > after:
                    return reply
            return respond(request)

        return answer
