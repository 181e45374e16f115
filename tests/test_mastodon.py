"""The Mastodon connector against a fake instance: mapping, min_id/Link paging, search, limits."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from fakeapi import poll_once
from fakeapi import stored as rows
from fakeserver import FakeServer
import wire_mastodon as wm
from connectors.base import BrandQuery, Secret
from connectors.mastodon import MastodonConnector, MastodonOptions


@pytest.fixture
def instance(fake_server, monkeypatch):
    monkeypatch.setenv("MASTODON_TOKEN", wm.TOKEN)
    return wm.Fake(fake_server)


@pytest.fixture
def poll(instance, fresh_store, write_config):
    def run(extra: str = 'query = "#acme"'):
        path = write_config(wm.source_toml(instance.server.url, extra=extra))
        return poll_once(fresh_store, path)

    return run


def test_statuses_map_to_mentions_with_full_handles_plain_text_and_engagement(poll, instance, fresh_store):
    local = instance.add("Loving the new widget, great support!", minutes_ago=5, likes=5, replies=2, reblogs=1)
    remote = instance.add("The app <br>keeps crashing &amp; nobody answers", minutes_ago=6, author=wm.BOB,
                          spoiler="rant")
    boosted = wm.status("Original post about acme, works well", minutes_ago=8, author=wm.BOB)
    wrapper = wm.status("", minutes_ago=7)
    wrapper["reblog"] = boosted
    instance.statuses.append(wrapper)

    result = poll()

    assert (result.status, result.new) == ("ok", 3), result.error
    stored = rows(fresh_store)
    first = stored[local]
    assert (first["author"], first["likes"], first["replies"], first["reposts"], first["followers"], first["lang"]) == (
        "alice@mastodon.example", 5, 2, 1, 120, "en")
    assert first["text"] == "Loving the new widget, great support! #acme" and first["label"] == "positive"
    assert first["url"] == instance.statuses[0]["url"]
    second = stored[remote]
    assert second["author"] == "bob@fosstodon.org"
    assert second["text"] == "rant\n\nThe app\nkeeps crashing & nobody answers #acme" and second["label"] == "negative"
    assert boosted["uri"] in stored  # a boost is stored as the boosted post


def since_id(status_id: str, minutes: float = 15) -> str:
    """The min_id of the overlap before a status: the snowflake id of its time less ``minutes``."""
    return str(((int(status_id) >> 16) - int(minutes * 60_000)) << 16)


def test_later_polls_walk_forward_from_min_id_through_link_prev_without_gaps(poll, instance, fresh_store, fake_server):
    instance.add("acme first", minutes_ago=30)
    poll('query = "#acme"\npage_size = 2')
    newest_id = instance.statuses[0]["id"]
    fresh = [instance.add(f"acme new {i}", minutes_ago=10 - i) for i in range(5)]
    fake_server.clear()

    result = poll('query = "#acme"\npage_size = 2\nmax_pages = 2')

    assert (result.new, result.duplicates) == (3, 0)  # the first page re-reads the overlap: "acme first", seen
    first, second = instance.listing_requests()
    assert first.params == {"limit": "2", "min_id": since_id(newest_id)}
    assert second.params["min_id"] != first.params["min_id"]  # the Link rel="prev" URL, re-aimed at base_url
    fake_server.clear()

    rest = poll('query = "#acme"\npage_size = 2\nmax_pages = 2')

    # stopped by the budget, the walk goes on from the newest status read, not the overlap
    assert (rest.new, rest.duplicates) == (2, 0)
    assert instance.listing_requests()[0].params["min_id"] == since_id(instance.statuses[3]["id"], 0)
    assert set(fresh) <= set(rows(fresh_store))


def test_a_post_federated_late_with_a_backdated_id_is_stored_on_the_next_poll_and_only_once(poll, instance, fresh_store):
    local = instance.add("acme local post", minutes_ago=1)
    assert poll().new == 1
    # published 3 minutes ago on its server, delivered only now: its id is of 3 minutes ago
    late = instance.add("acme remote post delivered late", minutes_ago=3, author=wm.BOB)

    second = poll()

    assert (second.status, second.new, second.duplicates) == ("ok", 1, 0), second.error
    assert set(rows(fresh_store)) == {local, late}
    assert (poll().new, poll().duplicates) == (0, 0)


def test_a_cursor_of_the_newest_status_id_is_read_as_that_status_time(instance):
    known = wm.status("acme known", minutes_ago=1)
    late = wm.status("acme federated late", minutes_ago=4, author=wm.BOB)
    instance.statuses += [known, late]
    connector = MastodonConnector(MastodonOptions(base_url=instance.server.url, timeout=2))

    batch = connector.fetch("#acme", json.dumps({"#acme": known["id"]}))  # a cursor saved before the overlap

    assert late["uri"] in {m.id for m in batch.mentions}
    assert instance.listing_requests()[0].params["min_id"] == since_id(known["id"])
    assert set(json.loads(batch.next_cursor)["#acme"]["seen"]) == {known["uri"], late["uri"]}


def test_an_unknown_hashtag_is_an_empty_poll(poll, instance, fake_server):
    fake_server.route("GET", "/api/v1/timelines/tag/nosuchtag", wm.Reply(404, json={"error": "Record not found"}))

    result = poll('query = "#nosuchtag"')

    assert (result.status, result.fetched) == ("ok", 0)


def test_status_search_with_a_token_from_min_id(poll, instance, fresh_store, fake_server):
    found = wm.status("acme support is slow today", minutes_ago=3)
    instance.searchable.append(found)

    first = poll('query = "\\"acme support\\""')

    assert first.new == 1
    (request,) = fake_server.requests_to(wm.SEARCH)
    assert request.headers["authorization"] == f"Bearer {wm.TOKEN}"
    assert (request.params["type"], request.params["resolve"], request.params["q"]) == (
        "statuses", "false", '"acme support"')
    fake_server.clear()

    assert (poll('query = "\\"acme support\\""').new, poll('query = "\\"acme support\\""').duplicates) == (0, 0)
    assert fake_server.requests_to(wm.SEARCH)[0].params["min_id"] == since_id(found["id"])


def test_search_without_a_token_fails_before_any_request(fresh_store, write_config, fake_server):
    path = write_config('[[sources]]\nname = "m"\nplatform = "mastodon"\nquery = "acme"\n'
                        f'base_url = "{fake_server.url}"\n')

    result = poll_once(fresh_store, path)

    assert result.error_kind == "auth" and "needs an access_token" in result.error
    assert fake_server.requests == []


def test_a_used_up_rate_limit_stops_before_the_next_page(poll, instance, fresh_store):
    instance.remaining = 0
    for i in range(3):
        instance.add(f"acme {i}", minutes_ago=i + 1)

    result = poll('query = "#acme"\npage_size = 2')

    assert (result.error_kind, len(instance.listing_requests())) == ("rate_limited", 1), result.error
    assert "x-ratelimit-remaining: 0" in result.error
    assert fresh_store.sources.cursor("mastodon-acme") is None


def test_built_queries_are_hashtags_plus_searches_when_asked():
    brand = BrandQuery("Acme", ["acme", "acme mobile"], ["@acmesupport"])
    assert MastodonConnector(MastodonOptions()).build_query(brand) == "#acme\n#acmemobile\n#acmesupport"
    searching = MastodonConnector(MastodonOptions(access_token=Secret("t"), search=True))
    assert searching.build_query(brand).splitlines()[3:] == ["acme", "acmesupport"]


def test_cursor_is_the_newest_status_time_and_the_uris_seen_in_the_overlap_per_line(poll, instance, fresh_store):
    uri = instance.add("acme", minutes_ago=3)

    poll()

    at = (int(instance.statuses[0]["id"]) >> 16) / 1000
    assert json.loads(fresh_store.sources.cursor("mastodon-acme")) == {
        "#acme": {"newest": at, "seen": {uri: at}, "ids": "snowflake"}, "for": instance.server.url}


def test_a_server_with_ulid_ids_is_read_newest_first_down_to_the_overlap_without_a_snowflake_min_id(
        poll, instance, fresh_store, fake_server):
    first = instance.add("acme on gotosocial", minutes_ago=30, ulid=True)
    assert poll('query = "#acme"\npage_size = 2').new == 1
    fresh = [instance.add(f"acme new {i}", minutes_ago=10 - i, ulid=True) for i in range(3)]
    late = instance.add("acme federated late", minutes_ago=25, ulid=True, author=wm.BOB)  # inside the overlap
    fake_server.clear()

    second = poll('query = "#acme"\npage_size = 2')

    assert (second.status, second.new, second.duplicates) == ("ok", 4, 0), second.error
    assert set(rows(fresh_store)) == {first, late, *fresh}
    assert all("min_id" not in r.params for r in instance.listing_requests())  # "max_id" from rel="next"
    assert json.loads(fresh_store.sources.cursor("mastodon-acme"))["#acme"]["ids"] == "opaque"
    fake_server.clear()
    assert poll('query = "#acme"\npage_size = 2').new == 0
    assert len(instance.listing_requests()) == 2  # down to the page past the overlap


def test_a_cursor_of_an_older_version_on_a_ulid_server_is_read_from_the_top_when_min_id_finds_nothing(instance):
    seen = wm.status("acme read by the older version", minutes_ago=20, ulid=True)
    new = wm.status("acme written since", minutes_ago=2, ulid=True)
    instance.statuses += [seen, new]
    connector = MastodonConnector(MastodonOptions(base_url=instance.server.url, timeout=2))
    at = datetime.fromisoformat(seen["created_at"]).timestamp()

    batch = connector.fetch("#acme", json.dumps({"#acme": {"newest": at, "seen": {seen["uri"]: at}}}))

    assert {m.id for m in batch.mentions} == {new["uri"]}
    first, *rest = instance.listing_requests()
    assert "min_id" in first.params and rest and all("min_id" not in r.params for r in rest)
    assert json.loads(batch.next_cursor)["#acme"]["ids"] == "opaque"


def test_search_on_a_ulid_server_sends_no_snowflake_min_id(poll, instance, fresh_store, fake_server):
    old = wm.status("acme searched once", minutes_ago=40, ulid=True)
    instance.searchable.append(old)
    assert poll('query = "acme"').new == 1
    new = wm.status("acme searched twice", minutes_ago=1, ulid=True)
    instance.searchable.insert(0, new)
    fake_server.clear()

    result = poll('query = "acme"')

    assert (result.new, result.duplicates) == (1, 0), result.error
    assert new["uri"] in rows(fresh_store)
    assert all("min_id" not in r.params for r in fake_server.requests_to(wm.SEARCH))


def test_a_first_poll_reads_back_only_as_far_as_lookback(poll, instance, fresh_store, fake_server):
    recent = [instance.add(f"acme recent {i}", minutes_ago=10 + i) for i in range(3)]
    for i in range(4):  # older than the 1-day lookback, on the next pages
        instance.add(f"acme old {i}", minutes_ago=2 * 24 * 60 + i)
    fake_server.clear()

    result = poll('query = "#acme"\npage_size = 3\nlookback = "1d"')

    assert (result.status, result.new) == ("ok", 3), result.error
    assert set(rows(fresh_store)) == set(recent)
    assert len(fake_server.requests_to(wm.TIMELINE)) == 2  # the page that reached past lookback ends the walk


def test_an_error_quoting_the_token_past_its_cut_shows_none_of_it(instance, fresh_store, write_config, monkeypatch):
    from fakeserver import Reply

    token = "Zq9Tok3nS3cretValue"
    monkeypatch.setenv("MASTODON_TOKEN", token)
    # The token starts near where a long message is cut: masked first, then shortened.
    for pad in (180, 195, 199, 290, 296):
        instance.server.route("GET", wm.TIMELINE, Reply(403, {"error": "x" * pad + " " + token}))
        result = poll_once(fresh_store, write_config(wm.source_toml(instance.server.url, extra='query = "#acme"')))
        assert result.status == "error" and "Zq9T" not in result.error and len(result.error) <= 300


def test_another_instance_is_read_afresh_not_from_the_old_instance_newest_status(
        poll, instance, fresh_store, write_config):
    """The cursor belongs to its instance (`base_url`): after moving the source to another one, its
    timeline's statuses older than the old instance's newest must be read (min_id skipped them)."""
    instance.add("acme on the old instance", minutes_ago=5)
    assert poll().new == 1
    with FakeServer() as server:
        other = wm.Fake(server)
        older = other.add("acme support never called back", minutes_ago=60)

        moved = poll_once(fresh_store, write_config(other.source(), name="moved.toml"))

    assert (moved.status, moved.new) == ("ok", 1), moved.error
    assert older in rows(fresh_store)
