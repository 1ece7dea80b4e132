"""Figures for TensorBoard, drawn from what the task already accumulated."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.trainer.states import TrainerFn


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

    Drawn when a validation run ends (``trainer.validate``: the pipeline validates the
    best checkpoint after fit) and when a test run ends; during fit only every
    ``every_n_epochs`` epochs, because drawing costs more than a small model's epoch.
    The task must expose ``val_confmat`` / ``test_confmat`` (torchmetrics
    ``ConfusionMatrix``); class names come from the datamodule's ``class_names``.
    Without a TensorBoard logger it does nothing.

    Args:
        every_n_epochs: also draw the validation matrix every this many epochs of fit
            (0: never during fit).
    """

    def __init__(self, every_n_epochs: int = 0) -> None:
        self.every_n_epochs = every_n_epochs

    def _draw(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        writers = [lg.experiment for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)]
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
        final = trainer.state.fn == TrainerFn.VALIDATING
        due = self.every_n_epochs > 0 and (trainer.current_epoch + 1) % self.every_n_epochs == 0
        if final or due:
            self._draw(trainer, pl_module, "val")

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._draw(trainer, pl_module, "test")
