"""``dlzoo-train`` in a subprocess, as a user runs it, with the test helpers importable
(the :class:`killer.KillAtStep` callback) and one thread."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HELPERS = Path(__file__).resolve().parent


def train_process(
    log_dir: Path, *overrides: str, kill: bool = False, timeout: float = 300
) -> subprocess.CompletedProcess:
    """Run ``dlzoo-train`` with runs under ``log_dir``.

    Args:
        log_dir: ``DLZOO_LOG_DIR``.
        overrides: the command line.
        kill: let a configured ``KillAtStep`` act (``DLZOO_TEST_KILL=1``).
        timeout: seconds before the test fails.
    """
    env = {
        **os.environ,
        "PYTHONPATH": f"{HELPERS}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "DLZOO_LOG_DIR": str(log_dir),
        "OMP_NUM_THREADS": "1",
        "DLZOO_TEST_KILL": "1" if kill else "0",
    }
    return subprocess.run(
        [sys.executable, "-m", "dlzoo.cli.train", *overrides],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
