"""The X connector against a fake X API on 127.0.0.1: stored rows, cursors, requests made."""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta, timezone

import pytest

import wire_x as wx
from connectors.base import BrandQuery, Secret
from connectors.x import XConnector, XOptions
from fakeserver import HANG, FakeServer, Reply
from monitor import config as config_module
from monitor import ingest
from monitor.storage.mentions import MentionFilter
from monitor.timeutil import from_db

QUERY = '(acme OR "acme mobile" OR @acme OR @acmesupport) -"acme anvil" -from:acme -from:acmesupport -is:retweet'
JANE = wx.user("2244994945", "jane_doe", followers=600)
SAM = wx.user("783214", "sam", followers=7)


@pytest.fixture
def poll(fake_server, fresh_store, write_config, monkeypatch):
    """Poll an X source (brand Acme) pointed at the fake server; extra TOML options allowed."""
    monkeypatch.setenv("X_BEARER_TOKEN", "test-bearer")

    def run(options: str = "", *, name: str = "x-acme"):
        path = write_config(wx.source_toml(fake_server.url, name, options))
        (result,) = ingest.poll(fresh_store, config_module.load(path), [name])
        return result

    return run


def rows(store):
    return store.mentions.query(MentionFilter(limit=None))


def cursor(store, name="x-acme"):
    value = store.sources.cursor(name)
    return json.loads(value) if value else None


def test_pages_are_followed_and_mentions_stored_with_author_url_engagement(poll, fake_server, fresh_store):
    first = wx.post("I love acme, best support ever!", minutes_ago=5, likes=12, replies=1, retweets=3, quotes=1)
    second = wx.post("acme mobile outage again, awful", minutes_ago=8, author_id="783214")
    third = wx.post("acme is fine I guess", minutes_ago=30)
    fake_server.route("GET", wx.SEARCH, wx.by_token({
        None: wx.ok(wx.page([first, second], [JANE, SAM], next_token="tok2")),
        "tok2": wx.ok(wx.page([third], [JANE])),
    }))

    result = poll()

    assert (result.status, result.fetched, result.new, result.requests) == ("ok", 3, 3, 2)
    stored = {r["id"]: r for r in rows(fresh_store)}
    assert set(stored) == {first["id"], second["id"], third["id"]}
    top = stored[first["id"]]
    assert top["author"] == "jane_doe"
    assert top["url"] == f"https://x.com/jane_doe/status/{first['id']}"
    assert top["created_at"] == first["created_at"][:19] + "Z"
    assert (top["likes"], top["replies"], top["reposts"], top["followers"]) == (12, 1, 4, 600)
    assert (top["brand"], top["lang"], top["label"]) == ("Acme", "en", "positive")
    assert stored[second["id"]]["label"] == "negative"
    assert stored[second["id"]]["author"] == "sam"
    assert cursor(fresh_store) == {QUERY: first["id"]}

    page1, page2 = fake_server.requests
    assert page1.method == "GET" and page1.path == wx.SEARCH
    assert page1.headers["authorization"] == "Bearer test-bearer"
    assert page1.params == {
        "query": QUERY, "max_results": "100", "expansions": "author_id",
        "tweet.fields": "created_at,lang,public_metrics,conversation_id,author_id,note_tweet",
        "user.fields": "username,name,public_metrics",
    }
    assert page2.params == {**page1.params, "next_token": "tok2"}


def test_the_brands_own_posts_are_dropped_unless_exclude_own_posts_is_false(poll, fake_server, fresh_store):
    own = wx.post("We are aware of an outage affecting Acme customers. Sorry!", minutes_ago=5, author_id="1")
    rival = wx.post("Acme down again? Switch to Globex today", minutes_ago=6, author_id="2")  # not Acme's own
    support = wx.user("1", "AcmeSupport")
    globex = wx.user("2", "globex")
    fake_server.route("GET", wx.SEARCH, wx.ok(wx.page([own, rival], [support, globex])))

    dropped = poll()
    kept = poll("exclude_own_posts = false", name="x-acme-all")  # asked for them: stored

    assert (dropped.fetched, dropped.new, dropped.excluded) == (2, 1, 1)
    assert (kept.new, kept.excluded) == (1, 0)
    assert {r["author"] for r in rows(fresh_store)} == {"globex", "AcmeSupport"}


def test_a_poll_with_nothing_new_costs_one_request_and_keeps_the_cursor(poll, fake_server, fresh_store):
    newest = wx.post("acme rocks", minutes_ago=5)
    fake_server.route("GET", wx.SEARCH, wx.ok(wx.page([newest], [JANE])), wx.ok(wx.page([])))
    poll()
    fake_server.clear()

    result = poll()

    assert (result.status, result.fetched, result.new, result.requests) == ("ok", 0, 0, 1)
    (request,) = fake_server.requests
    assert request.params["since_id"] == newest["id"]
    assert "next_token" not in request.params
    assert cursor(fresh_store) == {QUERY: newest["id"]}
    assert len(rows(fresh_store)) == 1


