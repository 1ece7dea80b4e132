"""What a checkpoint needs besides Lightning's own state to stand on its own.

Every checkpoint gets a ``dlzoo`` section of plain data (it loads with
``torch.load(weights_only=True)``): the net's registered name and the shape arguments
it was built with, and the random number generators' states (so a resumed run draws the
same dropout masks and augmentations as an uninterrupted one). The datamodule's fitted
preprocessing travels in Lightning's own datamodule entry (its ``state_dict``), which
:func:`dlzoo.run.artefacts.fitted_state` reads.
"""

from __future__ import annotations

import random
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback

SECTION = "dlzoo"
FORMAT = 1


def rng_state() -> dict[str, Any]:
    """The python, numpy and torch generators' states as plain data."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(gauss)],
        "torch": torch.get_rng_state(),
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, gauss_value = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss_value))
    torch.set_rng_state(state["torch"])


class RunState(Callback):
    """Write the ``dlzoo`` section into every checkpoint; restore the RNGs on resume.

    Args:
        model_name: the net's name (``conf/model`` option / registry name).
        net_kwargs: the shape arguments the net was built with, as plain data.
        transfer: for a net reused with ``init_from``, the source's architecture (see
            :func:`dlzoo.run.transfer.source_spec`), so the run rebuilds without the source.
    """

    def __init__(
        self, model_name: str, net_kwargs: dict[str, Any], transfer: dict[str, Any] | None = None
    ) -> None:
        self.model_name = model_name
        self.net_kwargs = dict(net_kwargs)
        self.transfer = transfer

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        checkpoint[SECTION] = {
            "format": FORMAT,
            "model": self.model_name,
            "net_class": f"{type(pl_module.net).__module__}.{type(pl_module.net).__qualname__}",
            "net_kwargs": self.net_kwargs,
            "rng": rng_state(),
        }
        if self.transfer is not None:
            checkpoint[SECTION]["transfer"] = self.transfer

    def on_load_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        section = checkpoint.get(SECTION) or {}
        if "rng" in section:
            set_rng_state(section["rng"])
