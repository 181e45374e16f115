"""The RSS/Atom connector against fake feeds: conditional GET, Google Alerts links, news feeds."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime

import pytest

from fakeapi import poll_once
from fakeapi import stored as rows
import wire_rss as wr
from connectors.rss import unwrap
from fakeserver import Reply
from monitor.errors import ConfigError


@pytest.fixture
def feed(fake_server):
    return wr.Fake(fake_server)


@pytest.fixture
def poll(fake_server, fresh_store, write_config):
    def run(extra: str = "", url: str = wr.FEED_URL):
        path = write_config(wr.source_toml(fake_server.url, extra=extra, url=url))
        return poll_once(fresh_store, path)

    return run


def test_google_alerts_entries_become_mentions_of_the_target_articles(poll, feed, fresh_store):
    item = wr.alert("Acme widget recall announced", minutes_ago=30, target="https://news.example.com/2026/01/acme-recall",
                    snippet='The Acme widget was recalled after &quot;serious&quot; faults')
    feed.entries.append(item)

    result = poll()

    assert (result.status, result.new, result.requests) == ("ok", 1, 1), result.error
    row = rows(fresh_store)[item["id"]]
    assert row["url"] == "https://news.example.com/2026/01/acme-recall"
    assert row["text"] == 'Acme widget recall announced\n\nThe Acme widget was recalled after "serious" faults'
    assert row["author"] is None
    assert row["created_at"] == item["when"].strftime("%Y-%m-%dT%H:%M:%SZ")
    request = feed.listing_requests()[0]
    assert request.headers["user-agent"].startswith("sentiment-monitor/")
    assert "if-none-match" not in request.headers


def test_an_unchanged_feed_is_asked_conditionally_and_answers_304(poll, feed, fresh_store, fake_server):
    feed.add("acme news", minutes_ago=5)
    poll()
    saved = json.loads(fresh_store.sources.cursor("alerts-acme"))
    fake_server.clear()

    result = poll()

    assert (result.status, result.fetched, result.requests) == ("ok", 0, 1)
    (request,) = feed.listing_requests()
    assert request.headers["if-none-match"] == saved["etag"]
    assert request.headers["if-modified-since"] == saved["modified"]
    assert json.loads(fresh_store.sources.cursor("alerts-acme")) == saved


def test_a_server_ignoring_conditional_get_serves_nothing_twice(poll, fake_server, fresh_store):
    body = wr.atom([wr.alert("acme a", minutes_ago=3), wr.alert("acme b", minutes_ago=4)])
    fake_server.route("GET", wr.FEED_PATH, Reply(200, body=body, content_type="application/atom+xml"))
    assert poll().new == 2

    result = poll()

    assert (result.status, result.fetched, result.new) == ("ok", 0, 0)


def test_a_news_feed_keeps_only_entries_naming_the_brand(poll, fake_server, fresh_store):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    items = [
        {"title": "Acme Mobile raises prices again", "link": "https://news.example.com/a", "when": now,
         "description": "<p>Customers are <b>angry</b>.</p>", "author": "desk@news.example.com (Pat Writer)"},
        {"title": "Local bakery wins award", "link": "https://news.example.com/b", "when": now - timedelta(hours=1)},
        {"title": "The acme anvil returns", "link": "https://news.example.com/c", "when": now - timedelta(hours=2)},
    ]
    fake_server.route("GET", wr.NEWS_PATH, wr.conditional(wr.rss(items), "application/rss+xml", now))

    result = poll("only_matching = true", url=f"https://news.example.com{wr.NEWS_PATH}")

    assert (result.status, result.new) == ("ok", 1), result.error
    (row,) = rows(fresh_store).values()
    assert (row["id"], row["url"]) == ("https://news.example.com/a", "https://news.example.com/a")
    assert row["text"] == "Acme Mobile raises prices again\n\nCustomers are angry."
    assert row["author"] == "desk@news.example.com (Pat Writer)"


def test_only_matching_without_a_brand_or_query_is_refused_not_a_feed_read_whole(
        fake_server, fresh_store, write_config):
    # It kept every entry: the filter asked for had no terms to match.
    item = {"title": "Local bakery wins award", "link": "https://news.example.com/b", "when": datetime.now(timezone.utc)}
    fake_server.route("GET", wr.NEWS_PATH, Reply(200, body=wr.rss([item])))
    toml = wr.source_toml(fake_server.url, url=f"https://news.example.com{wr.NEWS_PATH}",
                          extra="only_matching = true")
    path = write_config(toml.replace('brand = "Acme"\n', ""))

    with pytest.raises(ConfigError) as refused:  # at load (init, run, a reload), not at each poll
        poll_once(fresh_store, path)
    assert str(refused.value) == (f'{path}: [[sources]] #1 ("alerts-acme"): rss sources need a brand or a query:'
                                  " there are no terms to search for")
    assert rows(fresh_store) == {} and fake_server.requests == []


def test_a_feed_that_is_not_well_formed_is_read_leniently(poll, fake_server, fresh_store, caplog):
    body = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title><item><title>acme & co fixed it'
            b"</title><link>https://e.example/1</link></item></channel></rss>")
    fake_server.route("GET", wr.FEED_PATH, Reply(200, body=body, content_type="application/rss+xml"))

    with caplog.at_level(logging.WARNING, "connectors.rss"):
        result = poll()

    assert (result.status, result.new) == ("ok", 1), result.error
    assert "not well-formed" in caplog.text


def test_a_page_that_is_no_feed_is_a_bad_payload_counting_its_request(poll, fake_server, fresh_store):
    fake_server.route("GET", wr.FEED_PATH, Reply(200, body=b"<html><body>moved</body></html>", content_type="text/html"))

    result = poll()

    assert (result.status, result.error_kind, result.requests) == ("error", "bad_payload", 1)
    assert "is not an RSS or Atom feed" in result.error
    assert fresh_store.sources.runs(result.source)[0]["requests"] == 1


@pytest.mark.parametrize("body, content_type", [
    (b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>Wi-Fi login</title></head>'
     b"<body><p>Sign in</p></body></html>", "application/xhtml+xml"),  # a captive portal's well-formed page
    (b"<html><head><title>Moved</title></head><body><p>see /news</p></body></html>", "text/xml"),  # a proxy's
    (b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://a.example/'
     b"</loc></url></urlset>", "application/xml"),  # a sitemap, not a feed
    (b"", "application/rss+xml"),  # an empty answer
], ids=["xhtml", "html-as-xml", "sitemap", "empty"])
def test_well_formed_xml_that_is_no_feed_is_a_bad_payload_not_an_empty_feed(poll, feed, fresh_store, fake_server,
                                                                             body, content_type):
    feed.add("acme news", minutes_ago=5)
    poll()
    before = fresh_store.sources.cursor("alerts-acme")
    fake_server.route("GET", wr.FEED_PATH, Reply(200, body=body, content_type=content_type))

    result = poll()

    assert (result.status, result.error_kind) == ("error", "bad_payload"), result.error
    assert "is not an RSS or Atom feed" in result.error
    assert fresh_store.sources.cursor("alerts-acme") == before


@pytest.mark.parametrize("body", [
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>',
    b'<?xml version="1.0"?><rss><channel><title>x</title></channel></rss>',
    b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>x</title></feed>',
], ids=["rss20", "rss-without-version", "atom"])
def test_a_feed_without_entries_is_an_empty_poll(poll, fake_server, body):
    fake_server.route("GET", wr.FEED_PATH, Reply(200, body=body, content_type="application/xml"))

    result = poll()

    assert (result.status, result.fetched) == ("ok", 0), result.error


def test_google_redirect_links_are_unwrapped_and_others_left_alone():
    assert unwrap("https://www.google.com/url?rct=j&sa=t&url=https://a.example/x%3Fy%3D1&ct=ga") == "https://a.example/x?y=1"
    assert unwrap("https://www.google.com/url?q=https://b.example/&sa=U") == "https://b.example/"
    assert unwrap("https://www.google.com/search?q=acme") == "https://www.google.com/search?q=acme"
    assert unwrap("https://news.example.com/url?url=https://evil.example") == "https://news.example.com/url?url=https://evil.example"


def test_the_seen_list_is_trimmed_to_max_seen_but_keeps_every_entry_still_in_the_feed(poll, fake_server, fresh_store):
    entries = [wr.alert(f"acme news {i}", minutes_ago=100 - i) for i in range(15)]

    def serve(items):
        fake_server.route("GET", wr.FEED_PATH, Reply(200, body=wr.atom(items), content_type="application/atom+xml"))

    serve(entries[:12])  # more entries than max_seen: all are kept while the feed shows them
    assert poll("max_seen = 10").new == 12
    assert len(json.loads(fresh_store.sources.cursor("alerts-acme"))["seen"]) == 12
    serve(entries[5:15])  # five dropped off the feed, three new
    assert poll("max_seen = 10").new == 3
    seen = json.loads(fresh_store.sources.cursor("alerts-acme"))["seen"]
    assert sorted(seen) == sorted(e["id"] for e in entries[5:15])  # trimmed to 10: what the feed still shows
    assert (poll("max_seen = 10").new, len(rows(fresh_store))) == (0, 15)  # nothing served twice


def test_a_changed_url_or_query_reads_the_feed_afresh(poll, fake_server, fresh_store):
    """The cursor's validators and seen entries belong to one feed and one query: another
    `url` must not send the old feed's If-Modified-Since (a server answers 304 until the new
    feed changes after it), and a widened query must not skip entries the old one left out."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    news = [{"title": "Acme Mobile raises prices again", "link": "https://news.example.com/a", "when": now},
            {"title": "Globex customers angry", "link": "https://news.example.com/g", "when": now}]
    fake_server.route("GET", wr.NEWS_PATH, wr.conditional(wr.rss(news), "application/rss+xml", now))
    older = now - timedelta(days=2)  # the second feed last changed before the first one did

    def tech(request):  # as web servers answer If-Modified-Since: not modified *since* that time
        since = request.headers.get("if-modified-since")
        if since and parsedate_to_datetime(since) >= older:
            return Reply(304)
        return Reply(200, body=wr.rss([{"title": "Acme app down", "link": "https://tech.example.com/t", "when": older}]),
                     content_type="application/rss+xml", headers={"Last-Modified": format_datetime(older, usegmt=True)})

    fake_server.route("GET", "/rss/tech.xml", tech)
    url = f"https://news.example.com{wr.NEWS_PATH}"
    assert poll("only_matching = true", url=url).new == 1

    widened = poll('only_matching = true\nquery = "acme OR globex"', url=url)
    assert (widened.status, widened.new, widened.duplicates) == ("ok", 1, 1), widened.error
    assert poll('only_matching = true\nquery = "acme OR globex"', url=url).fetched == 0  # then conditional again

    moved = poll("only_matching = true", url="https://news.example.com/rss/tech.xml")
    assert (moved.status, moved.new) == ("ok", 1), moved.error
    assert set(rows(fresh_store)) == {"https://news.example.com/a", "https://news.example.com/g",
                                      "https://tech.example.com/t"}
