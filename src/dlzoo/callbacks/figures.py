"""Figures for TensorBoard, drawn from what the task already accumulated."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.trainer.states import TrainerFn


def new_figure(**kwargs: Any) -> Any:
    """An empty matplotlib ``Figure`` made without pyplot.

    Drawing it chooses no backend and switches none: a notebook keeps its inline
    plots, a desktop session opens no window, a worker thread touches no GUI, and no
    figure stays open in pyplot. (matplotlib is imported here: only runs that draw
    figures pay for it.)

    Args:
        kwargs: ``Figure``'s arguments, e.g. ``figsize=(6, 4)``.
    """
    from matplotlib.figure import Figure

    return Figure(**kwargs)


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
    counts = matrix.detach().cpu().numpy()
    n = counts.shape[0]
    names = class_names if class_names and len(class_names) == n else [str(i) for i in range(n)]
    size = max(4.0, 0.45 * n + 2.0)
    fig = new_figure(figsize=(size, size))
    ax = fig.subplots()
    ax.imshow(counts, cmap="Blues")
    ax.set(
        xticks=range(n),
        yticks=range(n),
        xticklabels=names,
        yticklabels=names,
        xlabel="predicted",
        ylabel="true",
    )
    for label in ax.get_xticklabels():
        label.set(rotation=45, ha="right")
    threshold = counts.max() / 2 if counts.size else 0
    for i in range(n):
        for j in range(n):
            color = "white" if counts[i, j] > threshold else "black"
            ax.text(j, i, int(counts[i, j]), ha="center", va="center", color=color, fontsize=8)
    fig.tight_layout()
    return fig


def _writers(trainer: L.Trainer) -> list[Any]:
    """The TensorBoard ``SummaryWriter`` of every TensorBoard logger of the run."""
    return [lg.experiment for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)]


def _log_figure(trainer: L.Trainer, tag: str, fig: Any) -> None:
    for writer in _writers(trainer):
        writer.add_figure(tag, fig, global_step=trainer.global_step)


class _StageFigure(L.Callback):
    """When to draw: for the final validation run (the pipeline's ``trainer.validate`` of
    the best checkpoint), at every test run, and during fit every ``every_n_epochs``
    epochs (0: never). Subclasses implement ``_draw(trainer, pl_module, stage)``.
    """

    def __init__(self, every_n_epochs: int = 0) -> None:
        self.every_n_epochs = every_n_epochs

    def _draw(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        raise NotImplementedError

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        final = trainer.state.fn == TrainerFn.VALIDATING
        due = self.every_n_epochs > 0 and (trainer.current_epoch + 1) % self.every_n_epochs == 0
        if final or due:
            self._draw(trainer, pl_module, "val")

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._draw(trainer, pl_module, "test")


class ConfusionMatrixFigure(_StageFigure):
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

    def _draw(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        metric = getattr(pl_module, f"{stage}_confmat", None)
        if not _writers(trainer) or metric is None or not metric.update_called:
            return
        names = getattr(trainer.datamodule, "class_names", None)
        _log_figure(
            trainer, f"{stage}/confusion_matrix", confusion_matrix_figure(metric.compute(), names)
        )


def forecast_figure(examples: dict[str, torch.Tensor], target: int = 0) -> Any:
    """Draw a few forecast windows: history, truth, the net's forecast and the naive one.

    Args:
        examples: ``history``, ``truth``, ``forecast`` and ``naive`` tensors in the
            series' units (as :class:`dlzoo.tasks.forecasting.ForecastTask` keeps them).
        target: which target series to draw.

    Shapes:
        history: (N, window, C); truth, forecast, naive: (N, horizon, C).

    Returns:
        A matplotlib figure with one panel per window.
    """
    history = examples["history"][..., target].numpy()
    n, window = history.shape
    horizon = examples["truth"].shape[1]
    past, ahead = range(-window + 1, 1), range(horizon + 1)
    fig = new_figure(figsize=(3.2 * n, 2.8))
    axes = fig.subplots(1, n, squeeze=False, sharey=True)
    for i, ax in enumerate(axes[0]):
        ax.plot(past, history[i], color="0.4", label="history")
        for key, style in (("truth", "k.-"), ("forecast", "C1.-"), ("naive", "C0x:")):
            # each line starts at the last observed value, so it joins the history
            ax.plot(ahead, [history[i, -1], *examples[key][i, :, target].numpy()], style, label=key)
        ax.axvline(0, color="0.8", lw=0.8)
        ax.set_xlabel("steps from the forecast origin")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return fig


class ForecastFigure(_StageFigure):
    """Log a few forecast windows (history, truth, forecast, naive) as a TensorBoard figure.

    The task must keep them in ``examples[stage]`` (as
    :class:`dlzoo.tasks.forecasting.ForecastTask` does); with any other task, or without
    a TensorBoard logger, it does nothing.

    Args:
        every_n_epochs: also draw the validation windows every this many epochs of fit
            (0: never during fit).
    """

    def _draw(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        examples = getattr(pl_module, "examples", {}).get(stage)
        if not _writers(trainer) or not examples:
            return
        _log_figure(trainer, f"{stage}/forecast", forecast_figure(examples))
