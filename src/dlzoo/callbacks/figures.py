"""Figures for TensorBoard, drawn from what the task already accumulated."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger


def confusion_matrix_figure(matrix: torch.Tensor, class_names: list[str] | None = None) -> Any:
    """Draw a confusion matrix with counts in the cells.

    Args:
        matrix: counts, rows are true classes and columns predicted ones.
        class_names: tick labels; class indices when ``None``.

    Shapes:
        matrix: (C, C).

    Returns:
        A matplotlib figure.
    """
    # matplotlib is imported here: only runs that draw figures pay for it.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = matrix.detach().cpu().numpy()
    n = counts.shape[0]
    names = class_names if class_names and len(class_names) == n else [str(i) for i in range(n)]
    size = max(4.0, 0.45 * n + 2.0)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(counts, cmap="Blues")
    ax.set(
        xticks=range(n),
        yticks=range(n),
        xticklabels=names,
        yticklabels=names,
        xlabel="predicted",
        ylabel="true",
    )
    plt.setp(ax.get_xticklabels(), rotation=45, ha="right")
    threshold = counts.max() / 2 if counts.size else 0
    for i in range(n):
        for j in range(n):
            color = "white" if counts[i, j] > threshold else "black"
            ax.text(j, i, int(counts[i, j]), ha="center", va="center", color=color, fontsize=8)
    fig.tight_layout()
    return fig


class ConfusionMatrixFigure(L.Callback):
    """Log the task's confusion matrix as a TensorBoard figure.

    Drawn for validation every ``every_n_epochs`` epochs and after the last one, and
    once for the test split. The task must expose ``val_confmat`` / ``test_confmat``
    (torchmetrics ``ConfusionMatrix``); class names come from the datamodule's
    ``class_names`` when it has them. Without a TensorBoard logger it does nothing.

    Args:
        every_n_epochs: draw the validation matrix every this many epochs (0: only
            after the last epoch).
    """

    def __init__(self, every_n_epochs: int = 10) -> None:
        self.every_n_epochs = every_n_epochs

    @staticmethod
    def _writers(trainer: L.Trainer) -> list[Any]:
        return [lg.experiment for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)]

    def _draw(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        writers = self._writers(trainer)
        metric = getattr(pl_module, f"{stage}_confmat", None)
        if not writers or metric is None or not metric.update_called:
            return
        names = getattr(trainer.datamodule, "class_names", None)
        fig = confusion_matrix_figure(metric.compute(), names)
        for writer in writers:
            writer.add_figure(f"{stage}/confusion_matrix", fig, global_step=trainer.global_step)
        import matplotlib.pyplot as plt

        plt.close(fig)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        epoch = trainer.current_epoch + 1
        due = self.every_n_epochs > 0 and epoch % self.every_n_epochs == 0
        if due or self._is_last_epoch(trainer):
            self._draw(trainer, pl_module, "val")

    @staticmethod
    def _is_last_epoch(trainer: L.Trainer) -> bool:
        return trainer.max_epochs is not None and trainer.current_epoch + 1 >= trainer.max_epochs

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Early stopping ends fit before max_epochs: draw the last validation seen.
        if not self._is_last_epoch(trainer):
            self._draw(trainer, pl_module, "val")

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._draw(trainer, pl_module, "test")
