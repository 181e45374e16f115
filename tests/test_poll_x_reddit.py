"""End to end through the CLI: X and Reddit sources configured as users do, against a fake server."""

from __future__ import annotations

import json

import wire_reddit as wr
import wire_x as wx
from fakeserver import Request

X_QUERY = '(acme OR "acme mobile" OR @acme OR @acmesupport) -"acme anvil" -from:acme -from:acmesupport -is:retweet'


def test_poll_stores_mentions_then_polls_cheaply_and_reports_errors_per_source(
    cli, write_config, fake_server, monkeypatch
):
    monkeypatch.setenv("X_BEARER_TOKEN", "test-bearer")
    monkeypatch.setenv("REDDIT_CLIENT_ID", wr.CLIENT_ID)
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", wr.CLIENT_SECRET)
    config = write_config(wx.source_toml(fake_server.url) + wr.source_toml(fake_server.url))
    tweets = [wx.post("Love the new acme app, great job", minutes_ago=5),
              wx.post("acme mobile billing is a nightmare, awful", minutes_ago=7, author_id="783214")]
    older = wx.post("acme ok", minutes_ago=60)
    users = [wx.user("2244994945", "jane_doe", 600), wx.user("783214", "sam", 7)]

    def x_search(request: Request):
        if "since_id" in request.params:
            return wx.ok(wx.page([]))
        return wx.by_token({None: wx.ok(wx.page(tweets, users, next_token="n2")),
                            "n2": wx.ok(wx.page([older], users))})(request)

    posts = [wr.post("Acme support fixed everything, thanks!", minutes_ago=4, score=25, num_comments=3),
             wr.post("Is acme down for anyone else?", minutes_ago=9)]
    wr.serve_token(fake_server)
    fake_server.route("GET", wx.SEARCH, x_search)
    fake_server.route("GET", wr.search_path(), wr.authorized(wr.ok(wr.listing(posts))))

    first = cli("--config", config, "poll", "--format", "json")

    assert first.exit_code == 0, first.output
    by_source = {r["source"]: r for r in json.loads(first.output)}
    assert (by_source["x-acme"]["new"], by_source["x-acme"]["requests"]) == (3, 2)
    assert (by_source["reddit-acme"]["new"], by_source["reddit-acme"]["requests"]) == (2, 2)  # token + 1 page
    listed = json.loads(cli("--config", config, "mentions", "--format", "json", "--limit", "100").output)
    stored = {m["id"]: m for m in listed}
    tweet = stored[tweets[0]["id"]]
    assert (tweet["platform"], tweet["author"], tweet["label"]) == ("x", "jane_doe", "positive")
    assert tweet["url"] == f"https://x.com/jane_doe/status/{tweets[0]['id']}"
    assert tweet["created_at"] == tweets[0]["created_at"][:19] + "Z"
    assert (tweet["likes"], tweet["replies"], tweet["reposts"], tweet["followers"]) == (12, 1, 4, 600)
    assert stored[tweets[1]["id"]]["label"] == "negative"
    post = stored[posts[0]["data"]["name"]]
    assert (post["platform"], post["author"], post["likes"], post["replies"]) == ("reddit", "alice", 25, 3)
    assert post["url"].startswith("https://www.reddit.com/r/all/comments/")
    assert post["label"] == "positive" and post["created_at"].endswith("Z")
    status = {s["source"]: s for s in json.loads(cli("--config", config, "status", "--format", "json").output)["sources"]}
    x_cursor = status["x-acme"]["cursor"]
    assert json.loads(x_cursor) == {X_QUERY: tweets[0]["id"]}

    fake_server.clear()
    second = cli("--config", config, "poll", "--format", "json")

    assert second.exit_code == 0, second.output
    assert [r["new"] for r in json.loads(second.output)] == [0, 0]
    assert len(fake_server.requests_to(wx.SEARCH)) == 1  # one request per query
    assert len(fake_server.requests_to(wr.search_path())) == 1  # one per listing (plus the access token)

    fake_server.route("GET", wx.SEARCH, wx.problem(500, wx.SERVER_ERROR))
    third = cli("--config", config, "poll")

    assert third.exit_code == 1
    assert "1 of 2 source(s) failed:\n  x-acme: " in third.output
    (failure,) = [line for line in third.output.splitlines() if line.startswith("  x-acme: ")]
    assert "server error 500" in failure  # in full, where the table cuts it short
    table = cli("--config", config, "status").output
    assert "x-acme: failing: 1 failed poll(s) in a row (transient)\n  last error: transient: " in table
    status = {s["source"]: s for s in json.loads(cli("--config", config, "status", "--format", "json").output)["sources"]}
    assert status["x-acme"]["last_error_kind"] == "transient"
    assert "server error 500" in status["x-acme"]["last_error"]
    assert status["x-acme"]["cursor"] == x_cursor
    assert status["reddit-acme"]["last_error"] is None


