"""Install a plugin for real: modules plus a ``*.dist-info`` with ``entry_points.txt``.

The folder it writes goes on ``sys.path`` (and ``PYTHONPATH`` for subprocesses),
where ``importlib.metadata`` finds the distribution exactly as it finds one that
pip installed. Used by the ``install_plugin`` fixture and by ``bench/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

HERE = Path(__file__).parent
SCRIPTED = HERE / "plugins" / "scripted.py"


def install_plugin(
    root: Path,
    dist: str,
    modules: Mapping[str, str],
    entry_points: Mapping[str, Mapping[str, str]],
    version: str = "1.0",
) -> Path:
    """Write ``modules`` (name -> source) and their distribution's metadata under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for name, source in modules.items():
        (root / f"{name}.py").write_text(source, encoding="utf-8")
    info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n", encoding="utf-8"
    )
    lines = []
    for group, points in entry_points.items():
        lines.append(f"[{group}]")
        lines += [f"{name} = {target}" for name, target in points.items()]
        lines.append("")
    (info / "entry_points.txt").write_text("\n".join(lines), encoding="utf-8")
    return root


def install_scripted(root: Path) -> Path:
    """The ``scripted`` test connector (``tests/plugins/scripted.py``) as a plugin."""
    return install_plugin(
        root, "sentiment-monitor-scripted", {"sm_scripted": SCRIPTED.read_text(encoding="utf-8")},
        {"sentiment_monitor.connectors": {"scripted": "sm_scripted:ScriptedConnector"}},
    )
