"""The Hacker News connector against a fake Algolia search API."""

from __future__ import annotations

import json

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


def test_later_polls_filter_from_the_newest_second(poll, algolia, fresh_store, fake_server):
    algolia.hits.append(wh.story("acme", minutes_ago=5))
    poll()
    fake_server.clear()

    poll()

    newest = algolia.hits[0]["created_at_i"]
    assert algolia.listing_requests()[0].params["numericFilters"] == f"created_at_i>={newest}"
    assert json.loads(fresh_store.sources.cursor("hackernews-acme"))["acme"]["newest"] == newest


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
