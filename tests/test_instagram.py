"""The Instagram connector against a fake Graph API account: tags, comments, hashtags and their budget."""

from __future__ import annotations

import json
import logging

import pytest

from fakeapi import poll_once
from fakeapi import stored as rows
import wire_instagram as wi
from monitor import config as config_module


@pytest.fixture
def account(fake_server, monkeypatch):
    monkeypatch.setenv("INSTAGRAM_TOKEN", wi.TOKEN)
    return wi.Fake(fake_server)


@pytest.fixture
def poll(account, fresh_store, write_config):
    def run(extra: str = ""):
        path = write_config(wi.source_toml(account.server.url, extra=extra))
        return poll_once(fresh_store, path)

    return run


def cursor(store):
    return json.loads(store.sources.cursor("instagram-acme") or "null")


def test_tagged_media_and_comments_on_own_media_are_stored_and_the_brand_replies_are_not(
        poll, account, fresh_store):
    tagged = wi.media("Finally got my hands on the new Acme widget, love it", minutes_ago=30, likes=42, comments=3)
    account.tags.append(tagged)
    photo = account.add_own("Our new widget", minutes_ago=120)
    account.add_own("Last month's post", minutes_ago=60 * 24 * 30)  # older than comments_lookback
    reply = wi.comment("Yes, it does", minutes_ago=5, username=wi.USERNAME, user_id=wi.USER_ID)
    question = account.add_comment(photo, "Does it work with the old dock? Mine broke, awful", minutes_ago=20,
                                   likes=2, replies=[reply])
    account.add_comment(photo, "So happy with it", minutes_ago=10, username="kim")

    result = poll()

    assert (result.status, result.new) == ("ok", 3), result.error
    stored = rows(fresh_store)
    media = stored[tagged["id"]]
    assert (media["author"], media["likes"], media["replies"], media["url"], media["label"]) == (
        "jane.doe", 42, 3, tagged["permalink"], "positive")
    comment = stored[question["id"]]
    assert (comment["author"], comment["likes"], comment["url"], comment["label"]) == (
        "john.smith", 2, photo["permalink"], "negative")
    assert reply["id"] not in stored  # the brand's own reply
    own_media = account.server.requests_to(wi.path(wi.USER_ID, "media"))
    assert len(own_media) == 1 and len(account.server.requests_to(wi.path(photo["id"], "comments"))) == 1
    assert set(cursor(fresh_store)) == {"tags", "comments", "for"}


def test_comments_in_no_particular_order_are_all_read_and_served_once(poll, account, fresh_store):
    photo = account.add_own("Our new widget", minutes_ago=120)
    first = [account.add_comment(photo, f"comment {i}", minutes_ago=30 - i)["id"] for i in range(3)]
    poll("page_size = 2")
    late = account.add_comment(photo, "a late comment", minutes_ago=1)["id"]

    result = poll("page_size = 2")

    assert (result.new, result.fetched) == (1, 1)
    assert set(rows(fresh_store)) == {*first, late}


def test_hashtag_media_are_read_with_the_id_searched_once(poll, account, fresh_store, fake_server):
    account.hashtag_media["acmewidget"].append(wi.media("#acmewidget unboxing", minutes_ago=5, username=None))
    settings = 'tags = false\ncomments = false\nhashtags = ["#AcmeWidget"]'

    first = poll(settings)

    assert (first.status, first.new) == ("ok", 1), first.error
    (row,) = rows(fresh_store).values()
    assert row["author"] is None  # Instagram never gives usernames on hashtag media
    recent = fake_server.requests_to(wi.path(wi.HASHTAG_IDS["acmewidget"], "recent_media"))[0]
    assert recent.params["user_id"] == wi.USER_ID and "username" not in recent.params["fields"]
    assert cursor(fresh_store)["hashtag_ids"]["acmewidget"]["id"] == wi.HASHTAG_IDS["acmewidget"]
    fake_server.clear()

    assert poll(settings).new == 0
    assert fake_server.requests_to(wi.path("ig_hashtag_search")) == []


def test_a_new_hashtag_over_the_weekly_budget_is_skipped_not_searched(poll, account, fake_server, caplog):
    poll('tags = false\ncomments = false\nhashtags = ["acmewidget"]\nhashtag_budget = 1')
    fake_server.clear()

    with caplog.at_level(logging.WARNING, "connectors.instagram"):
        result = poll('tags = false\ncomments = false\nhashtags = ["acme"]\nhashtag_budget = 1')

    assert result.status == "ok"
    assert "#acme skipped: 1 hashtags searched in the last 7 days (hashtag_budget)" in caplog.text
    assert fake_server.requests == []


def test_an_unknown_hashtag_is_a_query_problem(poll, account):
    result = poll('tags = false\ncomments = false\nhashtags = ["nosuchtag"]')

    assert result.error_kind == "bad_query" and "#nosuchtag" in result.error


def test_more_hashtags_than_the_budget_is_a_config_error(write_config):
    from monitor.errors import ConfigError

    tags = ", ".join(f'"tag{i}"' for i in range(31))
    path = write_config(f'[[sources]]\nname = "ig"\nplatform = "instagram"\nuser_id = "1"\naccess_token = "t"\n'
                        f"hashtags = [{tags}]\n")
    with pytest.raises(ConfigError, match="31 configured, over the budget of 30"):
        config_module.load(path)


def test_another_account_id_reads_that_account_afresh_not_from_the_old_account_watermark(
        poll, account, fresh_store, fake_server, write_config):
    """The cursor belongs to its account: after `user_id` is edited, media the new account was
    tagged in before the old account's newest must still be read (they were taken as old)."""
    account.add("acme widget, love it", minutes_ago=5)
    assert poll().new == 1
    other = wi.Fake(fake_server, user_id="17841405300000002")
    older = other.add("acme lost my parcel, awful", minutes_ago=60)

    moved = poll_once(fresh_store, write_config(other.source(), name="moved.toml"))

    assert (moved.status, moved.new) == ("ok", 1), moved.error
    assert older in rows(fresh_store) and cursor(fresh_store)["for"] == other.user_id
