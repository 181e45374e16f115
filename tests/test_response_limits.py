"""A response body is read up to connectors.http.MAX_RESPONSE_BYTES once decompressed: a feed or
an API that answers a gzip bomb (kilobytes on the wire, gigabytes inflated) or an endless body
fails the poll instead of filling the memory."""

from __future__ import annotations

import json
import time
import zlib

import pytest

import wire_reddit as wr
import wire_rss as wrss
import wire_x as wx
from connectors.http import MAX_RESPONSE_BYTES
from fakeapi import poll_once
from fakeserver import Reply


def gzip_bomb(document: str) -> bytes:
    """``document`` (valid read whole) with twice MAX_RESPONSE_BYTES of spaces before its last
    character, gzip-compressed: about 1/1000 of that."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [packer.compress(document[:-1].encode())]
    block = b" " * 2**20
    for _ in range(2 * MAX_RESPONSE_BYTES // len(block)):
        out.append(packer.compress(block))
    return b"".join(out) + packer.compress(document[-1].encode()) + packer.flush()


TOO_BIG = f"answered with more than {MAX_RESPONSE_BYTES // 2**20} MB (decompressed); not read"


def bomb(document: str, content_type: str = "application/json") -> Reply:
    return Reply(body=gzip_bomb(document), headers={"Content-Encoding": "gzip"}, content_type=content_type)


def test_the_bomb_is_small_on_the_wire_and_valid_inflated():
    packed = gzip_bomb('{"meta": {"result_count": 0}}')
    assert len(packed) < 200_000
    assert json.loads(zlib.decompress(packed, 31)) == {"meta": {"result_count": 0}}


def test_a_feed_answering_a_gzip_bomb_fails_the_poll(fake_server, fresh_store, write_config):
    fake_server.route("GET", wrss.FEED_PATH, bomb('<rss version="2.0"><channel><title>t</title></channel></rss>', "application/rss+xml"))
    result = poll_once(fresh_store, write_config(wrss.source_toml(fake_server.url)))
    assert (result.status, result.error_kind, result.requests) == ("error", "bad_payload", 1)
    assert result.error == f"rss: {wrss.FEED_PATH} {TOO_BIG}"


def test_x_answering_a_gzip_bomb_fails_the_poll(fake_server, fresh_store, write_config, monkeypatch):
    monkeypatch.setenv("X_BEARER_TOKEN", "test-bearer")
    fake_server.route("GET", wx.SEARCH, bomb('{"meta": {"result_count": 0}}'))
    result = poll_once(fresh_store, write_config(wx.source_toml(fake_server.url)))
    assert (result.status, result.error_kind, result.requests) == ("error", "bad_payload", 1)
    assert result.error == f"x: {wx.SEARCH} {TOO_BIG}"


@pytest.mark.parametrize("where", ["listing", "token endpoint"])
def test_reddit_answering_a_gzip_bomb_fails_the_poll(fake_server, fresh_store, write_config, monkeypatch, where):
    monkeypatch.setenv("REDDIT_CLIENT_ID", wr.CLIENT_ID)
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", wr.CLIENT_SECRET)
    if where == "listing":
        wr.serve_token(fake_server)
        fake_server.route("GET", wr.search_path(), bomb('{"kind": "Listing", "data": {"children": [], "after": null}}'))
        path = wr.search_path()
    else:
        fake_server.route("POST", wr.TOKEN_PATH, bomb(
            f'{{"access_token": "{wr.ACCESS_TOKEN}", "token_type": "bearer", "expires_in": 86400, "scope": "*"}}'))
        path = wr.TOKEN_PATH
    result = poll_once(fresh_store, write_config(wr.source_toml(fake_server.url)))
    assert (result.status, result.error_kind) == ("error", "bad_payload"), result.error
    assert result.error == f"reddit: {path} {TOO_BIG}"


def redirected_bomb(location: str) -> Reply:
    """A redirect whose own body is a gzip bomb: requests reads it before following."""
    return Reply(302, body=gzip_bomb(" " * 10), headers={"Content-Encoding": "gzip", "Location": location},
                 content_type="text/plain")


def test_a_redirect_whose_body_is_a_gzip_bomb_fails_the_poll(fake_server, fresh_store, write_config, monkeypatch):
    # requests reads a redirect's body whole (to free the connection) before following it.
    fake_server.route("GET", wrss.FEED_PATH, redirected_bomb("/moved.xml"))
    fake_server.route("GET", "/moved.xml", Reply(body='<rss version="2.0"><channel><title>t</title></channel></rss>',
                                                 content_type="application/rss+xml"))
    result = poll_once(fresh_store, write_config(wrss.source_toml(fake_server.url)))
    assert (result.status, result.error_kind) == ("error", "bad_payload"), result.error
    assert result.error == f"rss: {wrss.FEED_PATH} {TOO_BIG}"
    assert fake_server.requests_to("/moved.xml") == []


def test_x_and_reddit_read_a_redirects_body_as_bounded(fake_server, fresh_store, write_config, monkeypatch):
    monkeypatch.setenv("X_BEARER_TOKEN", "test-bearer")
    fake_server.route("GET", wx.SEARCH, redirected_bomb("/moved"))
    fake_server.route("GET", "/moved", Reply(json={"meta": {"result_count": 0}}))
    result = poll_once(fresh_store, write_config(wx.source_toml(fake_server.url)))
    assert (result.status, result.error_kind) == ("error", "bad_payload"), result.error
    assert result.error == f"x: {wx.SEARCH} {TOO_BIG}"

    monkeypatch.setenv("REDDIT_CLIENT_ID", wr.CLIENT_ID)
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", wr.CLIENT_SECRET)
    fake_server.route("POST", wr.TOKEN_PATH, Reply(307, body=gzip_bomb(" " * 10), content_type="text/plain",
                                                   headers={"Content-Encoding": "gzip", "Location": "/token2"}))
    result = poll_once(fresh_store, write_config(wr.source_toml(fake_server.url)))
    assert (result.status, result.error_kind) == ("error", "bad_payload"), result.error
    assert result.error == f"reddit: {wr.TOKEN_PATH} {TOO_BIG}"


@pytest.mark.parametrize("how", ["stops", "trickles"])
def test_x_and_reddit_time_out_on_a_body_that_stops_or_only_trickles(fake_server, fresh_store, write_config,
                                                                      monkeypatch, how):
    def reply(document: str) -> Reply:
        body = document.encode() + b" " * 400  # trailing spaces: valid once whole, 20 s of them at 0.05 s each
        return Reply(200, body=body, stall_after=5) if how == "stops" else Reply(200, body=body, trickle=0.05)

    monkeypatch.setenv("X_BEARER_TOKEN", "test-bearer")
    fake_server.route("GET", wx.SEARCH, reply('{"meta": {"result_count": 0}}'))
    started = time.monotonic()
    result = poll_once(fresh_store, write_config(wx.source_toml(fake_server.url)))
    assert time.monotonic() - started < 3
    assert (result.error_kind, result.error) == ("transient", "x: the answer did not arrive whole within 0.5s (timeout)")

    monkeypatch.setenv("REDDIT_CLIENT_ID", wr.CLIENT_ID)
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", wr.CLIENT_SECRET)
    wr.serve_token(fake_server)
    fake_server.route("GET", wr.search_path(), reply('{"kind": "Listing", "data": {"children": [], "after": null}}'))
    started = time.monotonic()
    result = poll_once(fresh_store, write_config(wr.source_toml(fake_server.url)))
    assert time.monotonic() - started < 3
    assert (result.error_kind, result.error) == (
        "transient", "reddit: the answer did not arrive whole within 0.5s (timeout)")


def test_a_body_that_arrives_whole_within_the_timeout_is_read(fake_server, fresh_store, write_config):
    body = wrss.atom([wrss.alert("acme news", minutes_ago=5)])
    fake_server.route("GET", wrss.FEED_PATH, Reply(200, body=body, content_type="application/atom+xml",
                                                   trickle=0.1 / len(body)))
    result = poll_once(fresh_store, write_config(wrss.source_toml(fake_server.url)))
    assert (result.status, result.new) == ("ok", 1), result.error