def test_a_server_that_echoes_the_token_never_gets_it_printed_or_stored(cli, write_config, fake_server, monkeypatch):
    token = "zzTOPSECRETzz9"
    monkeypatch.setenv("XTOK", token)
    config = write_config(wx.source_toml(fake_server.url).replace("X_BEARER_TOKEN", "XTOK"))

    def echo(status: int):
        return lambda request: wx.problem(status, {"title": "Unauthorized", "type": "about:blank", "status": status,
                                                   "detail": f"bad token {request.headers['authorization']}"})

    for status, kind in ((401, "auth"), (400, "bad_query")):
        fake_server.route("GET", wx.SEARCH, echo(status))
        polled = cli("--config", config, "poll", "--source", "x-acme")
        as_json = cli("--config", config, "poll", "--source", "x-acme", "--format", "json")
        status_json = cli("--config", config, "status", "--format", "json")

        assert polled.exit_code == as_json.exit_code == 1
        [result] = json.loads(as_json.stdout)
        assert result["error_kind"] == kind
        assert f"({status} bad token Bearer ***)" in result["error"]
        [stored] = json.loads(status_json.output)["sources"]
        assert stored["last_error"] == result["error"]
        for text in (polled.output, as_json.output, status_json.output):
            assert token not in text
        if status == 401:
            assert "X rejected the bearer token from env XTOK" in result["error"]  # our own words kept whole


def test_an_empty_secret_file_or_variable_is_a_missing_credential(cli, write_config, fake_server, monkeypatch, tmp_path):
    (tmp_path / "zero.txt").write_bytes(b"")
    (tmp_path / "blank.txt").write_text(" \n\t\n")
    monkeypatch.setenv("EMPTYV", "")
    fake_server.route("GET", wx.SEARCH, wx.ok(wx.page([])))
    config = write_config(
        wx.source_toml(fake_server.url, "zero").replace('{ env = "X_BEARER_TOKEN" }', '{ file = "zero.txt" }')
        + wx.source_toml(fake_server.url, "blank").replace('{ env = "X_BEARER_TOKEN" }', '{ file = "blank.txt" }')
        + wx.source_toml(fake_server.url, "emptyv").replace("X_BEARER_TOKEN", "EMPTYV")
    )

    init = cli("--config", config, "init")
    polled = cli("--config", config, "poll", "--format", "json")

    assert init.exit_code == 1
    assert init.stderr == (
        "Error: 3 problem(s) with credentials in use:\n"
        f'  {config}: [[sources]] #1 ("zero"): bearer_token: secret file zero.txt is empty\n'
        f'  {config}: [[sources]] #2 ("blank"): bearer_token: secret file blank.txt is empty\n'
        f'  {config}: [[sources]] #3 ("emptyv"): bearer_token: environment variable EMPTYV is empty\n'
    )
    assert polled.exit_code == 1
    assert [(r["status"], r["error_kind"]) for r in json.loads(polled.stdout)] == [("error", "auth")] * 3
    assert fake_server.requests == []  # no empty token was sent