def test_posts_seen_before_count_as_duplicates_and_the_cursor_moves_on(poll, fake_server, fresh_store):
    old = wx.post("acme old news", minutes_ago=20)
    new = wx.post("acme new news", minutes_ago=2)
    fake_server.route("GET", wx.SEARCH, wx.ok(wx.page([old], [JANE])), wx.ok(wx.page([new, old], [JANE])))
    poll()

    result = poll()

    assert (result.new, result.duplicates) == (1, 1)
    assert fake_server.requests[1].params["since_id"] == old["id"]
    assert cursor(fresh_store) == {QUERY: new["id"]}
    assert len(rows(fresh_store)) == 2


def test_a_short_page_with_a_next_token_is_followed(poll, fake_server, fresh_store):
    posts = [wx.post(f"acme {i}", minutes_ago=i + 1) for i in range(3)]
    fake_server.route("GET", wx.SEARCH, wx.by_token({
        None: wx.ok(wx.page(posts[:1], [JANE], next_token="a")),
        "a": wx.ok(wx.page(posts[1:2], [JANE], next_token="b")),
        "b": wx.ok(wx.page(posts[2:], [JANE])),
    }))

    result = poll()

    assert (result.new, result.requests) == (3, 3)
    assert [r.params.get("next_token") for r in fake_server.requests] == [None, "a", "b"]


def test_the_page_budget_bounds_a_poll(poll, fake_server, fresh_store, caplog):
    posts = [wx.post(f"acme {i}", minutes_ago=i + 1) for i in range(3)]
    fake_server.route("GET", wx.SEARCH, wx.by_token({
        None: wx.ok(wx.page(posts[:1], [JANE], next_token="a")),
        "a": wx.ok(wx.page(posts[1:2], [JANE], next_token="b")),
        "b": wx.ok(wx.page(posts[2:], [JANE])),
    }))

    with caplog.at_level(logging.WARNING, "connectors.x"):
        result = poll("max_pages = 2")

    assert (result.status, result.new, result.requests) == ("ok", 2, 2)
    assert cursor(fresh_store) == {QUERY: posts[0]["id"]}
    assert "stopped after 2 pages (max_pages)" in caplog.text


def test_a_long_brand_query_is_split_and_each_part_keeps_its_own_cursor(poll, fake_server, fresh_store):
    from connectors.x import build_queries

    brand = BrandQuery("Acme", ["acme", "acme mobile"], ["@acme", "@acmesupport"], ["acme anvil"])  # as configured
    queries = build_queries(brand, XOptions(Secret("t"), max_query_length=90))
    assert len(queries) == 2 and all(len(q) <= 90 for q in queries)
    a, b = wx.post("acme mobile yay", minutes_ago=3), wx.post("@acmesupport down", minutes_ago=4, sequence=1)

    def search(request):
        q = request.params["query"]
        if "since_id" in request.params:
            return wx.ok(wx.page([]))
        return wx.ok(wx.page([a] if q == queries[0] else [b], [JANE]))

    fake_server.route("GET", wx.SEARCH, search)
    result = poll("max_query_length = 90")

    assert [r.params["query"] for r in fake_server.requests] == queries
    assert result.new == 2
    assert cursor(fresh_store) == {queries[0]: a["id"], queries[1]: b["id"]}
    fake_server.clear()

    again = poll("max_query_length = 90")

    assert (again.new, again.requests) == (0, 2)
    assert [r.params["since_id"] for r in fake_server.requests] == [a["id"], b["id"]]


def test_429_with_reset_header_is_a_rate_limit_until_then(poll, fake_server, fresh_store):
    reset = int(time.time()) + 600
    fake_server.route("GET", wx.SEARCH, wx.too_many(reset_in=600))

    result = poll()

    assert (result.status, result.error_kind, len(fake_server.requests)) == ("error", "rate_limited", 1)
    assert abs(result.retry_at.timestamp() - reset) <= 1
    assert fresh_store.sources.cursor("x-acme") is None
    state = fresh_store.sources.get("x-acme")
    assert state["last_error_kind"] == "rate_limited"
    assert abs(from_db(state["next_poll_at"]).timestamp() - reset) <= 1  # status and run --once wait for it


def test_429_without_headers_backs_off_by_the_configured_time(poll, fake_server):
    fake_server.route("GET", wx.SEARCH, wx.too_many(reset_in=None))

    result = poll('rate_limit_backoff = "7m"')

    expected = datetime.now(timezone.utc) + timedelta(minutes=7)
    assert result.error_kind == "rate_limited"
    assert abs((result.retry_at - expected).total_seconds()) < 5


