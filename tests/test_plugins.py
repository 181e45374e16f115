"""Connectors are entry points: the built-in ones, and a third-party one installed like any package."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

from monitor import config as config_module
from monitor import plugins
from factories import record, write_jsonl

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



def test_a_plugin_declaring_nothing_about_queries_takes_a_source_without_brand_or_query(installed_plugin,
                                                                                           write_config):
    # takes_query / needs_query are optional: the loader must not ask a plugin to declare them.
    for extra in ("", 'query = "anything"\n', 'query = ""\n'):
        path = write_config(f'[[sources]]\nname = "mine"\nplatform = "myplatform"\n{extra}')
        assert config_module.load(path).sources[0].platform == "myplatform"


def test_an_unknown_platform_lists_the_installed_ones(cli, write_config):
    config = write_config('[[sources]]\nname = "m"\nplatform = "mastodn"\n')

    result = cli("--config", config, "poll")

    assert result.exit_code == 1
    assert 'unknown platform "mastodn" (did you mean "mastodon"?)' in result.output


CLASSIFIER_PLUGIN = '''
"""Two third-party classifiers: one needs an option, one has a bug in its constructor."""

from dataclasses import dataclass
from typing import ClassVar

from sentiment.base import Score, Thresholds


@dataclass(frozen=True)
class KeyedOptions:
    api_key: str  # a [sentiment] key without a default


class KeyedClassifier:
    name: ClassVar[str] = "keyed"
    version: ClassVar[str] = "1"
    Options: ClassVar[type] = KeyedOptions

    def __init__(self, thresholds=None, brand_terms=(), *, api_key: str) -> None:
        self.thresholds = thresholds or Thresholds()

    def score(self, text):
        return Score(0.0, "neutral")

    def score_many(self, texts):
        return [self.score(t) for t in texts]


class BuggyClassifier(KeyedClassifier):
    name: ClassVar[str] = "buggy"
    Options = None

    def __init__(self, thresholds=None, brand_terms=()) -> None:
        self.size = len(None)  # a bug: TypeError from inside the constructor
'''


@pytest.fixture
def classifier_plugins(install_plugin):
    install_plugin("myclassifiers", {"myclassifiers": CLASSIFIER_PLUGIN}, {"sentiment_monitor.classifiers": {
        "keyed": "myclassifiers:KeyedClassifier", "buggy": "myclassifiers:BuggyClassifier"}})
    yield
    sys.modules.pop("myclassifiers", None)


def test_a_classifier_option_not_configured_is_one_line_naming_it(classifier_plugins, cli, write_config, tmp_path):
    texts, labels = tmp_path / "texts.txt", tmp_path / "labels.txt"
    texts.write_text("fine\n", encoding="utf-8")
    labels.write_text("neutral\n", encoding="utf-8")

    # [sentiment] configures vader, so the options of "keyed" are not configured
    result = cli("--config", write_config(), "eval", texts, "--labels-file", labels, "--classifier", "keyed")

    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.count("\n") == 1 and "'api_key'" in result.output
    assert '[sentiment] with classifier = "keyed"' in result.output


def test_a_classifier_constructor_bug_is_reported_as_the_plugin_failing(classifier_plugins, cli, write_config):
    config = write_config('[sentiment]\nclassifier = "buggy"\n')

    result = cli("--config", config, "classify", "hello")

    assert result.exit_code == 1
    assert 'classifier "buggy" (myclassifiers:BuggyClassifier) failed to start: TypeError:' in result.output
    assert "not configured" not in result.output and "set its options" not in result.output


def test_the_transformers_classifier_without_torch_says_what_to_install(cli, write_config, tmp_path, monkeypatch):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}", encoding="utf-8")
    monkeypatch.setitem(sys.modules, "torch", None)  # as if torch were not installed
    config = write_config(f'[sentiment]\nclassifier = "transformers"\nmodel = "{model.as_posix()}"\n')

    result = cli("--config", config, "classify", "hello")

    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert 'classifier "transformers": needs torch, which is not installed' in result.output
    assert "pip install 'sentiment-monitor[transformers]'" in result.output


FAULTY_CLASSIFIER = '''
"""A classifier whose [sentiment] option ``gives`` picks what its score_many returns."""

from dataclasses import dataclass
from typing import ClassVar

from sentiment.base import Score


@dataclass(frozen=True)
class FaultyOptions:
    gives: str = "ok"


class FaultyClassifier:
    name: ClassVar[str] = "faulty"
    version: ClassVar[str] = "1"
    Options: ClassVar[type] = FaultyOptions

    def __init__(self, thresholds=None, brand_terms=(), *, gives="ok") -> None:
        self.gives = gives

    def score(self, text):
        return self.score_many([text])[0]

    def score_many(self, texts):
        texts = list(texts)
        if self.gives == "a crash":
            raise KeyError("model_output")
        if self.gives == "one too few":
            texts = texts[1:]
        one = {"nan": Score(float("nan"), "positive"), "out of range": Score(3.0, "positive"),
               "an unknown label": Score(0.5, "happy"), "a tuple": (0.5, "positive"),
               "an int": Score(1, "positive"), "unsupported": Score(0.0, "unsupported")}.get(self.gives, Score(0.25, "positive"))
        return (one for _ in texts)  # an iterable, not a list: fine
'''
FAULTS = {
    "nan": "gave the compound nan (a number in [-1, 1]) for the text 'acme is fine'",
    "out of range": "gave the compound 3.0, outside [-1, 1] for the text 'acme is fine'",
    "an unknown label": "gave the label 'happy' (labels: positive, neutral, negative, unsupported) for the text",
    "a tuple": "gave a tuple, not a Score for the text 'acme is fine'",
    "one too few": "gave 0 scores for 1 texts",
    "a crash": "failed to score: KeyError: 'model_output'",
}


@pytest.fixture
def faulty_classifier(install_plugin):
    install_plugin("faultyclassifier", {"faultyclassifier": FAULTY_CLASSIFIER},
                   {"sentiment_monitor.classifiers": {"faulty": "faultyclassifier:FaultyClassifier"}})
    yield
    sys.modules.pop("faultyclassifier", None)


def _faulty_config(write_config, gives):
    return write_config(f'[sentiment]\nclassifier = "faulty"\ngives = "{gives}"\n')


@pytest.mark.parametrize("gives", list(FAULTS))
def test_a_classifier_giving_garbage_is_one_line_naming_it(faulty_classifier, cli, write_config, gives):
    result = cli("--config", _faulty_config(write_config, gives), "classify", "acme is fine")

    assert result.exit_code == 1 and result.output.count("\n") == 1, result.output
    assert result.output.startswith('Error: classifier "faulty" (faultyclassifier:FaultyClassifier) ')
    assert FAULTS[gives] in result.output


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("gives", ["nan", "an unknown label"])
def test_an_import_stores_no_garbage_score(faulty_classifier, cli, write_config, tmp_path, monkeypatch, workers, gives):
    from monitor import backfill

    monkeypatch.setattr(backfill, "PARALLEL_MIN_BYTES", 0)  # --workers 2: scored by worker processes
    monkeypatch.setattr(backfill, "RANGE_BYTES", 4096)
    data = write_jsonl(tmp_path / "m.jsonl", [record(str(i), "acme is fine") for i in range(200)])
    config = _faulty_config(write_config, gives)

    result = cli("--config", config, "import", data, "--workers", workers)

    assert result.exit_code == 1 and result.output.count("\n") == 1, result.output
    assert 'classifier "faulty" (faultyclassifier:FaultyClassifier) gave the ' in result.output
    assert json.loads(cli("--config", config, "mentions", "--format", "json").output) == []


def test_a_plugin_classifier_imports_in_worker_processes_and_polls(faulty_classifier, cli, write_config, tmp_path,
                                                                   monkeypatch):
    from monitor import backfill

    monkeypatch.setattr(backfill, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(backfill, "RANGE_BYTES", 4096)
    data = write_jsonl(tmp_path / "m.jsonl", [record(str(i), "acme is fine") for i in range(200)])
    config = _faulty_config(write_config, "an int")  # a whole number is a compound too: stored as a float

    result = cli("--config", config, "import", data, "--workers", "2", "--format", "json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["new"] == 200
    stored = json.loads(cli("--config", config, "mentions", "--limit", "500", "--format", "json").output)
    assert {(m["compound"], m["label"], m["classifier"]) for m in stored} == {(1.0, "positive", "faulty/1")}


def test_a_classifier_may_call_a_text_unsupported_and_one_without_a_version_is_named(faulty_classifier, cli,
                                                                                      write_config, install_plugin):
    result = cli("--config", _faulty_config(write_config, "unsupported"), "classify", "acme", "--format", "json")
    assert [(r["label"], r["compound"]) for r in json.loads(result.output)] == [("unsupported", None)]
    install_plugin("nameless", {"nameless": "class Nameless:\n    name = 'nameless'\n"
                                            "    def __init__(self, thresholds, brand_terms): pass\n"
                                            "    def score_many(self, texts): return []\n"},
                   {"sentiment_monitor.classifiers": {"nameless": "nameless:Nameless"}})

    result = cli("--config", write_config('[sentiment]\nclassifier = "nameless"\n'), "classify", "acme")

    assert result.exit_code == 1 and result.output == (
        'Error: classifier "nameless" (nameless:Nameless) has no version: a classifier needs name and version'
        ' strings (see "Plugins" under "Sentiment" in the README)\n')
    sys.modules.pop("nameless", None)


def test_a_poll_with_a_classifier_giving_nan_stores_nothing_and_keeps_the_cursor(faulty_classifier, scripted_plugin,
                                                                                   cli, write_config, caplog):
    config = write_config('''
        [sentiment]
        classifier = "faulty"
        gives = "nan"

        [[sources]]
        name = "s"
        platform = "scripted"
        brand = "Acme"
    ''')

    result = cli("--config", config, "poll", "--format", "json")

    assert result.exit_code == 1
    (run,) = json.loads(result.stdout)
    assert run["status"] == "error" and run["new"] == 0
    assert run["error"].startswith('classifier "faulty" (faultyclassifier:FaultyClassifier) gave the compound nan')
    # One line, as the README promises: no traceback logged that would only show the check.
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]
    assert json.loads(cli("--config", config, "mentions", "--format", "json").output) == []
    (source,) = json.loads(cli("--config", config, "status", "--format", "json").output)["sources"]
    assert source["cursor"] is None


def test_a_plugin_registering_a_built_in_name_is_named_not_silently_shadowed(installed_plugin, install_plugin, cli,
                                                                               write_config, tmp_path):
    # "jsonl" is also the built-in's: which one a lookup found depended on sys.path order
    install_plugin("otherpkg", {"otherpkg": "from mypkg import MyConnector\n"},
                   {"sentiment_monitor.connectors": {"jsonl": "otherpkg:MyConnector"}})
    config = write_config(f'[[sources]]\nname = "s"\nplatform = "jsonl"\npath = "{(tmp_path / "m.jsonl").as_posix()}"\n')

    result = cli("--config", config, "poll")

    assert result.exit_code == 1 and result.output.count("\n") == 1, result.output
    assert ('platform "jsonl" is registered by 2 installed packages: ' in result.output
            and "otherpkg (otherpkg:MyConnector)" in result.output
            and "sentiment-monitor (connectors.jsonl:JsonlConnector)" in result.output
            and "uninstall all but one" in result.output)
    sys.modules.pop("otherpkg", None)


@pytest.mark.parametrize(("source", "problems"), [
    ("class Half:\n    platform = 'half'\n    def __init__(self, options): pass\n",
     "no build_query(), no fetch(), no Options dataclass"),
    ("class Half:\n    platform = 'half'\n    class Options:\n        greeting: str = 'hi'\n"
     "    def build_query(self, brand): return ''\n    def fetch(self, query, cursor): return None\n",
     "its Options is not a dataclass"),
])
def test_a_connector_plugin_missing_a_member_is_one_line_naming_it(install_plugin, cli, write_config, monkeypatch,
                                                                    source, problems):
    monkeypatch.setitem(sys.modules, "halfpkg", None)  # taken away again after the test: each case imports its own
    del sys.modules["halfpkg"]
    install_plugin("halfpkg", {"halfpkg": source}, {"sentiment_monitor.connectors": {"half": "halfpkg:Half"}})

    result = cli("--config", write_config('[[sources]]\nname = "s"\nplatform = "half"\n'), "poll")

    assert result.exit_code == 1 and result.output.count("\n") == 1, result.output
    assert f'platform: platform "half" (halfpkg:Half) is not a usable connector: {problems}' in result.output
    assert '(see "Writing a connector plugin" in the README)' in result.output


@pytest.mark.parametrize(("mode", "error"), [("cancelled", "CancelledError"), ("exit", "SystemExit: 3")])
def test_a_connector_raising_a_base_exception_fails_its_poll_only(scripted_plugin, cli, write_config, mode, error):
    config = write_config(f'''
        [[sources]]
        name = "odd"
        platform = "scripted"
        brand = "Acme"
        mode = "{mode}"

        [[sources]]
        name = "fine"
        platform = "scripted"
        brand = "Acme"
        id_prefix = "f"
    ''')

    result = cli("--config", config, "poll", "--format", "json")

    assert result.exit_code == 1  # a failed source, as any failure: not the plugin's exit code
    runs = {r["source"]: r for r in json.loads(result.stdout)}
    assert (runs["odd"]["status"], runs["odd"]["error_kind"], runs["odd"]["error"]) == ("error", "internal", error)
    assert (runs["fine"]["status"], runs["fine"]["new"]) == ("ok", 1)


def test_a_classifier_secret_in_a_plugin_error_is_masked(install_plugin, cli, write_config, tmp_path, monkeypatch):
    install_plugin("keyedapi", {"keyedapi": '''
from dataclasses import dataclass
from connectors.base import Secret


@dataclass(frozen=True)
class Options:
    api_key: Secret


class KeyedApi:
    name, version, Options = "keyedapi", "1", Options

    def __init__(self, thresholds=None, brand_terms=(), *, api_key):
        self.api_key = api_key

    def score_many(self, texts):  # a server echoing the key back
        raise RuntimeError(f"401 Unauthorized: invalid key {self.api_key.reveal()}")
'''}, {"sentiment_monitor.classifiers": {"keyedapi": "keyedapi:KeyedApi"}})
    monkeypatch.setenv("KEYED_API_KEY", "k3y-0f-the-classifier")
    config = write_config('[sentiment]\nclassifier = "keyedapi"\napi_key = { env = "KEYED_API_KEY" }\n')
    data = write_jsonl(tmp_path / "m.jsonl", [record("1", "acme is fine")])

    for args in (("classify", "acme is fine"), ("import", data)):
        result = cli("--config", config, *args)

        assert result.exit_code == 1
        assert result.output == ('Error: classifier "keyedapi" (keyedapi:KeyedApi) failed to score:'
                                 ' RuntimeError: 401 Unauthorized: invalid key ***\n')
    sys.modules.pop("keyedapi", None)


@pytest.mark.parametrize(("annotations", "key", "problem"), [
    ("tags: list[str] = ()", 'tags = ["a"]',
     'TypeError: unsupported field type list[str] for "tags" (the config reads str, int, float, bool, Path,'),
    ("rate: Decimal = 1", "", "NameError: name 'Decimal' is not defined"),  # imported under TYPE_CHECKING only
])
def test_plugin_options_the_config_cannot_read_are_the_plugin_named(install_plugin, cli, write_config, monkeypatch,
                                                                    annotations, key, problem):
    source = "from __future__ import annotations\n" + PLUGIN.replace('greeting: str = "Hello"', annotations).replace(
        "from typing import ClassVar", "from typing import TYPE_CHECKING, ClassVar\nif TYPE_CHECKING:\n"
        "    from decimal import Decimal")
    monkeypatch.setitem(sys.modules, "typedpkg", None)  # each case imports its own
    del sys.modules["typedpkg"]
    install_plugin("typedpkg", {"typedpkg": source}, {"sentiment_monitor.connectors": {"typed": "typedpkg:MyConnector"}})

    config = write_config(f'[[sources]]\nname = "s"\nplatform = "typed"\n{key}\n')

    result = cli("--config", config, "poll")

    assert result.exit_code == 1 and result.output.count("\n") == 1, result.output
    assert result.output.startswith(f'Error: {config}: [[sources]] #1 ("s"): platform "typed" (typedpkg:MyConnector)'
                                    f" has options the config cannot read: {problem}")
