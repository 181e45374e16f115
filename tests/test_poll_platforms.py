"""End to end through the CLI: the example config's Facebook, Instagram, Mastodon, Bluesky,
Hacker News and RSS sections, pointed at fake servers with ``base_url``, poll and store;
a second poll stores nothing new."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import wire_bluesky as wb
import wire_facebook as wf
import wire_hackernews as wh
import wire_instagram as wi
import wire_mastodon as wm
import wire_rss as wr

EXAMPLE = Path(__file__).resolve().parents[1] / "config" / "example.toml"
PLATFORMS = ("facebook", "instagram", "mastodon", "bluesky", "hackernews", "rss")
# The account ids belong to the fakes' accounts; everything else is the example as written.
ACCOUNTS = {"facebook": {"page_id": wf.PAGE_ID}, "instagram": {"user_id": wi.USER_ID}, "bluesky": {"handle": wb.HANDLE}}


def test_every_example_platform_section_polls_through_the_cli_and_a_second_poll_stores_nothing(
        cli, fake_server, tmp_path, monkeypatch):
    example = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    sources = [s for s in example["sources"] if s["platform"] in PLATFORMS]
    assert {s["platform"] for s in sources} == set(PLATFORMS)
    for source in sources:
        source.update(enabled=True, base_url=fake_server.url, timeout=2.0, **ACCOUNTS.get(source["platform"], {}))
    example["sources"] = sources
    example["monitor"]["database"] = str(tmp_path / "monitor.db")
    config = tmp_path / "platforms.toml"
    config.write_text(_toml(example), encoding="utf-8")

    facebook, instagram, mastodon, bluesky, hackernews = (
        wf.Fake(fake_server), wi.Fake(fake_server), wm.Fake(fake_server), wb.Fake(fake_server), wh.Fake(fake_server))
    feeds = [wr.Fake(fake_server, urlsplit(s["url"]).path) for s in sources if s["platform"] == "rss"]
    for fake in (facebook, instagram, mastodon, bluesky, hackernews):
        for name, value in fake.env.items():
            monkeypatch.setenv(name, value)
    expected = {
        facebook.add("Acme support sorted my bill in minutes, thank you!", minutes_ago=20): ("facebook", "positive"),
        instagram.add("My Acme widget broke after a day, awful", minutes_ago=25): ("instagram", "negative"),
        mastodon.add("Acme broadband has been great all year", minutes_ago=15): ("mastodon", "positive"),
        bluesky.add("acme mobile dropped my calls again, terrible", minutes_ago=10): ("bluesky", "negative"),
        hackernews.add("Acme open-sources its widget firmware, great news", minutes_ago=30): ("hackernews", "positive"),
    }
    for feed in feeds:
        expected[feed.add("Acme recall announced after serious faults", minutes_ago=40)] = ("rss", "negative")

    first = cli("--config", config, "poll", "--format", "json")

    assert first.exit_code == 0, first.output
    results = {r["source"]: r for r in json.loads(first.output)}
    assert set(results) == {s["name"] for s in sources}
    assert all(r["status"] == "ok" and r["new"] == 1 for r in results.values()), results
    listed = json.loads(cli("--config", config, "mentions", "--format", "json", "--limit", "100").output)
    stored = {m["id"]: m for m in listed}
    assert set(stored) == set(expected)
    for mention_id, (platform, label) in expected.items():
        mention = stored[mention_id]
        assert (mention["platform"], mention["label"], mention["brand"]) == (platform, label, "Acme")
        assert mention["url"].startswith("https://") and mention["created_at"].endswith("Z")
    one = {platform: stored[i] for i, (platform, _) in expected.items()}  # one per platform (rss: either)
    assert one["facebook"]["author"] == "Jane Doe"
    assert (one["mastodon"]["author"], one["mastodon"]["followers"]) == ("alice@mastodon.example", 120)
    assert (one["bluesky"]["author"], one["bluesky"]["likes"], one["bluesky"]["reposts"]) == ("alice.bsky.social", 3, 3)
    assert (one["hackernews"]["author"], one["hackernews"]["likes"], one["hackernews"]["replies"]) == ("jdoe", 57, 12)
    assert (one["instagram"]["author"], one["instagram"]["likes"], one["instagram"]["replies"]) == ("jane.doe", 42, 3)
    assert one["rss"]["url"].startswith("https://news.example.com/")  # Google's redirect unwrapped

    second = cli("--config", config, "poll", "--format", "json")

    assert second.exit_code == 0, second.output
    assert [(r["source"], r["new"]) for r in json.loads(second.output)] == [(s["name"], 0) for s in sources]
    status = json.loads(cli("--config", config, "status", "--format", "json").output)["sources"]
    assert all(s["cursor"] and s["last_error"] is None for s in status), status


def _toml(data: dict[str, Any]) -> str:
    """TOML for the plain shapes of a config: tables, arrays of tables, strings, numbers, lists, secrets."""
    lines = [f"{k} = {_value(v)}" for k, v in data.items() if not isinstance(v, (dict, list))]
    for key, value in data.items():
        if isinstance(value, dict) and not _inline(value):
            lines += ["", f"[{key}]", *(f"{k} = {_value(v)}" for k, v in value.items())]
        elif isinstance(value, list) and value and all(isinstance(t, dict) for t in value):
            for table in value:
                lines += ["", f"[[{key}]]", *(f"{k} = {_value(v)}" for k, v in table.items())]
    return "\n".join(lines) + "\n"


def _inline(value: dict[str, Any]) -> bool:
    return set(value) <= {"env", "file"}


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")
