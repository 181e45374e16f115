"""A scripted HTTP server on 127.0.0.1 for connector tests: real sockets, real HTTP.

Script what each route answers, point a connector's ``base_url`` at
``server.url``, then assert on what was stored and on ``server.requests``
(method, path, query, headers, body of every request, in order)::

    fake_server.route("GET", "/2/tweets/search/recent", Reply(json=page1), Reply(json=page2))
    fake_server.route("GET", "/slow", Reply(delay=HANG))   # answers only when the server stops
    fake_server.route("GET", "/stall", Reply(body=page, stall_after=10))  # 10 bytes of the body, then hangs
    fake_server.route("GET", "/drip", Reply(body=page, trickle=0.1))  # the body a byte every 0.1 s

A route answers with its replies in turn and repeats the last one; a reply
may also be a function of the :class:`Request`. Unscripted routes answer 404.
The server speaks HTTP/1.0 (one connection per request), so a client never
reuses a socket the server has closed. Stopping it releases hanging replies
first, so a test with a hanging response still ends at once.
"""

from __future__ import annotations

import json as jsonlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

HANG = float("inf")  # a Reply delay: never answer (until the server stops)
_NO_JSON = object()


@dataclass(frozen=True)
class Reply:
    """One scripted response: a JSON value or a raw body, with status and headers."""

    status: int = 200
    json: Any = _NO_JSON
    body: bytes | str = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering; HANG: no answer
    content_type: str | None = None  # default: application/json when ``json`` is given
    stall_after: int | None = None  # send only this many bytes of the body, then hang (until the server stops)
    trickle: float = 0.0  # seconds between the body's bytes, sent one at a time (a server that never times out)

    def payload(self) -> bytes:
        if self.json is not _NO_JSON:
            return jsonlib.dumps(self.json).encode()
        return self.body.encode() if isinstance(self.body, str) else self.body


@dataclass(frozen=True)
class Request:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names in lower case
    body: bytes

    @property
    def params(self) -> dict[str, str]:
        """Query parameters, the first value of each."""
        return {k: v[0] for k, v in self.query.items()}

    @property
    def form(self) -> dict[str, str]:
        """A url-encoded body, the first value of each field."""
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


Responder = Reply | Callable[[Request], Reply]


class FakeServer:
    """A threaded HTTP server answering scripted routes; see the module docstring."""

    def __init__(self) -> None:
        self._routes: dict[tuple[str, str], list[Responder]] = {}
        self._requests: list[Request] = []
        self._lock = threading.Condition()
        self._stopping = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), _handler_class(self))
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="fakeserver", daemon=True
        )
        host, port = self._httpd.server_address[:2]
        self.url = f"http://{host}:{port}"

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Release hanging replies, stop serving and wait for every handler to end."""
        self._stopping.set()
        if self._thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()  # joins handler threads (daemon_threads is off)

    def route(self, method: str, path: str, *replies: Responder) -> None:
        """Answer ``METHOD path`` with ``replies`` in turn, then the last one forever."""
        if not replies:
            raise ValueError("route() needs at least one reply")
        with self._lock:
            self._routes[(method.upper(), path)] = list(replies)

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, path: str, method: str | None = None) -> list[Request]:
        return [r for r in self.requests if r.path == path and (method is None or r.method == method.upper())]

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until ``count`` requests have arrived (e.g. before stopping a hanging one)."""
        with self._lock:
            return self._lock.wait_for(lambda: len(self._requests) >= count, timeout)

    def clear(self) -> None:
        """Forget the requests received so far (routes stay)."""
        with self._lock:
            self._requests.clear()

    # called by the handler threads
    def _answer(self, request: Request) -> Reply:
        with self._lock:
            self._requests.append(request)
            self._lock.notify_all()
            script = self._routes.get((request.method, request.path))
            if not script:
                return Reply(404, json={"error": f"no route for {request.method} {request.path}"})
            responder = script.pop(0) if len(script) > 1 else script[0]
        return responder(request) if callable(responder) else responder

    def _wait(self, seconds: float) -> bool:
        """Sleep ``seconds`` (or until stopped); whether the server is stopping."""
        return self._stopping.wait(None if seconds == HANG else seconds)


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # so server_close() waits for handlers: nothing outlives a test
    block_on_close = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (timeout) is part of the scenarios


def _handler_class(server: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
            )
            reply = server._answer(request)
            if reply.delay and server._wait(reply.delay):
                return  # stopping: drop the connection unanswered
            payload = reply.payload()
            self.send_response_only(reply.status)
            if not any(name.lower() == "date" for name in reply.headers):  # a reply may set the server's clock
                self.send_header("Date", self.date_time_string())
            content_type = reply.content_type or (
                "application/json; charset=utf-8" if reply.json is not _NO_JSON else "text/plain"
            )
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if reply.trickle:
                for index in range(len(payload)):
                    self.wfile.write(payload[index:index + 1])
                    self.wfile.flush()
                    if server._wait(reply.trickle):
                        return
                return
            self.wfile.write(payload if reply.stall_after is None else payload[:reply.stall_after])
            if reply.stall_after is not None:
                self.wfile.flush()
                server._wait(HANG)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

    return Handler
