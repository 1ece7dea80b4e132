"""A run's ``figures/*.png``, written once at its end, after the best checkpoint is scored.

- ``learning_curves.png``: the loss and the optimised metric per epoch, each stage's
  curve, from ``history.csv`` (:mod:`dlzoo.run.curves`);
- the figures the figure callbacks drew for the best checkpoint's validation and test
  runs (confusion matrix, forecast windows, reconstructions, latent scatter, attention,
  the graph, ...), kept as pixels by :class:`dlzoo.callbacks.figure_files.FigureFiles`.

An MLflow logger gets the same files as artifacts, under ``figures/``. Rank zero writes;
the other processes of a distributed run write nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dlzoo.config.layout import FIGURES_DIR

LEARNING_CURVES = "learning_curves.png"


def learning_curves(run_dir: str | Path, optimized_metric: str | None) -> Path | None:
    """Write ``run_dir/figures/learning_curves.png`` from the run's ``history.csv`` (a
    cross-validated run: a curve per fold); ``None`` when the run has no epoch to draw.

    Args:
        run_dir: the run directory.
        optimized_metric: e.g. ``val/acc``: its panel is drawn beside the loss.
    """
    from dlzoo.callbacks.drawing import save_figure
    from dlzoo.run.curves import curves_figure, default_metrics, run_histories

    run_dir = Path(run_dir)
    histories = run_histories(run_dir)
    if not any(columns.get("epoch") for _, columns in histories):
        return None  # nothing trained (train=false, a net without parameters)
    fig = curves_figure(histories, default_metrics(optimized_metric), run_dir.name)
    return save_figure(fig, run_dir / FIGURES_DIR / LEARNING_CURVES)


def write_figures(run: Any) -> list[Path]:
    """Write the run's ``figures/`` (see the module docstring) and log them to MLflow.

    Args:
        run: a built :class:`dlzoo.run.build.Run`, fitted and scored (not imported:
            the build imports cross-validation, which imports this module).

    Returns:
        The PNG files written.
    """
    from dlzoo.callbacks.figure_files import FigureFiles

    trainer = run.trainer
    if not trainer.is_global_zero:
        return []
    paths = []
    curves = learning_curves(run.output_dir, run.cfg.get("optimized_metric"))
    if curves is not None:
        paths.append(curves)
    for callback in trainer.callbacks:
        if isinstance(callback, FigureFiles):
            paths += callback.write()
    log_artifacts(trainer.loggers, paths)
    return paths


def log_artifacts(loggers: Sequence[Any], paths: Sequence[Path]) -> None:
    """Log files as artifacts of every MLflow logger's run, under ``figures/``.

    Args:
        loggers: the run's loggers; those that are not MLflow's are left alone.
        paths: the files.
    """
    from lightning.pytorch.loggers import MLFlowLogger  # mlflow itself is not imported

    for logger in loggers:
        if not isinstance(logger, MLFlowLogger):
            continue
        for path in paths:
            logger.experiment.log_artifact(logger.run_id, str(path), artifact_path=FIGURES_DIR)
