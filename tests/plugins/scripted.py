"""A connector whose behaviour its options script: the double for daemon tests.

Installed for real by ``tests/pluginkit.py`` (a ``*.dist-info`` with an
``entry_points.txt``) as the platform ``scripted``, so it is found exactly as
a third-party connector is, in the test process and in subprocesses alike.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import ClassVar

from connectors.base import (
    AuthError, BadPayload, Batch, BrandQuery, Mention, RateLimited, Secret, TransientError,
)

MODES = ("ok", "transient", "rate_limited", "auth", "bad_payload", "crash", "cancelled", "exit", "hang")


@dataclass(frozen=True)
class ScriptedOptions:
    mode: str = "ok"  # one of MODES
    per_poll: int = 1  # new mentions per successful poll
    id_prefix: str = "m"  # mention ids are f"{id_prefix}{n}", n counting from 0
    text: str = "acme works fine today"
    hang_seconds: float = 30.0  # mode "hang": block this long, then succeed
    retry_after: float = 60.0  # mode "rate_limited": retry_at = now + this
    mode_file: str | None = None  # when this file exists, its content overrides mode
    token: Secret | None = None  # logged at DEBUG the way HTTP client libraries do


class ScriptedConnector:
    platform: ClassVar[str] = "scripted"
    Options: ClassVar[type] = ScriptedOptions

    def __init__(self, options: ScriptedOptions) -> None:
        self.options = options

    def build_query(self, brand: BrandQuery) -> str:
        return " OR ".join(brand.keywords)

    def _mode(self) -> str:
        if self.options.mode_file and Path(self.options.mode_file).exists():
            return Path(self.options.mode_file).read_text().strip()
        return self.options.mode

    def fetch(self, query: str, cursor: str | None) -> Batch:
        if self.options.token is not None:
            _log_like_http_clients(self.options.token.reveal())
        mode = self._mode()
        if mode == "hang":
            time.sleep(self.options.hang_seconds)
        elif mode == "transient":
            raise TransientError("HTTP 503 Service Unavailable from the scripted platform")
        elif mode == "rate_limited":
            retry_at = datetime.now(timezone.utc) + timedelta(seconds=self.options.retry_after)
            raise RateLimited("HTTP 429 Too Many Requests", retry_at)
        elif mode == "auth":
            raise AuthError("HTTP 401 Unauthorized: invalid token")
        elif mode == "bad_payload":
            raise BadPayload("unexpected JSON: no 'data' key")
        elif mode == "crash":
            raise RuntimeError("scripted connector bug")
        elif mode == "cancelled":  # what an asyncio client library may leak: a BaseException
            raise asyncio.CancelledError()
        elif mode == "exit":  # a library that calls sys.exit() on an error
            sys.exit(3)
        done = int(cursor or 0)
        now = datetime.now(timezone.utc)
        mentions = [
            Mention(
                platform="scripted", id=f"{self.options.id_prefix}{n}", text=f"{self.options.text} #{n}",
                author="someone", url=None, created_at=now - timedelta(minutes=1),
            )
            for n in range(done, done + self.options.per_poll)
        ]
        return Batch(mentions, str(done + self.options.per_poll), requests=1)


def _log_like_http_clients(token: str) -> None:
    """What tweepy, requests-oauthlib and urllib3 print at DEBUG, credentials included."""
    logging.getLogger("tweepy.client").debug(
        "Making API request: GET https://api.example.test/2/search\nParameters: {'q': 'acme'}\n"
        f"Headers: {{'User-Agent': 'Tweepy', 'Authorization': 'Bearer {token}'}}\nBody: None"
    )
    logging.getLogger("requests_oauthlib.oauth2_session").debug(
        "Supplying headers %s and data %s", {"Authorization": f"Bearer {token}"}, None
    )
    logging.getLogger("urllib3.connectionpool").debug(
        '%s://%s:%s "%s %s %s" %s %s', "http", "127.0.0.1", 9, "GET",
        f"/search?q=acme&access_token={token}", "HTTP/1.1", 200, 2,
    )
