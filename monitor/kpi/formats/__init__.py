"""The export formats we read, and how one is chosen from a file's header."""

from __future__ import annotations

from collections.abc import Sequence

from monitor.errors import MonitorError
from monitor.kpi.formats import freshdesk, generic, helpscout, intercom, zendesk
from monitor.kpi.formats.base import Binding, Layout

#: Format name -> its layouts. The order is the CLI's.
FORMATS: dict[str, tuple[Layout, ...]] = {
    "zendesk": zendesk.LAYOUTS,
    "freshdesk": freshdesk.LAYOUTS,
    "intercom": intercom.LAYOUTS,
    "helpscout": helpscout.LAYOUTS,
    "generic": generic.LAYOUTS,
}
CHOICES = ("auto", *FORMATS)


def choose(header: Sequence[str], fmt: str = "auto", *, where: str = "file") -> Binding:
    """The layout that reads ``header`` (of format ``fmt``, or detected), bound to it.

    Raises a MonitorError naming the columns expected and found when no
    layout fits: before anything is written.
    """
    if fmt == "auto":
        layouts = [layout for layouts in FORMATS.values() for layout in layouts]
        candidates = [(layout, *layout.score(header)) for layout in layouts]
        candidates = [(layout, n) for layout, identified, n in candidates if identified]
        if not candidates:
            raise MonitorError(
                f"{where}: cannot tell which tool wrote this export from its header;"
                f" found: {_found(header)}. Name it with --format ({', '.join(FORMATS)});"
                " the README lists each tool's columns"
            )
    elif fmt in FORMATS:
        candidates = [(layout, layout.score(header)[1]) for layout in FORMATS[fmt]]
    else:
        raise MonitorError(f'unknown export format "{fmt}" (use one of {", ".join(CHOICES)})')
    bindings = [(layout.bind(header), n) for layout, n in candidates]
    usable = [(b, n) for b, n in bindings if b.problem() is None]
    if usable:
        binding = max(usable, key=lambda bn: bn[1])[0]
        for header_name, positions in binding.repeated.items():  # which of them holds the values?
            raise MonitorError(
                f"{where}: the column {header_name!r} is in the header {len(positions)} times"
                f" (columns {', '.join(str(p + 1) for p in positions)}); keep one (nothing was imported)"
            )
        return binding
    closest = max(bindings, key=lambda bn: bn[1])[0]
    layout = closest.layout
    raise MonitorError(
        f"{where}: not a complete {layout.title}: {closest.problem()};"
        f" expected {layout.expected()}; found: {_found(header)} (nothing was imported)"
    )


def _found(header: Sequence[str]) -> str:
    return ", ".join(repr(h) for h in header) or "(no columns)"
