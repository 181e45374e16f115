"""Real ``python -m monitor`` processes for tests: start, await log lines, signal, reap."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path


class MonitorProcess:
    """A ``sentiment-monitor`` subprocess whose stderr lines can be awaited."""

    def __init__(
        self, *args: str | Path, cwd: Path, env: dict[str, str] | None = None,
        constants: dict[str, float] | None = None,
    ) -> None:
        """``constants``: module constants of :mod:`monitor.daemon` to set first (shorter
        intervals for tests), as a test in this process would patch them."""
        self.args = [sys.executable, "-m", "monitor", *map(str, args)]
        if constants:
            self.args[1:3] = ["-c", (
                "import monitor.daemon as d\n"
                f"for k, v in {constants!r}.items(): setattr(d, k, v)\n"
                "from monitor.cli import main\nmain()"
            )]
        self.proc = subprocess.Popen(
            self.args, cwd=cwd, env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, pattern: str, timeout: float = 15.0) -> str:
        """The next stderr line matching ``pattern`` (earlier lines are kept in ``lines``)."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no line matching {pattern!r} in {timeout}s:\n{self.stderr}")
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                self._queue.put(None)
                raise AssertionError(f"process ended before {pattern!r}:\n{self.stderr}")
            self.lines.append(line)
            if regex.search(line):
                return line

    @property
    def stderr(self) -> str:
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line is None:
                self._queue.put(None)
                break
            self.lines.append(line)
        return "".join(self.lines)

    def send(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._close()

    def wait(self, timeout: float) -> int:
        code = self.proc.wait(timeout=timeout)
        self._close()
        return code

    def stop(self) -> None:
        """Make sure the process is gone (test clean-up)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close()

    def _close(self) -> None:
        self._reader.join(timeout=5)
        if self._reader.is_alive():  # closing the stream now would block on the reader's lock
            raise AssertionError(
                f"5 s after {self.args[3:]} ended, a process it started still holds its stderr open"
                " (an orphaned worker?)"
            )
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream and not stream.closed:
                stream.close()
