"""The fake HTTP server other tests rely on: scripts, records, and stops even while hanging."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from fakeserver import HANG, FakeServer, Reply


def test_replies_come_in_turn_then_the_last_repeats_and_requests_are_recorded(fake_server):
    fake_server.route("GET", "/items", Reply(json={"n": 1}, headers={"x-page": "1"}), lambda r: Reply(json=r.params))

    first = requests.get(f"{fake_server.url}/items?a=1", timeout=2)
    second = requests.get(f"{fake_server.url}/items?b=2", timeout=2)
    third = requests.post(f"{fake_server.url}/items", data={"c": "3"}, timeout=2)
    missing = requests.get(f"{fake_server.url}/nowhere", timeout=2)

    assert (first.json(), first.headers["x-page"], first.headers["content-type"]) == (
        {"n": 1}, "1", "application/json; charset=utf-8")
    assert second.json() == {"b": "2"}
    assert third.status_code == 404  # routes are per method
    assert missing.status_code == 404
    assert [(r.method, r.path) for r in fake_server.requests] == [
        ("GET", "/items"), ("GET", "/items"), ("POST", "/items"), ("GET", "/nowhere")]
    assert fake_server.requests[2].form == {"c": "3"}
    assert len(fake_server.requests_to("/items", "GET")) == 2


def test_a_client_timeout_on_a_hanging_reply():
    with FakeServer() as server:
        server.route("GET", "/slow", Reply(delay=HANG))
        with pytest.raises(requests.Timeout):
            requests.get(f"{server.url}/slow", timeout=0.2)


def test_stopping_releases_a_hanging_reply_at_once():
    server = FakeServer().__enter__()
    server.route("GET", "/slow", Reply(delay=HANG))
    errors: list[Exception] = []

    def call() -> None:
        try:
            requests.get(f"{server.url}/slow", timeout=10)
        except requests.RequestException as exc:
            errors.append(exc)

    client = threading.Thread(target=call)
    client.start()
    assert server.wait_for_requests(1)  # the handler is now hanging
    started = time.monotonic()
    server.stop()
    client.join(5)

    assert time.monotonic() - started < 1
    assert not client.is_alive() and len(errors) == 1  # dropped unanswered, not left hanging
