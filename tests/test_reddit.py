"""The Reddit connector against a fake Reddit (token endpoint + OAuth API) on 127.0.0.1."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

import wire_reddit as wr
from connectors.base import BrandQuery, Secret
from connectors.matching import text_matcher as _matcher
from connectors.reddit import RedditConnector, RedditOptions
from fakeserver import HANG, FakeServer, Reply
from monitor import config as config_module
from monitor import ingest
from monitor.storage.mentions import MentionFilter

QUERY = '(acme OR "acme mobile" OR acmesupport) NOT "acme anvil"'
SEARCH_KEY = f"search r/all: {QUERY}"
UA = wr.USER_AGENT


@pytest.fixture
def poll(fake_server, fresh_store, write_config, monkeypatch):
    """Poll a Reddit source (brand Acme) pointed at the fake server; extra TOML options allowed."""
    monkeypatch.setenv("REDDIT_CLIENT_ID", wr.CLIENT_ID)
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", wr.CLIENT_SECRET)
    wr.serve_token(fake_server)

    def run(options: str = ""):
        path = write_config(wr.source_toml(fake_server.url, extra=options))
        (result,) = ingest.poll(fresh_store, config_module.load(path), ["reddit-acme"])
        return result

    return run


def rows(store):
    return store.mentions.query(MentionFilter(limit=None))


def cursor(store):
    value = store.sources.cursor("reddit-acme")
    return json.loads(value) if value else None


def gets(server):
    return [r for r in server.requests if r.method == "GET"]


def position(newest, *read):
    """A listing's cursor: the newest item's time and the fullnames read within the overlap."""
    return {"newest": newest["data"]["created_utc"],
            "seen": {c["data"]["name"]: c["data"]["created_utc"] for c in (newest, *read)}}


def test_search_pages_are_followed_and_posts_stored(poll, fake_server, fresh_store):
    newest = wr.post("Acme support is great", selftext="Fixed my router in minutes, thank you!", minutes_ago=3,
                     sub="gadgets", score=42, num_comments=7)
    middle = wr.post("acme mobile outage", selftext="Terrible, no signal all day", minutes_ago=6)
    oldest = wr.post("Anyone tried acme?", minutes_ago=9)
    fake_server.route("GET", wr.search_path(),
                      wr.authorized(wr.ok(wr.listing([newest, middle], after=middle["data"]["name"]))),
                      wr.authorized(wr.ok(wr.listing([oldest]))))

    result = poll()

    assert (result.status, result.new, result.requests) == ("ok", 3, 3)  # token + 2 pages
    stored = {r["id"]: r for r in rows(fresh_store)}
    top = stored[newest["data"]["name"]]
    assert top["text"] == "Acme support is great\n\nFixed my router in minutes, thank you!"
    assert top["author"] == "alice"
    assert top["url"] == f"https://www.reddit.com/r/gadgets/comments/{newest['data']['id']}/slug/"
    assert top["created_at"] == datetime.fromtimestamp(newest["data"]["created_utc"], timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    assert (top["likes"], top["replies"], top["reposts"], top["followers"]) == (42, 7, None, None)
    assert (top["brand"], top["label"]) == ("Acme", "positive")
    assert stored[middle["data"]["name"]]["label"] == "negative"
    assert cursor(fresh_store) == {SEARCH_KEY: position(newest, middle, oldest)}

    token, page1, page2 = fake_server.requests
    assert (token.method, token.path) == ("POST", wr.TOKEN_PATH)
    assert token.form == {"grant_type": "client_credentials"}
    assert token.headers["user-agent"].startswith(UA + " PRAW/")
    assert page1.headers["authorization"] == f"bearer {wr.ACCESS_TOKEN}"
    assert page1.params == {"q": QUERY, "sort": "new", "t": "all", "syntax": "lucene", "restrict_sr": "False",
                            "limit": "100", "raw_json": "1"}
    assert page2.params == {**page1.params, "after": middle["data"]["name"]}


def test_a_poll_with_nothing_new_reads_one_page_per_listing(poll, fake_server, fresh_store):
    seen = wr.post("acme rocks", minutes_ago=5)
    older = wr.post("acme older", minutes_ago=50)
    fake_server.route("GET", wr.search_path(), wr.authorized(wr.ok(wr.listing([seen, older], after="t3_more"))),
                      wr.authorized(wr.ok(wr.listing([]))))
    poll()
    before = fresh_store.sources.cursor("reddit-acme")
    fake_server.clear()

    result = poll()

    assert (result.status, result.fetched, result.new) == ("ok", 0, 0)
    assert len(gets(fake_server)) == 1  # stopped at the item seen last time; no paging
    assert fresh_store.sources.cursor("reddit-acme") == before


def test_items_seen_by_the_last_poll_are_not_fetched_again(poll, fake_server, fresh_store):
    seen = wr.post("acme first", minutes_ago=20)
    new = wr.post("acme second", minutes_ago=2)
    older = wr.post("acme older", minutes_ago=60)
    fake_server.route("GET", wr.search_path(), wr.authorized(wr.ok(wr.listing([seen, older]))),
                      wr.authorized(wr.ok(wr.listing([new, seen, older], after="t3_more"))))
    poll()

    result = poll()

    assert (result.fetched, result.new, result.duplicates) == (1, 1, 0)
    assert len(gets(fake_server)) == 2
    assert cursor(fresh_store) == {SEARCH_KEY: position(new)}  # the first is 18 minutes older: out of the overlap


def test_a_post_let_through_late_below_newer_ones_is_stored_on_the_next_poll_and_only_once(
    poll, fake_server, fresh_store
):
    # The spam filter or a moderator lets a post through minutes after it was written (or search
    # indexes it late): it appears below posts the last poll already read.
    known = wr.post("acme is great", minutes_ago=1)
    late = wr.post("acme lost my order", minutes_ago=4)
    old = wr.post("acme from last week", minutes_ago=60 * 24 * 7)
    fake_server.route("GET", wr.search_path(), wr.authorized(wr.ok(wr.listing([known, old]))),
                      wr.authorized(wr.ok(wr.listing([known, late, old]))),
                      wr.authorized(wr.ok(wr.listing([known, late, old]))))
    assert poll().new == 2

    second, third = poll(), poll()

    assert (second.fetched, second.new) == (1, 1) and (third.fetched, third.new) == (0, 0)
    assert len({r["id"] for r in rows(fresh_store)}) == len(rows(fresh_store)) == 3
    assert cursor(fresh_store) == {SEARCH_KEY: position(known, late)}


def test_a_subreddits_comments_are_read_back_only_two_minutes(poll, fake_server, fresh_store):
    # The comment listing holds every comment, matching or not: 15 minutes of a busy subreddit
    # re-read each poll would be pages of requests. Its overlap is 2 minutes.
    seen = wr.comment("acme works fine", minutes_ago=1, sub="gadgets")
    older = wr.comment("unrelated chatter", minutes_ago=10, sub="gadgets")
    fake_server.route("GET", wr.search_path("gadgets"), wr.authorized(wr.ok(wr.listing([]))))
    fake_server.route("GET", wr.comments_path("gadgets"), wr.authorized(wr.ok(wr.listing([seen]))),
                      wr.authorized(wr.ok(wr.listing([seen, older], after="t1_more"))))
    poll('subreddits = ["gadgets"]')
    fake_server.clear()

    again = poll('subreddits = ["gadgets"]')

    assert (again.new, len(gets(fake_server))) == (0, 2)  # search + one page of comments: no paging


def test_a_cursor_saved_before_the_overlap_is_read_as_its_newest_item(fake_server, monkeypatch):
    known = wr.post("acme is great", minutes_ago=1)
    late = wr.post("acme lost my order", minutes_ago=4)
    wr.serve_token(fake_server)
    fake_server.route("GET", wr.search_path(), wr.authorized(wr.ok(wr.listing([known, late]))))
    connector = RedditConnector(RedditOptions(
        client_id=Secret(wr.CLIENT_ID), client_secret=Secret(wr.CLIENT_SECRET), user_agent=UA,
        base_url=fake_server.url, auth_url=fake_server.url, timeout=2, comments=False))
    old_cursor = {f"search r/all: {QUERY}": {"name": known["data"]["name"], "created": known["data"]["created_utc"]}}

    batch = connector.fetch(QUERY, json.dumps(old_cursor))

    assert [m.id for m in batch.mentions] == [late["data"]["name"]]  # the known one is not served again
    assert json.loads(batch.next_cursor) == {SEARCH_KEY: position(known, late)}


def test_a_deleted_last_item_still_stops_by_time(poll, fake_server, fresh_store):
    seen = wr.post("acme gone soon", minutes_ago=20)
    older = wr.post("acme older still", minutes_ago=40)
    new = wr.post("acme new", minutes_ago=1)
    fake_server.route("GET", wr.search_path(), wr.authorized(wr.ok(wr.listing([seen]))),
                      wr.authorized(wr.ok(wr.listing([new, older], after="t3_more"))))
    poll()

    result = poll()

    assert (result.fetched, result.new) == (1, 1)
    assert len(gets(fake_server)) == 2


def test_a_short_page_with_an_after_token_is_followed(poll, fake_server, fresh_store):
    a, b = wr.post("acme a", minutes_ago=1), wr.post("acme b", minutes_ago=2)
    fake_server.route("GET", wr.search_path(), wr.authorized(wr.ok(wr.listing([a], after=a["data"]["name"]))),
                      wr.authorized(wr.ok(wr.listing([b]))))

    assert poll().new == 2
    assert [r.params.get("after") for r in gets(fake_server)] == [None, a["data"]["name"]]


def test_the_page_budget_bounds_a_listing(poll, fake_server, fresh_store):
    pages = [wr.post(f"acme {i}", minutes_ago=i + 1) for i in range(3)]
    fake_server.route("GET", wr.search_path(), *[
        wr.authorized(wr.ok(wr.listing([p], after=p["data"]["name"]))) for p in pages])

    result = poll("max_pages = 2")

    assert (result.new, len(gets(fake_server))) == (2, 2)
    assert cursor(fresh_store) == {SEARCH_KEY: position(pages[0], pages[1])}


def test_subreddits_are_searched_and_their_comments_filtered_by_the_query(poll, fake_server, fresh_store):
    post = wr.post("acme mobile review", minutes_ago=4, sub="gadgets")
    naming = wr.comment("I switched to Acme last week, love it", minutes_ago=2, sub="gadgets")
    noise = wr.comment("The acme anvil scene is my favourite", minutes_ago=3, sub="gadgets")
    other = wr.comment("unrelated chatter", minutes_ago=4, sub="gadgets")
    fake_server.route("GET", wr.search_path("gadgets+phones"), wr.authorized(wr.ok(wr.listing([post]))))
    fake_server.route("GET", wr.comments_path("gadgets"), wr.authorized(wr.ok(wr.listing([naming, noise, other]))))
    fake_server.route("GET", wr.comments_path("phones"), wr.authorized(wr.ok(wr.listing([]))))

    result = poll('subreddits = ["gadgets", "r/phones"]')

    assert (result.status, result.new, result.requests) == ("ok", 2, 4)
    stored = {r["id"]: r for r in rows(fresh_store)}
    assert set(stored) == {post["data"]["name"], naming["data"]["name"]}
    assert stored[naming["data"]["name"]]["text"] == "I switched to Acme last week, love it"
    assert stored[naming["data"]["name"]]["replies"] is None
    assert gets(fake_server)[0].params["restrict_sr"] == "True"
    assert cursor(fresh_store) == {
        f"search r/gadgets+phones: {QUERY}": position(post),
        f"comments r/gadgets: {QUERY}": position(naming, noise, other),  # read, kept or not
    }

    fake_server.clear()
    again = poll('subreddits = ["gadgets", "r/phones"]')

    assert (again.new, len(gets(fake_server))) == (0, 3)  # one request per listing



def test_a_widened_query_reads_a_subreddits_comments_afresh_keeping_those_the_old_one_left_out(
        poll, fake_server, fresh_store):
    """A changed query starts afresh (README): the comments listing too, else a comment the old
    query read and left out stays 'seen' and the new query, which names it, never keeps it."""
    rival = wr.comment("Globex billing is a mess", minutes_ago=1, sub="gadgets")
    fake_server.route("GET", wr.search_path("gadgets"), wr.authorized(wr.ok(wr.listing([]))))
    fake_server.route("GET", wr.comments_path("gadgets"), wr.authorized(wr.ok(wr.listing([rival]))))
    assert poll('subreddits = ["gadgets"]').new == 0  # not about Acme: read, left out

    widened = poll('subreddits = ["gadgets"]\nquery = "acme OR globex"')

    assert (widened.status, widened.new) == ("ok", 1), widened.error
    assert [r["id"] for r in rows(fresh_store)] == [rival["data"]["name"]]


def test_429_with_reset_header(poll, fake_server, fresh_store):
    fake_server.route("GET", wr.search_path(), wr.authorized(wr.error(429, wr.rate_headers(0, 1000, 120))))

    result = poll()

    assert (result.status, result.error_kind) == ("error", "rate_limited")
    expected = datetime.now(timezone.utc) + timedelta(seconds=120)
    assert abs((result.retry_at - expected).total_seconds()) < 5
    assert fresh_store.sources.cursor("reddit-acme") is None


@pytest.mark.parametrize("in_seconds", [False, True])
def test_429_with_retry_after_as_a_date_or_seconds_retries_then(poll, fake_server, fresh_store, in_seconds):
    # RFC 9110 allows Retry-After as an HTTP date; prawcore's TooManyRequests reads it as a number only.
    when = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(minutes=7)
    value = "420" if in_seconds else format_datetime(when, usegmt=True)
    fake_server.route("GET", wr.search_path(), wr.authorized(wr.error(429, headers={"Retry-After": value})))

    result = poll()

    assert (result.status, result.error_kind) == ("error", "rate_limited"), result.error
    assert result.error.startswith("reddit: rate limited (429), retry after ")
    assert abs((result.retry_at - when).total_seconds()) < 5
    assert fresh_store.sources.cursor("reddit-acme") is None


def test_429_without_headers_backs_off_by_the_configured_time(poll, fake_server):
    fake_server.route("GET", wr.search_path(), wr.authorized(wr.error(429, headers={})))

    result = poll('rate_limit_backoff = "3m"')

    expected = datetime.now(timezone.utc) + timedelta(minutes=3)
    assert result.error_kind == "rate_limited"
    assert abs((result.retry_at - expected).total_seconds()) < 5


def test_a_used_up_quota_stops_before_the_next_request_instead_of_sleeping(poll, fake_server, fresh_store):
    first = wr.post("acme a", minutes_ago=1)
    fake_server.route("GET", wr.search_path(),
                      wr.authorized(wr.ok(wr.listing([first], after="t3_next"), remaining=0, used=1000, reset=300)))
    started = time.monotonic()

    result = poll()

    assert time.monotonic() - started < 2
    assert (result.error_kind, len(gets(fake_server))) == ("rate_limited", 1)
    assert "x-ratelimit-remaining: 0" in result.error
    assert fresh_store.sources.cursor("reddit-acme") is None


def test_pacing_never_sleeps(poll, fake_server):
    # Stock prawcore sleeps 10 s before each request when this far ahead of budget.
    a, b = wr.post("acme a", minutes_ago=1), wr.post("acme b", minutes_ago=2)
    ahead = {"remaining": 100, "used": 900, "reset": 500}
    fake_server.route("GET", wr.search_path(), wr.authorized(wr.ok(wr.listing([a], after="t3_x"), **ahead)),
                      wr.authorized(wr.ok(wr.listing([b]), **ahead)))
    started = time.monotonic()

    assert poll().new == 2
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("reply", [
    wr.error(500),
    Reply(503, body="<html>upstream connect error</html>", content_type="text/html"),
], ids=["500", "503-html"])
def test_server_errors_are_transient_and_not_retried(poll, fake_server, fresh_store, reply):
    fake_server.route("GET", wr.search_path(), wr.authorized(reply))
    started = time.monotonic()

    result = poll()

    assert (result.status, result.error_kind) == ("error", "transient")
    assert len(gets(fake_server)) == 1 and time.monotonic() - started < 2
    assert fresh_store.sources.cursor("reddit-acme") is None


def test_a_failure_on_a_later_page_records_the_requests_made(poll, fake_server, fresh_store):
    first = wr.post("acme a", minutes_ago=1)
    fake_server.route("GET", wr.search_path(), wr.authorized(wr.ok(wr.listing([first], after="t3_next"))),
                      wr.authorized(wr.error(500)))

    result = poll()

    assert (result.status, result.error_kind, result.requests) == ("error", "transient", 3)  # token + 2 pages
    assert len(fake_server.requests) == 3
    assert fresh_store.sources.runs("reddit-acme")[0]["requests"] == 3


def test_a_hanging_response_times_out_once(poll, fake_server):
    fake_server.route("GET", wr.search_path(), Reply(delay=HANG))
    started = time.monotonic()

    result = poll()

    assert time.monotonic() - started < 3
    assert (result.error_kind, result.error) == ("transient", "reddit: no answer within 0.5s (timeout)")
    assert len(gets(fake_server)) == 1


def test_a_hanging_token_endpoint_times_out(poll, fake_server):
    fake_server.route("POST", wr.TOKEN_PATH, Reply(delay=HANG))

    assert poll().error_kind == "transient"


def test_malformed_json_is_a_bad_payload(poll, fake_server):
    fake_server.route("GET", wr.search_path(), wr.authorized(
        Reply(200, body='{"kind": "Listing", "data": {', headers=wr.rate_headers(), content_type="application/json")))

    assert poll().error_kind == "bad_payload"


def test_malformed_token_response_is_a_bad_payload(poll, fake_server):
    fake_server.route("POST", wr.TOKEN_PATH, Reply(200, body="<html>oops", content_type="text/html"))

    assert poll().error_kind == "bad_payload"


def test_missing_optional_fields_still_make_a_mention(poll, fake_server, fresh_store):
    bare = wr.post("acme bare", author="[deleted]", drop=["selftext", "score", "num_comments", "permalink", "name"])
    fake_server.route("GET", wr.search_path(), wr.authorized(wr.ok(wr.listing([bare]))))

    assert poll().new == 1
    (row,) = rows(fresh_store)
    assert row["id"] == f"t3_{bare['data']['id']}"
    assert (row["text"], row["author"], row["url"], row["likes"], row["replies"]) == ("acme bare", None, None, None, None)


def test_rejected_credentials_name_the_source_and_the_secrets(poll, fake_server, monkeypatch):
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", "wrong")

    result = poll()

    assert result.error_kind == "auth"
    assert '("reddit-acme")' in result.error
    assert "env REDDIT_CLIENT_ID" in result.error and "env REDDIT_CLIENT_SECRET" in result.error
    assert gets(fake_server) == []


def test_an_oauth_error_from_the_token_endpoint_is_an_auth_error(poll, fake_server):
    fake_server.route("POST", wr.TOKEN_PATH, Reply(200, json={"error": "invalid_grant"}))

    result = poll()

    assert result.error_kind == "auth" and "invalid_grant" in result.error


def test_a_rejected_token_is_an_auth_error(poll, fake_server):
    fake_server.route("GET", wr.search_path(), wr.error(
        401, {"www-authenticate": 'Bearer realm="reddit", error="invalid_token"'}))

    result = poll()

    assert result.error_kind == "auth" and "rejected the access token" in result.error
    # a fresh token is tried once, not more: a second 401 is a real auth problem
    assert [r.path for r in fake_server.requests] == [wr.TOKEN_PATH, wr.search_path()] * 2
    assert result.requests == 4


def test_a_token_reddit_rejects_before_its_expiry_is_renewed_and_the_request_made_again(
        fake_server, fresh_store, write_config, monkeypatch):
    monkeypatch.setenv("REDDIT_CLIENT_ID", wr.CLIENT_ID)
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", wr.CLIENT_SECRET)
    tokens = wr.serve_token(fake_server)
    first, second = wr.post("acme thing", minutes_ago=3), wr.post("acme other thing", minutes_ago=1)
    fake_server.route("GET", wr.search_path(), wr.authorized(wr.ok(wr.listing([first])), tokens),
                      wr.authorized(wr.ok(wr.listing([second, first])), tokens))
    config = config_module.load(write_config(wr.source_toml(fake_server.url)))
    pipeline = ingest.Pipeline(config)  # a daemon keeps its connector, and so its token
    assert ingest.poll(fresh_store, config, ["reddit-acme"], pipeline)[0].new == 1
    tokens.revoke()  # Reddit invalidated the token before praw thought it expired
    fake_server.clear()

    (result,) = ingest.poll(fresh_store, config, ["reddit-acme"], pipeline)

    assert (result.status, result.new, result.requests) == ("ok", 1, 3), result.error
    assert [r.path for r in fake_server.requests] == [wr.search_path(), wr.TOKEN_PATH, wr.search_path()]
    assert fake_server.requests[-1].headers["authorization"] == f"bearer {tokens.issued[-1]}" != f"bearer {wr.ACCESS_TOKEN}"


def test_a_private_subreddit_is_an_auth_error(poll, fake_server):
    fake_server.route("GET", wr.search_path("secret"), wr.authorized(wr.error(403)))

    result = poll('subreddits = ["secret"]\ncomments = false')

    assert result.error_kind == "auth" and "private" in result.error


def test_an_unknown_subreddit_is_a_query_problem(poll, fake_server):
    fake_server.route("GET", wr.search_path("nosuchsub"), wr.authorized(Reply(
        302, headers={**wr.rate_headers(), "location": "https://www.reddit.com/subreddits/search?q=nosuchsub"})))

    assert poll('subreddits = ["nosuchsub"]').error_kind == "bad_query"


def test_built_query():
    brand = BrandQuery("Acme", ["acme", "acme mobile"], ["@acme", "@acmesupport"], ["acme anvil", "wile"])
    connector = RedditConnector(RedditOptions(Secret("i"), Secret("s"), UA))
    assert connector.build_query(brand) == '(acme OR "acme mobile" OR acmesupport) NOT "acme anvil" NOT wile'


def test_comment_filter_follows_the_query():
    keep = _matcher('(acme OR "acme mobile") NOT "acme anvil" -wile subreddit:gadgets')
    assert keep("Got the ACME Mobile plan")
    assert keep("acme!")
    assert not keep("acmeville is a town")
    assert not keep("the acme anvil falls")
    assert not keep("acme and wile")
    assert not keep("gadgets only")


def test_user_agent_is_required(write_config):
    from monitor.errors import ConfigError

    path = write_config('[[sources]]\nname = "r"\nplatform = "reddit"\nclient_id = "i"\nclient_secret = "s"\n')
    with pytest.raises(ConfigError, match='missing required key "user_agent"'):
        config_module.load(path)


def test_an_unreachable_host_is_transient(fresh_store, write_config, monkeypatch):
    monkeypatch.setenv("REDDIT_CLIENT_ID", wr.CLIENT_ID)
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", wr.CLIENT_SECRET)
    closed = FakeServer()  # bound, never served, then closed: nothing listens there
    closed.stop()
    path = write_config(wr.source_toml(closed.url))

    (result,) = ingest.poll(fresh_store, config_module.load(path))

    assert (result.error_kind, result.error) == ("transient", f"reddit: cannot reach {closed.url}: ConnectionError")


def test_a_daemon_keeps_its_access_token_so_an_idle_poll_is_one_request(fake_server, fresh_store, write_config, monkeypatch):
    monkeypatch.setenv("REDDIT_CLIENT_ID", wr.CLIENT_ID)
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", wr.CLIENT_SECRET)
    wr.serve_token(fake_server)
    fake_server.route("GET", wr.search_path(), wr.authorized(wr.ok(wr.listing([wr.post("acme is down", minutes_ago=3)]))),
                      wr.authorized(wr.ok(wr.listing([]))))
    config = config_module.load(write_config(wr.source_toml(fake_server.url)))
    pipeline = ingest.Pipeline(config)  # what `run` keeps between polls

    first, second = (ingest.poll(fresh_store, config, ["reddit-acme"], pipeline)[0] for _ in range(2))

    assert (first.new, first.requests, second.new, second.requests) == (1, 2, 0, 1)  # token once, then one search
    assert len(fake_server.requests_to(wr.TOKEN_PATH)) == 1
    # The same source with other options gets a new connector (and a new token).
    kept = pipeline.connector(config.sources[0])
    changed = config_module.load(write_config(wr.source_toml(fake_server.url, extra='subreddits = ["acme"]')))
    assert pipeline.connector(changed.sources[0]) is not kept