def test_429_with_a_garbled_reset_header_backs_off(poll, fake_server):
    fake_server.route("GET", wx.SEARCH, wx.problem(429, {"title": "Too Many Requests"}, {"x-rate-limit-reset": "soon"}))

    result = poll()

    expected = datetime.now(timezone.utc) + timedelta(minutes=15)
    assert result.error_kind == "rate_limited"
    assert abs((result.retry_at - expected).total_seconds()) < 5


def test_monthly_cap_says_so(poll, fake_server):
    fake_server.route("GET", wx.SEARCH, wx.problem(429, wx.USAGE_CAPPED))

    result = poll()

    assert result.error_kind == "rate_limited"
    assert "monthly post cap" in result.error


def test_a_failure_on_a_later_page_stores_nothing_and_keeps_the_cursor(poll, fake_server, fresh_store):
    seen = wx.post("acme seen", minutes_ago=30)
    fake_server.route("GET", wx.SEARCH, wx.ok(wx.page([seen], [JANE])))
    poll()
    before = fresh_store.sources.cursor("x-acme")
    fake_server.route("GET", wx.SEARCH, wx.by_token({
        None: wx.ok(wx.page([wx.post("acme fresh", minutes_ago=1)], [JANE], next_token="p2")),
        "p2": wx.too_many(),
    }))

    result = poll()

    assert (result.status, result.error_kind) == ("error", "rate_limited")
    assert fresh_store.sources.cursor("x-acme") == before
    assert len(rows(fresh_store)) == 1


@pytest.mark.parametrize("reply", [wx.too_many(), wx.problem(500, wx.SERVER_ERROR)], ids=["429", "500"])
def test_a_failed_poll_records_the_requests_it_made(poll, fake_server, fresh_store, reply):
    fake_server.route("GET", wx.SEARCH, wx.by_token({
        None: wx.ok(wx.page([wx.post("acme fresh", minutes_ago=1)], [JANE], next_token="p2")),
        "p2": reply,
    }))

    result = poll()

    assert (result.status, result.requests, len(fake_server.requests)) == ("error", 2, 2)
    (run,) = fresh_store.sources.runs("x-acme")
    assert (run["status"], run["requests"]) == ("error", 2)


def test_an_exhausted_rate_limit_stops_before_the_request_that_would_fail(poll, fake_server, fresh_store):
    fake_server.route("GET", wx.SEARCH, wx.ok(wx.page([wx.post("acme a")], [JANE], next_token="p2"), remaining=0))

    result = poll()

    assert (result.error_kind, len(fake_server.requests)) == ("rate_limited", 1)
    assert fresh_store.sources.cursor("x-acme") is None


@pytest.mark.parametrize("reply", [
    wx.problem(500, wx.SERVER_ERROR),
    Reply(503, body="<html>Over capacity</html>", content_type="text/html"),
], ids=["500", "503-html"])
def test_server_errors_are_transient(poll, fake_server, fresh_store, reply):
    fake_server.route("GET", wx.SEARCH, reply)

    result = poll()

    assert (result.status, result.error_kind) == ("error", "transient")
    assert "server error 5" in result.error
    assert fresh_store.sources.cursor("x-acme") is None


def test_a_hanging_response_times_out_quickly(poll, fake_server):
    fake_server.route("GET", wx.SEARCH, Reply(delay=HANG))
    started = time.monotonic()

    result = poll()

    assert time.monotonic() - started < 3
    assert (result.error_kind, result.error) == ("transient", "x: no answer within 0.5s (timeout)")


def test_malformed_json_is_a_bad_payload(poll, fake_server):
    fake_server.route("GET", wx.SEARCH, Reply(200, body='{"data": [ {"id": ', headers=wx.rate_headers(),
                                              content_type="application/json"))

    result = poll()

    assert result.error_kind == "bad_payload"
    assert "invalid JSON" in result.error


