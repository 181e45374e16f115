"""Shared fixtures: a fresh database, config files, the CLI, a fake HTTP server."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from factories import close_opened
from fakeserver import FakeServer

import pluginkit
from monitor import config as config_module
from monitor import plugins
from monitor.cli import main
from monitor.storage import Store

BASE_CONFIG = """
[monitor]
database = "{db}"
timezone = "UTC"

[[brands]]
name = "Acme"
keywords = ["acme", "acme mobile"]
handles = ["@acme", "@acmesupport"]
exclude = ["acme anvil"]

[[brands]]
name = "Globex"
keywords = ["globex"]
handles = ["@globex"]
competitor = true
"""


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test runs in its own directory, blind to the user's config; what it opened
    through ``factories.closed_at_end`` is closed when it ends."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(config_module.ENV_VAR, raising=False)
    yield
    close_opened()


@pytest.fixture
def fresh_store() -> Iterable[Store]:
    store = Store.open(":memory:")
    yield store
    store.close()


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a config file: the base brands plus ``extra`` TOML; returns its path."""

    def write(extra: str = "", *, base: bool = True, name: str = "monitor.toml") -> Path:
        path = tmp_path / name
        text = BASE_CONFIG.format(db=(tmp_path / "monitor.db").as_posix()) if base else ""
        path.write_text(text + textwrap.dedent(extra), encoding="utf-8")
        return path

    return write


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """The root logger's handlers and level put back after a test that configures logging."""
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def cli() -> Callable[..., Result]:
    """Invoke the CLI in-process: ``cli("--config", path, "poll")``."""

    def invoke(*args: Any, input: str | None = None) -> Result:
        return CliRunner().invoke(main, [str(a) for a in args], input=input, catch_exceptions=False)

    return invoke


@pytest.fixture
def fake_server() -> Iterable[FakeServer]:
    """A scripted HTTP server on 127.0.0.1 (see tests/fakeserver.py); stopped after the test."""
    with FakeServer() as server:
        yield server


@pytest.fixture
def install_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Path]]:
    """Install a plugin for real: ``install_plugin(dist, {module: source}, {group: {name: target}})``.

    It is found through entry points by this process and by subprocesses
    (``PYTHONPATH``); the entry-point cache is cleared on the way in and out.
    """
    root = tmp_path / "site-plugins"

    def install(
        dist: str, modules: Mapping[str, str], entry_points: Mapping[str, Mapping[str, str]]
    ) -> Path:
        pluginkit.install_plugin(root, dist, modules, entry_points)
        _on_path(root, monkeypatch)
        return root

    yield install
    plugins.refresh()


@pytest.fixture
def scripted_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The ``scripted`` connector (tests/plugins/scripted.py), installed as a plugin."""
    root = pluginkit.install_scripted(tmp_path / "site-plugins")
    _on_path(root, monkeypatch)
    yield root
    plugins.refresh()


def _on_path(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if str(root) not in os.environ.get("PYTHONPATH", "").split(os.pathsep):
        monkeypatch.syspath_prepend(str(root))
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])))
    plugins.refresh()
