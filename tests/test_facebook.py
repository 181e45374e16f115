"""The Facebook connector against a fake Graph API Page: edges, comments, ratings, Graph errors."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone

import pytest

from fakeapi import poll_once
from fakeapi import stored as rows
import wire_facebook as wf
import wire_graph as g
from monitor import config as config_module


@pytest.fixture
def page(fake_server, monkeypatch):
    monkeypatch.setenv("FACEBOOK_PAGE_TOKEN", wf.TOKEN)
    return wf.Fake(fake_server)


@pytest.fixture
def poll(page, fresh_store, write_config):
    def run(extra: str = ""):
        path = write_config(wf.source_toml(page.server.url, extra=extra))
        return poll_once(fresh_store, path)

    return run


def cursor(store):
    return json.loads(store.sources.cursor("facebook-acme") or "null")


def test_visitor_posts_comments_tags_and_reviews_are_stored_and_the_page_own_words_are_not(poll, page, fresh_store):
    visitor = page.add("Anyone else having trouble with the Acme app today? Terrible.", minutes_ago=30,
                       reactions=4, comments=2, shares=1)
    own = page.add("New Acme widgets in stock!", minutes_ago=60, author=wf.PAGE)
    complaint = page.add_comment(own, "Still waiting for my refund, awful service", minutes_ago=20, likes=3, replies=1)
    page.add_comment(own, "Sorry to hear that, we've sent you a message", minutes_ago=10, author=wf.PAGE)
    tagged = wf.post("Great day out with @Acme, love them", minutes_ago=45, author=wf.JOHN)
    page.tagged.append(tagged)
    page.ratings += [wf.rating("Support never answered my ticket.", minutes_ago=90),
                     wf.rating(None, minutes_ago=100, recommendation="positive", reviewer=wf.JOHN)]

    result = poll()

    assert (result.status, result.new) == ("ok", 5), result.error
    stored = rows(fresh_store)
    assert own not in stored and len([i for i in stored if i.startswith("rating:")]) == 2
    post = stored[visitor]
    assert (post["author"], post["likes"], post["replies"], post["reposts"], post["label"]) == (
        "Jane Doe", 4, 2, 1, "negative")
    assert post["url"] == f"https://www.facebook.com/{wf.PAGE_ID}/posts/{visitor.split('_')[1]}"
    assert post["created_at"] == datetime.strptime(page.feed[0]["created_time"], "%Y-%m-%dT%H:%M:%S%z").strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    comment = stored[complaint]
    assert (comment["author"], comment["likes"], comment["replies"], comment["label"]) == ("John Smith", 3, 1, "negative")
    assert "comment_id=" in comment["url"]
    assert stored[tagged["id"]]["label"] == "positive"
    reviews = sorted((r for r in stored.values() if r["id"].startswith("rating:")), key=lambda r: r["text"])
    assert [(r["text"], r["author"]) for r in reviews] == [
        ("Recommends this page.", "John Smith"), ("Support never answered my ticket.", "Jane Doe")]
    assert reviews[0]["url"] == f"https://www.facebook.com/{wf.PAGE_ID}/reviews"
    assert set(cursor(fresh_store)) == {"feed", "comments", "posts_updated", "tagged", "ratings", "for"}

    feed = page.listing_requests()[0]
    assert feed.headers["authorization"] == f"Bearer {wf.TOKEN}" and "access_token" not in feed.params
    assert feed.params["fields"].startswith("id,created_time,updated_time,message")
    comments = page.server.requests_to(wf.path(own, "comments"))[0]
    assert (comments.params["filter"], comments.params["order"]) == ("stream", "reverse_chronological")


def test_next_polls_ask_from_the_newest_second_and_reread_comments_only_of_posts_that_changed(
        poll, page, fresh_store, fake_server):
    quiet = page.add("acme is ok", minutes_ago=50)
    busy = page.add("acme launch day", minutes_ago=40)
    page.add_comment(busy, "first!", minutes_ago=30)
    poll()
    newest = g.unix(page.feed[1]["created_time"])
    fake_server.clear()
    later = page.add_comment(busy, "the app crashed twice, useless", minutes_ago=1)

    result = poll()

    assert (result.status, result.new) == ("ok", 1), result.error
    assert later in rows(fresh_store)
    assert fake_server.requests_to(wf.path(quiet, "comments")) == []
    assert len(fake_server.requests_to(wf.path(busy, "comments"))) == 1
    assert cursor(fresh_store)["feed"]["newest"] == newest
    assert int(page.server.requests_to(page.listing)[0].params["since"]) < newest  # back to the comment lookback


def test_without_comments_the_feed_is_asked_from_the_newest_second(poll, page, fake_server):
    page.add("acme", minutes_ago=5)
    only_feed = "comments = false\ntagged = false\nratings = false"
    poll(only_feed)
    fake_server.clear()

    assert poll(only_feed).fetched == 0
    assert int(page.listing_requests()[0].params["since"]) == g.unix(page.feed[0]["created_time"]) - 1


def test_pages_of_an_edge_follow_paging_next_on_the_configured_host(poll, page, fake_server):
    for i in range(5):
        page.tagged.append(wf.post(f"tagged acme {i}", minutes_ago=i + 1))

    result = poll("page_size = 2\nfeed = false\ncomments = false\nratings = false")

    assert result.new == 5
    tagged = fake_server.requests_to(wf.path(wf.PAGE_ID, "tagged"))
    assert len(tagged) == 3 and "after" in tagged[1].params and "fields" in tagged[2].params


def test_a_page_emptied_by_privacy_filtering_does_not_end_the_edge(poll, page, fresh_store, fake_server):
    # Graph fills a page, then drops what the token may not see: a page may be empty
    # and still have paging.next; only a missing next ends the edge.
    hidden = [page.add(f"acme private {i}", minutes_ago=i + 1) for i in range(2)]
    page.private.update(hidden)
    visible = page.add("acme visible further down", minutes_ago=10)

    result = poll("page_size = 2\ncomments = false\ntagged = false\nratings = false")

    assert (result.status, result.new) == ("ok", 1), result.error
    assert set(rows(fresh_store)) == {visible}
    first, second = page.listing_requests()
    assert "after" in second.params


def test_deprecated_ratings_are_noted_and_not_asked_for_again(poll, page, fresh_store, fake_server, caplog):
    fake_server.route("GET", wf.path(wf.PAGE_ID, "ratings"), g.error(*g.DEPRECATED))
    page.add("acme fine", minutes_ago=5)

    with caplog.at_level(logging.WARNING, "connectors.facebook"):
        first = poll()

    assert (first.status, first.new) == ("ok", 1), first.error
    assert "no longer available in v26.0 (code 12" in caplog.text
    assert cursor(fresh_store)["ratings"] == {"unavailable": "v26.0"}
    fake_server.clear()

    assert poll().status == "ok"
    assert fake_server.requests_to(wf.path(wf.PAGE_ID, "ratings")) == []


def test_an_expired_token_names_the_source_and_the_secret(poll, page):
    page.fail(g.error(*g.INVALID_TOKEN, subcode=463))

    result = poll()

    assert result.error_kind == "auth"
    assert '("facebook-acme"): access_token' in result.error and "env FACEBOOK_PAGE_TOKEN" in result.error
    assert "code 190" in result.error


def test_a_missing_permission_is_an_auth_error(poll, page):
    page.fail(g.error(*g.NO_PERMISSION))

    result = poll()

    assert result.error_kind == "auth" and "lacks a permission" in result.error


def test_usage_headers_at_the_limit_stop_the_poll_before_the_next_request(poll, page, fresh_store):
    page.usage_headers = g.usage(wf.PAGE_ID, calls=100, minutes=12)
    for i in range(3):
        page.add(f"acme {i}", minutes_ago=i + 1)

    result = poll("page_size = 2\ncomments = false\ntagged = false\nratings = false")

    assert (result.error_kind, len(page.listing_requests())) == ("rate_limited", 1), result.error
    expected = datetime.now(timezone.utc) + timedelta(minutes=12)
    assert abs((result.retry_at - expected).total_seconds()) < 5
    assert "x-business-use-case-usage at 100%" in result.error
    assert fresh_store.sources.cursor("facebook-acme") is None


def test_an_app_rate_limit_code_without_headers_backs_off(poll, page):
    page.fail(g.error(*g.APP_LIMIT))

    result = poll()

    assert result.error_kind == "rate_limited" and "code 4" in result.error
    expected = datetime.now(timezone.utc) + timedelta(minutes=7)  # rate_limit_backoff
    assert abs((result.retry_at - expected).total_seconds()) < 5


def test_page_id_must_be_numeric(write_config):
    from monitor.errors import ConfigError

    path = write_config('[[sources]]\nname = "fb"\nplatform = "facebook"\npage_id = "acme"\naccess_token = "t"\n')
    with pytest.raises(ConfigError, match='page_id: "acme" must be the numeric Page id'):
        config_module.load(path)


def test_another_page_id_reads_that_page_afresh_not_from_the_old_page_watermark(
        poll, page, fresh_store, fake_server, write_config):
    """The cursor belongs to its Page: after `page_id` is edited, the new Page's posts older
    than the old Page's newest must still be read (they were skipped: `since` was the old one's)."""
    page.add("acme news on the old page", minutes_ago=5)
    assert poll().new == 1
    other = wf.Fake(fake_server, page_id="104560302339999")
    older = other.add("acme was rude to me on the phone", minutes_ago=60)

    moved = poll_once(fresh_store, write_config(other.source(), name="moved.toml"))

    assert (moved.status, moved.new) == ("ok", 1), moved.error
    assert older in rows(fresh_store)


def test_a_cursor_of_an_older_version_without_a_page_is_kept_and_then_names_the_page(poll, page, fresh_store):
    page.add("acme first", minutes_ago=30)
    assert poll().new == 1
    unscoped = json.dumps({k: v for k, v in cursor(fresh_store).items() if k != "for"})
    with fresh_store.transaction():
        fresh_store.conn.execute("UPDATE sources SET cursor = ? WHERE name = 'facebook-acme'", [unscoped])

    again = poll()

    assert (again.status, again.fetched) == ("ok", 0), again.error  # its watermark still holds
    assert cursor(fresh_store)["for"] == wf.PAGE_ID  # and it belongs to the Page from now on
