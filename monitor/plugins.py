"""Find connectors and classifiers through entry points.

Built-ins are registered in this project's ``pyproject.toml`` exactly as a
third-party package registers its own, under the groups
``sentiment_monitor.connectors`` (name = platform) and
``sentiment_monitor.classifiers`` (name = classifier). Loading is lazy: a
command only imports the plugins it uses. A classifier's scores are checked as
it gives them (:class:`monitor.checked.CheckedClassifier`): a broken plugin is
one error naming it, never a traceback nor a garbage row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any

from monitor.errors import MonitorError, did_you_mean

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

CONNECTORS = "sentiment_monitor.connectors"
CLASSIFIERS = "sentiment_monitor.classifiers"
_KIND = {CONNECTORS: "platform", CLASSIFIERS: "classifier"}
#: What a plugin of each group must have, and where the README says how to write one.
_METHODS = {CONNECTORS: ("build_query", "fetch"), CLASSIFIERS: ("score_many",)}
GUIDE = {CONNECTORS: '"Writing a connector plugin"', CLASSIFIERS: '"Plugins" under "Sentiment"'}


@cache
def _entry_points(group: str) -> dict[str, list[EntryPoint]]:
    """Each name's entry points: more than one when installed packages disagree on it."""
    from importlib.metadata import entry_points  # scanning installed packages costs ~40 ms: on first lookup

    found: dict[str, list[EntryPoint]] = {}
    for ep in entry_points(group=group):
        same = found.setdefault(ep.name, [])
        if all(other.value != ep.value for other in same):
            same.append(ep)
    return found


def refresh() -> None:
    """Forget the entry points found so far: a plugin installed since is found on the next lookup."""
    _entry_points.cache_clear()


def names(group: str) -> list[str]:
    return sorted(_entry_points(group))


def load(group: str, name: str) -> Any:
    """The class registered as ``name`` in ``group``; a clear error if there is none."""
    found = _entry_points(group)
    if name not in found:
        raise MonitorError(
            f'unknown {_KIND[group]} "{name}"{did_you_mean(name, list(found))}; available: {", ".join(sorted(found))}'
        )
    if len(found[name]) > 1:  # which one wins would depend on sys.path order: say so instead
        registered = "; ".join(f"{_package(ep)} ({ep.value})" for ep in found[name])
        raise MonitorError(
            f'{_KIND[group]} "{name}" is registered by {len(found[name])} installed packages: {registered};'
            " uninstall all but one"
        )
    with blamed(group, name, "failed to load"):
        cls = found[name][0].load()
    _check_members(group, name, cls)
    return cls


def _package(ep: EntryPoint) -> str:
    return ep.dist.name if ep.dist is not None else "an unnamed package"


def describe(group: str, name: str) -> str:
    """``platform "x" (module:Class)``: a plugin as error messages name it."""
    return f'{_KIND[group]} "{name}" ({_entry_points(group)[name][0].value})'


def _check_members(group: str, name: str, cls: Any) -> None:
    """One line now for a plugin without what its kind needs, not an AttributeError
    traceback from the config loader or in the middle of a poll."""
    problems = [f"no {method}()" for method in _METHODS[group] if not callable(getattr(cls, method, None))]
    options = getattr(cls, "Options", None)
    if (options is not None or group == CONNECTORS) and not (
        isinstance(options, type) and dataclasses.is_dataclass(options)
    ):
        problems.append("no Options dataclass" if options is None else "its Options is not a dataclass")
    if problems:
        raise MonitorError(
            f"{describe(group, name)} is not a usable {'connector' if group == CONNECTORS else 'classifier'}:"
            f" {', '.join(problems)} (see {GUIDE[group]} in the README)"
        )


@contextmanager
def blamed(group: str, name: str, doing: str) -> Iterator[None]:
    """Report an exception raised in the block as the failure of plugin ``name``, naming
    it and its entry point: a broken plugin must not look like our bug. A
    :class:`MonitorError` (already meant for people) passes through as it is."""
    try:
        yield
    except MonitorError:
        raise
    except Exception as exc:
        raise MonitorError(f"{describe(group, name)} {doing}: {type(exc).__name__}: {exc}") from exc


def connector_class(platform: str) -> Any:
    return load(CONNECTORS, platform)


def classifier_class(name: str) -> Any:
    return load(CLASSIFIERS, name)
