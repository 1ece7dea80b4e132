"""Figures for TensorBoard and the run's ``figures/``, drawn from what the task already
accumulated."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.trainer.states import TrainerFn

from dlzoo.callbacks.drawing import new_figure, render
from dlzoo.callbacks.figure_files import FigureFiles


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


def _wanted(trainer: L.Trainer) -> bool:
    """Whether a figure drawn now goes anywhere: to a TensorBoard logger, or to the
    run's ``figures/`` (the best checkpoint's validation and the test run)."""
    return bool(_writers(trainer)) or FigureFiles.drawn_for(trainer)


def _log_figure(trainer: L.Trainer, tag: str, fig: Any) -> None:
    """Render ``fig`` once and hand its pixels to TensorBoard and to ``figures/``.

    Args:
        trainer: the run's Trainer (its loggers and callbacks say where figures go).
        tag: ``stage/name``, e.g. ``val/confusion_matrix``.
        fig: a matplotlib figure.
    """
    writers, files = _writers(trainer), FigureFiles.of(trainer)
    if not writers and files is None:
        return
    # one rendering for both: drawing costs far more than encoding an image
    pixels = render(fig)
    for writer in writers:
        writer.add_image(tag, pixels, global_step=trainer.global_step, dataformats="HWC")
    if files is not None:
        files.keep(tag, pixels)


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
    """Log the task's confusion matrix as a TensorBoard figure and ``confusion_matrix.png``.

    Drawn when a validation run ends (``trainer.validate``: the pipeline validates the
    best checkpoint after fit) and when a test run ends; during fit only every
    ``every_n_epochs`` epochs, because drawing costs more than a small model's epoch.
    The task must expose ``val_confmat`` / ``test_confmat`` (torchmetrics
    ``ConfusionMatrix``); class names come from the datamodule's ``class_names``.
    Without a TensorBoard logger it draws only for the run's ``figures/`` (the best
    checkpoint's validation and the test run).

    Args:
        every_n_epochs: also draw the validation matrix every this many epochs of fit
            (0: never during fit).
    """

    def _draw(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        metric = getattr(pl_module, f"{stage}_confmat", None)
        if not _wanted(trainer) or metric is None or not metric.update_called:
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
    """Log a few forecast windows (history, truth, forecast, naive) as a TensorBoard
    figure and ``forecast.png``.

    The task must keep them in ``examples[stage]`` (as
    :class:`dlzoo.tasks.forecasting.ForecastTask` does); with any other task it does
    nothing.

    Args:
        every_n_epochs: also draw the validation windows every this many epochs of fit
            (0: never during fit).
    """

    def _draw(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        examples = getattr(pl_module, "examples", {}).get(stage)
        if not _wanted(trainer) or not examples:
            return
        _log_figure(trainer, f"{stage}/forecast", forecast_figure(examples))
