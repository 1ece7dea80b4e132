"""Real servers for tests: a free loopback port, a process group that is always stopped
(whatever the test did), and waiting for something to come up."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path


def free_port() -> int:
    """A TCP port nothing listens on now (on 127.0.0.1)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def process_group(
    command: list[str], env: dict[str, str], log: Path, cwd: Path | None = None
) -> Iterator[subprocess.Popen]:
    """Run ``command`` in a session of its own, output to ``log``; on leaving, kill the
    whole session (the daemons it started too) and reap it."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield proc
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def wait_until(
    ready: Callable[[], bool], timeout: float, what: str, proc: subprocess.Popen | None = None
) -> None:
    """Poll ``ready`` until it is true.

    Raises:
        RuntimeError: ``proc`` (the server that should get ready) exited.
        TimeoutError: not ready within ``timeout`` seconds (names ``what``).
    """
    end = time.monotonic() + timeout
    while not ready():
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: its process exited with {proc.returncode}")
        if time.monotonic() > end:
            raise TimeoutError(f"{what} not ready within {timeout:.0f} s")
        time.sleep(0.3)
