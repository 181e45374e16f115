"""The Hacker News connector against a fake Algolia search API."""

from __future__ import annotations

import json
import logging

import pytest

from fakeapi import poll_once
from fakeapi import stored as rows
import wire_hackernews as wh
from connectors.base import BrandQuery
from connectors.hackernews import HackerNewsConnector, HackerNewsOptions
from fakeserver import Reply


@pytest.fixture
def algolia(fake_server):
    return wh.Fake(fake_server)


@pytest.fixture
def poll(algolia, fresh_store, write_config):
    def run(extra: str = 'query = "acme"'):
        path = write_config(wh.source_toml(algolia.server.url, extra=extra))
        return poll_once(fresh_store, path)

    return run


def test_stories_and_comments_map_to_mentions(poll, algolia, fresh_store):
    story = wh.story("Acme widget teardown", minutes_ago=30, points=57, comments=12)
    ask = wh.story("Ask HN: Is Acme support any good?", minutes_ago=25, text="<p>Mine was <i>awful</i>.</p>")
    comment = wh.comment("The Acme app keeps crashing<p>Anyone else? Terrible.", minutes_ago=20)
    algolia.hits += [story, ask, comment]

    result = poll()

    assert (result.status, result.new) == ("ok", 3), result.error
    stored = rows(fresh_store)
    first = stored[story["objectID"]]
    assert (first["text"], first["author"], first["likes"], first["replies"]) == ("Acme widget teardown", "jdoe", 57, 12)
    assert first["url"] == f"https://news.ycombinator.com/item?id={story['objectID']}"
    assert first["created_at"] == story["created_at"]
    assert stored[ask["objectID"]]["text"] == "Ask HN: Is Acme support any good?\n\nMine was awful."
    reply = stored[comment["objectID"]]
    assert (reply["text"], reply["author"], reply["likes"], reply["replies"], reply["label"]) == (
        "The Acme app keeps crashing\nAnyone else? Terrible.", "tcas", None, None, "negative")
    request = algolia.listing_requests()[0]
    assert (request.params["tags"], request.params["hitsPerPage"], request.params["page"]) == ("(story,comment)", "100", "0")
    assert request.params["numericFilters"].startswith("created_at_i>=")


def test_later_polls_filter_from_the_overlap_before_the_newest_second(poll, algolia, fresh_store, fake_server):
    algolia.hits.append(wh.story("acme", minutes_ago=5))
    poll()
    fake_server.clear()

    assert poll().duplicates == 0

    newest = algolia.hits[0]["created_at_i"]
    assert algolia.listing_requests()[0].params["numericFilters"] == f"created_at_i>={newest - 15 * 60}"
    assert json.loads(fresh_store.sources.cursor("hackernews-acme"))["acme"]["newest"] == newest


def test_an_item_indexed_after_a_newer_one_was_read_is_stored_on_the_next_poll_and_only_once(
        poll, algolia, fresh_store):
    newer = algolia.add("acme launches thing", minutes_ago=1)
    assert poll().new == 1
    # a comment written 2 minutes ago that Algolia indexes only after that poll
    late = wh.comment("acme comment indexed late", minutes_ago=2)
    algolia.hits.append(late)

    second = poll()

    assert (second.status, second.new, second.duplicates) == ("ok", 1, 0), second.error
    assert set(rows(fresh_store)) == {newer, late["objectID"]}
    third = poll()
    assert (third.new, third.duplicates) == (0, 0)


def test_a_cursor_saved_before_the_overlap_is_read_as_before(algolia):
    seen = algolia.add("acme seen before", minutes_ago=3)
    newest = algolia.hits[0]["created_at_i"]
    old_cursor = json.dumps({"acme": {"newest": newest, "seen": {seen: newest}}})
    late = wh.comment("acme indexed late", minutes_ago=4)
    algolia.hits.append(late)

    batch = HackerNewsConnector(HackerNewsOptions(base_url=algolia.server.url, timeout=2)).fetch("acme", old_cursor)

    assert [m.id for m in batch.mentions] == [late["objectID"]]
    assert set(json.loads(batch.next_cursor)["acme"]["seen"]) == {seen, late["objectID"]}


def test_each_query_line_is_its_own_search(poll, algolia):
    algolia.hits += [wh.story("acme rocks", minutes_ago=3), wh.story("globex rocks", minutes_ago=4)]

    result = poll('query = """\nacme\nglobex\n"""')

    assert result.new == 2
    assert [r.params["query"] for r in algolia.listing_requests()] == ["acme", "globex"]


def test_an_algolia_error_is_a_query_problem(poll, algolia):
    algolia.fail(Reply(400, json={"message": "Invalid syntax for numeric condition", "status": 400}))

    result = poll()

    assert result.error_kind == "bad_query" and "Invalid syntax for numeric condition" in result.error


def test_built_queries_skip_terms_a_single_word_already_finds():
    brand = BrandQuery("Acme", ["acme", "acme mobile"], ["@acme", "@acmesupport"])
    assert HackerNewsConnector(HackerNewsOptions()).build_query(brand) == "acme\nacmesupport"


def test_a_query_over_algolias_hit_cap_stops_at_it_and_the_next_poll_serves_only_newer_hits(
    poll, algolia, fresh_store, fake_server, caplog
):
    # 1,200 matching hits, 6 s apart, newest first: Algolia serves only the newest 1,000
    algolia.hits += [wh.story(f"acme report {i}", minutes_ago=2 + i / 10) for i in range(1200)]
    newest_first = sorted(algolia.hits, key=lambda h: h["created_at_i"], reverse=True)
    served, beyond = newest_first[:1000], newest_first[1000:]
    source = 'query = "acme"\npage_size = 300\nmax_pages = 10'

    with caplog.at_level(logging.WARNING, logger="connectors.hackernews"):
        result = poll(source)

    assert (result.status, result.new, result.requests) == ("ok", 1000, 4), result.error
    # pages 0-3 (the last one holds hits 900-999); no request past the cap
    assert [r.params["page"] for r in algolia.listing_requests()] == ["0", "1", "2", "3"]
    assert set(rows(fresh_store)) == {h["objectID"] for h in served}
    # what the connector promises about the rest: skipped, and said so
    assert "Algolia serves 1,000 hits per query; older ones are skipped" in caplog.text
    since = served[0]["created_at_i"] - 15 * 60  # the overlap re-read by the next poll
    assert json.loads(fresh_store.sources.cursor("hackernews-acme"))["acme"] == {
        "newest": served[0]["created_at_i"],
        "seen": {h["objectID"]: h["created_at_i"] for h in served if h["created_at_i"] >= since}}

    fake_server.clear()
    fresh = [wh.story("acme fresh news", minutes_ago=1), wh.story("acme fresher news", minutes_ago=0.5)]
    algolia.hits += fresh
    again = poll(source)

    # from the overlap on: every hit published since, none served before, none of those skipped
    assert (again.status, again.new, again.duplicates, again.requests) == ("ok", 2, 0, 1), again.error
    assert algolia.listing_requests()[0].params["numericFilters"] == f"created_at_i>={since}"
    assert set(rows(fresh_store)) == {h["objectID"] for h in served + fresh}
    assert not {h["objectID"] for h in beyond} & set(rows(fresh_store))
