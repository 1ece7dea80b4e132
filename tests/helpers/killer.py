"""A callback for the kill-and-resume test: SIGKILL its own process at a given step.

It is added to a training subprocess by config (``+callbacks.kill._target_=...``) and
acts only while ``DLZOO_TEST_KILL=1``, so the resumed run that inherits the same
overrides trains on undisturbed.
"""

from __future__ import annotations

import os
import signal
from typing import Any

from lightning.pytorch.callbacks import Callback


class KillAtStep(Callback):
    def __init__(self, step: int) -> None:
        self.step = int(step)

    def on_train_batch_end(self, trainer: Any, *args: Any) -> None:
        if os.environ.get("DLZOO_TEST_KILL") == "1" and trainer.global_step == self.step:
            os.kill(os.getpid(), signal.SIGKILL)
