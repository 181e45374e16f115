"""Ctrl-C and SIGTERM held off while a write that must be whole is done.

Shared by ``import`` and ``reclassify`` (each batch of mentions is stored and counted
whole) and ``kpi import`` (the one transaction of a file commits before a Ctrl-C is taken).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import TypeVar

T = TypeVar("T")


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Ctrl-C, and a SIGTERM that a Python handler takes, held until the block is done,
    then handled as they would have been (in the main thread; elsewhere no signal arrives)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    saved = {}
    for number in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(number)
        if callable(handler):
            saved[number] = handler
            signal.signal(number, lambda signum, _frame: held.append(signum))
    try:
        yield
    finally:
        # Both handlers back before either signal can act (one arriving between two
        # restores would otherwise leave the other held for good); then the first one held.
        mask = getattr(signal, "pthread_sigmask", None)
        blocked = mask(signal.SIG_BLOCK, saved) if mask else None
        try:
            for number, handler in saved.items():
                signal.signal(number, handler)
        finally:
            if mask:
                mask(signal.SIG_SETMASK, blocked)
        if held:
            saved[held[0]](held[0], None)


@contextmanager
def interrupts_held_inside(
    transaction: AbstractContextManager[T], committed: Callable[[], None] | None = None,
) -> Iterator[T]:
    """``transaction`` entered while Ctrl-C still stops it (a wait for another process's
    write lock; nothing is written yet), then Ctrl-C and SIGTERM held until it is left
    (committed), and handled after. ``committed`` runs once the transaction is committed,
    before a held Ctrl-C is taken: the place to count what it stored (a commit that fails,
    on a full disk, stored nothing and counts nothing)."""
    with ExitStack() as held:
        with transaction as value:
            held.enter_context(interrupts_held())
            yield value
        if committed is not None:
            committed()
