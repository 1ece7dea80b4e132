"""A callback for the kill-and-resume tests: send its own process a signal at a given
step (SIGKILL by default; SIGTERM / SIGINT as a scheduler or Ctrl-C would).

It is added to a training subprocess by config (``+callbacks.kill._target_=...``,
``+callbacks.kill.signal=SIGTERM``) and acts only while ``DLZOO_TEST_KILL=1``, so the
resumed run that inherits the same overrides trains on undisturbed.
"""

from __future__ import annotations

import os
from signal import Signals
from typing import Any

from lightning.pytorch.callbacks import Callback


class KillAtStep(Callback):
    """Send ``signal`` to this process at the end of global step ``step``.

    Args:
        step: the step.
        signal: the signal's name, e.g. ``SIGTERM``.
        rank: only the process of this global rank (``None``: every process).
    """

    def __init__(self, step: int, signal: str = "SIGKILL", rank: int | None = None) -> None:
        self.step = int(step)
        self.signum = Signals[signal]
        self.rank = rank

    def on_train_batch_end(self, trainer: Any, *args: Any) -> None:
        if self.rank is not None and trainer.global_rank != self.rank:
            return
        if os.environ.get("DLZOO_TEST_KILL") == "1" and trainer.global_step == self.step:
            os.kill(os.getpid(), self.signum)
