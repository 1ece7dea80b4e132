"""The test split's accuracy after every validation epoch, for one published protocol.

Xu et al. (2019) report GIN's 10-fold accuracy on MUTAG the way their reference code
computes it: every fold is trained for 350 epochs and scored on its test fold after
every epoch; the number in the table is the best, over epochs, of the mean over folds.
That choice looks at the test folds, so it flatters; reproducing it needs each fold's
test accuracy per epoch, which this callback logs as ``epoch_test/acc`` (a column of
``history.csv``, a TensorBoard curve). :func:`dlzoo.run.epoch_selection.best_mean_epoch`
reads it back; the honest number is the run's own, at the checkpoint its validation
split picked.

Nothing is trained or selected on it: the net is scored in eval mode without
gradients, and no callback or checkpoint monitors it.
"""

from __future__ import annotations

from typing import Any

import torch
from lightning.pytorch.callbacks import Callback

from dlzoo.errors import ConfigError
from dlzoo.tasks.classification import ClassificationTask
from dlzoo.tasks.node_classification import NodeClassificationTask

__all__ = ["EPOCH_TEST_ACC", "EpochTestScore"]

EPOCH_TEST_ACC = "epoch_test/acc"


class EpochTestScore(Callback):
    """Log the test split's accuracy as ``epoch_test/acc`` after each validation of fit.

    For classification tasks whose test split comes in batches (images, series, text,
    graphs), not one graph's node masks.

    Raises:
        ConfigError: at fit start, for any other task.
    """

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        # a node task's test split is a mask on the one graph, which infer does not take
        if not isinstance(pl_module, ClassificationTask) or isinstance(
            pl_module, NodeClassificationTask
        ):
            raise ConfigError(
                f"callbacks.epoch_test scores batches of classified samples, not a "
                f"{type(pl_module).__name__}: remove it (~callbacks.epoch_test)"
            )

    def on_validation_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        if trainer.sanity_checking or trainer.state.fn != "fit":
            return
        correct, total = 0, 0
        with torch.no_grad():
            for batch in trainer.datamodule.test_dataloader():
                batch = pl_module.transfer_batch_to_device(batch, pl_module.device, 0)
                inputs, y = pl_module.split_batch(batch)
                correct += int((pl_module.infer(*inputs).argmax(dim=-1) == y).sum())
                total += int(y.numel())
        pl_module.log(EPOCH_TEST_ACC, correct / max(total, 1), on_epoch=True)
