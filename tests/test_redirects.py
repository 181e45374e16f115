"""A connector that sends credentials follows redirects only on base_url's host: a 307 or 308
sends a login's body (Bluesky's app password) again, to wherever it points."""

from __future__ import annotations

import pytest

import wire_bluesky as wb
import wire_mastodon as wm
import wire_rss as wrss
from fakeapi import poll_once
from fakeserver import HANG, FakeServer, Reply


@pytest.fixture
def elsewhere():
    """Another server, reached by another host name."""
    with FakeServer() as server:
        server.host_url = server.url.replace("127.0.0.1", "localhost")
        yield server


@pytest.mark.parametrize("status", [307, 308])
def test_a_bluesky_login_redirected_to_another_host_is_not_sent_there(
    fake_server, elsewhere, fresh_store, write_config, monkeypatch, status
):
    monkeypatch.setenv("BLUESKY_APP_PASSWORD", wb.APP_PASSWORD)
    fake_server.route("POST", wb.CREATE, Reply(status, headers={"Location": elsewhere.host_url + wb.CREATE}))
    wb.Fake(elsewhere)

    result = poll_once(fresh_store, write_config(wb.source_toml(fake_server.url, extra='query = "acme"')))

    assert elsewhere.requests == []
    assert (result.status, result.error_kind) == ("error", "error")
    host = elsewhere.host_url.removeprefix("http://")
    assert result.error == (
        f"bluesky: {wb.CREATE} redirected to http://{host} ({status}), which is not base_url's host;"
        " not followed with the credentials (set base_url to that server if it is meant)"
    )


def test_a_mastodon_timeline_redirected_to_another_host_is_not_followed_with_the_token(
    fake_server, elsewhere, fresh_store, write_config, monkeypatch
):
    monkeypatch.setenv("MASTODON_TOKEN", wm.TOKEN)
    fake_server.route("GET", wm.TIMELINE, Reply(302, headers={"Location": elsewhere.host_url + wm.TIMELINE}))
    elsewhere.route("GET", wm.TIMELINE, Reply(json=[]))

    result = poll_once(fresh_store, write_config(wm.source_toml(fake_server.url, extra='query = "#acme"')))

    assert elsewhere.requests == []
    assert result.status == "error" and f"mastodon: {wm.TIMELINE} redirected to http://" in result.error


def test_redirects_on_base_urls_host_are_followed_with_credentials(
    fake_server, fresh_store, write_config, monkeypatch
):
    monkeypatch.setenv("MASTODON_TOKEN", wm.TOKEN)
    fake_server.route("GET", wm.TIMELINE, Reply(301, headers={"Location": "/api/v1/timelines/tag/acme2"}))
    fake_server.route("GET", "/api/v1/timelines/tag/acme2", Reply(json=[]))

    result = poll_once(fresh_store, write_config(wm.source_toml(fake_server.url, extra='query = "#acme"')))

    assert result.status == "ok", result.error
    (moved,) = fake_server.requests_to("/api/v1/timelines/tag/acme2")
    assert moved.headers["authorization"] == f"Bearer {wm.TOKEN}"


def test_a_feed_without_credentials_follows_a_redirect_to_another_host(
    fake_server, elsewhere, fresh_store, write_config
):
    fake_server.route("GET", wrss.FEED_PATH, Reply(301, headers={"Location": elsewhere.host_url + "/feed.xml"}))
    elsewhere.route("GET", "/feed.xml", Reply(body='<rss version="2.0"><channel><title>t</title></channel></rss>',
                                              content_type="application/rss+xml"))

    result = poll_once(fresh_store, write_config(wrss.source_toml(fake_server.url)))

    assert result.status == "ok", result.error
    assert len(elsewhere.requests) == 1


@pytest.mark.parametrize("answer", ["refused", "hangs"])
def test_a_redirect_to_a_host_that_fails_names_that_host_not_the_one_that_answered(
    fake_server, elsewhere, fresh_store, write_config, answer
):
    if answer == "refused":
        gone = FakeServer()  # a port nobody listens on any more
        gone.stop()
        target = gone.url.replace("127.0.0.1", "localhost")
    else:
        elsewhere.route("GET", "/feed.xml", Reply(delay=HANG))
        target = elsewhere.host_url
    fake_server.route("GET", wrss.FEED_PATH, Reply(301, headers={"Location": target + "/feed.xml"}))

    result = poll_once(fresh_store, write_config(wrss.source_toml(fake_server.url)))

    assert result.error_kind == "transient"
    if answer == "refused":
        assert result.error == f"rss: cannot reach {target} (redirected there from {fake_server.url}): ConnectionError"
    else:
        assert result.error == f"rss: no answer within 0.5s (timeout) from {target} (redirected there from {fake_server.url})"