def test_missing_optional_fields_still_make_a_mention(poll, fake_server, fresh_store):
    bare = wx.post("acme without extras", author_id="1234", drop=["public_metrics", "lang", "created_at"])
    lost_author = [{"value": "1234", "detail": "Could not find user with id: [1234].", "title": "Not Found Error",
                    "resource_type": "user", "parameter": "author_id", "resource_id": "1234",
                    "type": "https://api.twitter.com/2/problems/resource-not-found"}]
    fake_server.route("GET", wx.SEARCH, wx.ok(wx.page([bare], errors=lost_author)))

    result = poll()

    assert result.new == 1
    (row,) = rows(fresh_store)
    assert row["author"] is None
    assert row["url"] == f"https://x.com/i/web/status/{bare['id']}"
    assert (row["likes"], row["replies"], row["reposts"], row["followers"], row["lang"]) == (None,) * 5
    created = datetime.strptime(row["created_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert abs((datetime.now(timezone.utc) - timedelta(minutes=10) - created).total_seconds()) < 5  # from the id


def test_a_post_longer_than_280_characters_is_stored_whole_from_its_note_tweet(poll, fake_server, fresh_store):
    long_text = "acme support kept me on hold for an hour, " * 10  # 420 characters: a note
    short_text = "acme is fine"
    long, short = wx.post(long_text, minutes_ago=2), wx.post(short_text, minutes_ago=3)
    fake_server.route("GET", wx.SEARCH, wx.by_token({None: wx.ok(wx.page([long, short], [JANE]))}))

    assert poll().new == 2

    stored = {r["id"]: r["text"] for r in rows(fresh_store)}
    assert stored == {long["id"]: long_text, short["id"]: short_text}
    assert "note_tweet" in fake_server.requests[0].params["tweet.fields"].split(",")


def test_401_names_the_source_and_where_the_token_comes_from(poll, fake_server):
    fake_server.route("GET", wx.SEARCH, wx.problem(401, wx.UNAUTHORIZED))

    result = poll()

    assert result.error_kind == "auth"
    assert '("x-acme"): bearer_token' in result.error and "env X_BEARER_TOKEN" in result.error
    assert "401" in result.error


def test_403_explains_the_plan_or_project_problem(poll, fake_server):
    fake_server.route("GET", wx.SEARCH, wx.problem(403, wx.CLIENT_FORBIDDEN))

    result = poll()

    assert result.error_kind == "auth"
    assert '("x-acme")' in result.error
    assert "403" in result.error and "Project" in result.error and "plan" in result.error


def test_400_is_a_query_problem(poll, fake_server):
    fake_server.route("GET", wx.SEARCH, wx.problem(400, {
        "title": "Invalid Request", "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request"}))

    assert poll().error_kind == "bad_query"


def test_a_missing_token_fails_before_any_request(poll, fake_server, monkeypatch):
    monkeypatch.delenv("X_BEARER_TOKEN")

    result = poll()

    assert result.error_kind == "auth"
    assert "environment variable X_BEARER_TOKEN is not set" in result.error
    assert fake_server.requests == []


def test_a_since_id_older_than_the_search_window_is_not_sent(poll, fake_server, fresh_store):
    stale = wx.post_id(datetime.now(timezone.utc) - timedelta(days=8))
    fresh_store.sources.record(_run_with_cursor(json.dumps({QUERY: stale})))
    fake_server.route("GET", wx.SEARCH, wx.ok(wx.page([])))

    result = poll()

    assert result.status == "ok"
    assert "since_id" not in fake_server.requests[0].params
    assert fresh_store.sources.cursor("x-acme") == "{}"


def test_an_explicit_query_is_sent_as_written_one_query_per_line(poll, fake_server, fresh_store):
    fake_server.route("GET", wx.SEARCH, wx.ok(wx.page([])))

    poll('query = """\nacme lang:de\n"acme corp" -is:reply\n"""')

    assert [r.params["query"] for r in fake_server.requests] == ["acme lang:de", '"acme corp" -is:reply']


def test_an_explicit_query_over_the_limit_is_refused_without_a_request(poll, fake_server):
    result = poll(f'query = "{"acme " * 120}"')

    assert result.error_kind == "bad_query"
    assert "over the 512 allowed" in result.error
    assert fake_server.requests == []


def test_built_query_options():
    brand = BrandQuery("Acme", ["acme", "coca-cola"], ["@acme"], ["wile e"])
    connector = XConnector(XOptions(Secret("t"), exclude_retweets=False, exclude_own_posts=False, lang="en"))
    assert connector.build_query(brand) == '(acme OR "coca-cola" OR @acme) -"wile e" lang:en'
    single = BrandQuery("Acme", ["acme"])
    assert XConnector(XOptions(Secret("t"))).build_query(single) == "acme -is:retweet"


def test_options_are_checked_by_the_config(write_config):
    from monitor.errors import ConfigError

    path = write_config('[[sources]]\nname = "x"\nplatform = "x"\nbearer_token = "t"\nlang = "English"\n')
    with pytest.raises(ConfigError, match='lang: "English" is not a language code'):
        config_module.load(path)


def _run_with_cursor(value: str):
    from monitor.storage.sources import PollRun

    now = datetime.now(timezone.utc)
    return PollRun("x-acme", "x", now, now, "ok", cursor_after=value)


def test_an_unreachable_host_is_transient(fresh_store, write_config, monkeypatch):
    monkeypatch.setenv("X_BEARER_TOKEN", "t")
    closed = FakeServer()  # bound, never served, then closed: nothing listens there
    closed.stop()
    path = write_config(wx.source_toml(closed.url))

    (result,) = ingest.poll(fresh_store, config_module.load(path))

    assert (result.error_kind, result.error) == ("transient", f"x: cannot reach {closed.url}: ConnectionError")
