"""Connectors are entry points: the built-in ones, and a third-party one installed like any package."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

from monitor import plugins

PLUGIN = '''
"""A minimal third-party connector: one greeting per poll until the cursor says it was served."""

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import ClassVar

from connectors.base import Batch, BrandQuery, Mention


@dataclass(frozen=True)
class MyOptions:
    greeting: str = "Hello"  # a [[sources]] key, with its default


class MyConnector:
    platform: ClassVar[str] = "myplatform"
    Options: ClassVar[type] = MyOptions

    def __init__(self, options: MyOptions) -> None:
        self.options = options

    def build_query(self, brand: BrandQuery) -> str:
        return brand.name

    def fetch(self, query: str, cursor: str | None) -> Batch:
        if cursor == "served":
            return Batch([], None, requests=1)
        mention = Mention(platform="myplatform", id="greeting-1", text=f"{self.options.greeting}, {query} is great!",
                          author="plugin", url="https://my.example/1",
                          created_at=datetime.now(timezone.utc) - timedelta(minutes=5))
        return Batch([mention], "served", requests=1)
'''
BUILT_IN = {"jsonl", "demo", "x", "reddit", "facebook", "instagram", "mastodon", "bluesky", "hackernews", "rss"}


@pytest.fixture
def installed_plugin(install_plugin):
    """The package above installed as pip would leave it: its module and a dist-info with the entry point."""
    install_plugin("mypkg", {"mypkg": PLUGIN}, {"sentiment_monitor.connectors": {"myplatform": "mypkg:MyConnector"}})
    yield "myplatform"
    sys.modules.pop("mypkg", None)


def test_built_in_connectors_are_registered_as_entry_points():
    assert BUILT_IN <= set(plugins.names(plugins.CONNECTORS))
    for name in BUILT_IN:
        assert plugins.connector_class(name).platform == name


def test_an_installed_connector_plugin_polls_through_the_cli(installed_plugin, cli, write_config):
    config = write_config(textwrap.dedent('''
        [[sources]]
        name = "mine"
        platform = "myplatform"
        brand = "Acme"
        greeting = "Good news"
    '''))

    first = cli("--config", config, "poll", "--format", "json")

    assert first.exit_code == 0, first.output
    (result,) = json.loads(first.output)
    assert (result["platform"], result["status"], result["new"], result["requests"]) == ("myplatform", "ok", 1, 1)
    (mention,) = json.loads(cli("--config", config, "mentions", "--format", "json").output)
    assert (mention["platform"], mention["text"], mention["brand"], mention["label"]) == (
        "myplatform", "Good news, Acme is great!", "Acme", "positive")
    second = cli("--config", config, "poll", "--format", "json")
    assert json.loads(second.output)[0]["new"] == 0
    assert installed_plugin in plugins.names(plugins.CONNECTORS)


def test_a_plugin_options_are_checked_like_built_in_ones(installed_plugin, cli, write_config):
    config = write_config('[[sources]]\nname = "mine"\nplatform = "myplatform"\ngreting = "Hi"\n')

    result = cli("--config", config, "poll")

    assert result.exit_code == 1
    assert 'unknown key "greting" (did you mean "greeting"?)' in result.output


def test_an_unknown_platform_lists_the_installed_ones(cli, write_config):
    config = write_config('[[sources]]\nname = "m"\nplatform = "mastodn"\n')

    result = cli("--config", config, "poll")

    assert result.exit_code == 1
    assert 'unknown platform "mastodn" (did you mean "mastodon"?)' in result.output
