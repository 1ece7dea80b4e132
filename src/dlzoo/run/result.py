"""A finished run for a notebook: its metrics, its history, its model and ``predict``.

:func:`load` (``dlzoo.load``) opens any run directory; ``dlzoo.fit``
(:mod:`dlzoo.run.notebook`) returns the same :class:`Result` for the run it trained.
Everything is read from the directory, so a result loaded later, in another process,
is the result ``fit`` returned: the metrics from ``metrics.json``, the curves from
``history.csv``, and the model rebuilt from the best checkpoint (the last one where
there is no best) when it is first asked for. :func:`compare` puts several results
side by side, each beside its baselines.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlzoo.config.layout import METRICS_FILE
from dlzoo.run.artefacts import load_run_config
from dlzoo.run.curves import curves_figure, default_metrics, history_files, run_histories
from dlzoo.run.report import HEADLINE, baseline_label

if TYPE_CHECKING:
    import pandas as pd
    import torch
    from matplotlib.figure import Figure


class Result:
    """A run directory, read for a notebook.

    Attributes:
        run_dir: the run directory (absolute).
        metrics: ``metrics.json``: the best checkpoint's ``val`` and ``test`` metrics
            beside the baselines, ``best_epoch``, ``epochs``, ``fit_seconds``, ...
            (empty for a run that has not finished).

    Args:
        run_dir: a directory that ``dlzoo-train`` or ``dlzoo.fit`` wrote.

    Raises:
        ConfigError: ``run_dir`` is not a run directory.
    """

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir).resolve()
        self.config = load_run_config(self.run_dir)  # fails on a folder that is no run
        path = self.run_dir / METRICS_FILE
        self.metrics: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
        self._run: Any = None

    @property
    def val(self) -> dict[str, float]:
        """The best checkpoint's validation metrics, e.g. ``{"val/acc": 0.97, ...}``."""
        return dict(self.metrics.get("val", {}))

    @property
    def test(self) -> dict[str, float]:
        """The best checkpoint's test metrics and the baselines beside them."""
        return dict(self.metrics.get("test", {}))

    @property
    def history(self) -> pd.DataFrame:
        """``history.csv``: a row per epoch (``epoch``, ``step``, ``lr``, ``seconds``
        and every logged metric); a cross-validated run's folds one after another with
        a ``fold`` column; empty for a run that trained nothing."""
        import pandas as pd

        files = history_files(self.run_dir)
        if not files:
            return pd.DataFrame()
        if files[0][0] is None:
            return pd.read_csv(files[0][1])
        frames = [pd.read_csv(path).assign(fold=fold) for fold, path in files]
        return pd.concat(frames, ignore_index=True)

    @property
    def run(self) -> Any:
        """The run rebuilt from its directory and checkpoint, in eval mode, without a
        Trainer (:func:`dlzoo.run.rebuild.rebuild`); built on first use."""
        if self._run is None:
            from dlzoo.run.rebuild import rebuild

            self._run = rebuild(self.run_dir, trainer=False)
        return self._run

    @property
    def task(self) -> Any:
        """The trained LightningModule (best checkpoint, eval mode)."""
        return self.run.task

    @property
    def net(self) -> torch.nn.Module:
        """The trained net, a plain ``nn.Module`` (best checkpoint, eval mode)."""
        return self.run.net

    @property
    def datamodule(self) -> Any:
        """The datamodule with the fitted preprocessing (class names, scalers); it has
        read no data."""
        return self.run.datamodule

    def predict(self, inputs: Any, batch_size: int = 256) -> torch.Tensor:
        """The trained model on new raw inputs, preprocessed as in training.

        The same numbers as ``dlzoo-predict`` for the same input
        (:func:`dlzoo.run.predict.read_inputs`).

        Args:
            inputs: a path to a file or folder as ``dlzoo-predict`` takes it (images, a
                CSV series, a ``.npy`` of sequences, texts, a graph folder); or in
                memory: images as an array or tensor in the data's own units (the
                digits' 0 .. 16, 0 .. 255 for the others), a series' last ``window``
                values, UCR sequences, one string or a list of strings.
            batch_size: inputs per forward pass.

        Returns:
            What the task predicts: per-class probabilities (N, K); a forecast (N,
            horizon, ...) in the series' own units; embeddings; anomaly scores.

        Shapes:
            - images: (N, H, W) or (N, C, H, W) -> (N, K)
            - a series: (T, F) or (T,) with T >= window -> (1, horizon, ...)
            - sequences: (N, C, T) -> (N, K)

        Raises:
            DataError: inputs of the wrong kind or shape, naming what the run takes.
        """
        from dlzoo.run.predict import predict_tensors, read_inputs

        given = read_inputs(self.datamodule, inputs)
        return predict_tensors(self.task, given.inputs, int(batch_size))

    def plot(self, metrics: Sequence[str] | None = None) -> Figure:
        """The learning curves from :attr:`history`: a panel per metric, its training
        and validation curves together, against the epoch.

        Args:
            metrics: metric names, each matching a column (``lr``) or every stage's
                column (``loss``: ``train/loss`` and ``val/loss``); by default the loss
                and the optimised metric.

        Returns:
            The figure, made without pyplot, so a notebook shows it once, as the
            cell's value (``display(fig)`` elsewhere in a cell); save it with
            ``fig.savefig(path)``. The run's ``figures/learning_curves.png`` is the
            default one.
        """
        names = list(metrics) if metrics is not None else self._default_metrics()
        return curves_figure(run_histories(self.run_dir), names, self.run_dir.name)

    def _default_metrics(self) -> list[str]:
        """``loss`` and the optimised metric's name (``acc`` of ``val/acc``)."""
        return default_metrics(self.config.get("optimized_metric"))

    def __repr__(self) -> str:
        name = self.metrics.get("optimized_metric")
        value = self.metrics.get("optimized_value")
        shown = f", {name}={value:.4g}" if isinstance(value, int | float) else ""
        return f"Result({str(self.run_dir)!r}{shown})"


def load(run_dir: str | Path) -> Result:
    """A finished run's :class:`Result`: its metrics, history, model and ``predict``.

    Args:
        run_dir: the directory that ``dlzoo-train`` printed or ``dlzoo.fit`` returned.

    Raises:
        ConfigError: ``run_dir`` is not a run directory.
    """
    return Result(run_dir)


def compare(
    results: Mapping[str, Result] | Sequence[Result], metrics: Sequence[str] | None = None
) -> pd.DataFrame:
    """Results side by side: a row per run, each metric beside the baselines.

    The columns: each run's optimised validation metric (what a choice between the runs
    may rest on), the test metrics, the baselines the runs scored on the same test
    split (``baseline logreg_acc``, ...), a cross-validated run's standard deviations
    (``test/acc std``, ``baseline logreg_acc std``), then ``best_epoch``, ``epochs``,
    ``fit_s`` and a cross-validated run's ``folds``. What a run did not report is NaN.

    Args:
        results: runs by label (``{"[16]": small, "[256,128]": wide}``), or a list
            (labelled by their run directories' names).
        metrics: the test metrics to show, without ``test/`` (``["acc", "mase"]``); by
            default those of the result line (:data:`dlzoo.run.report.HEADLINE`) that
            any run reported.

    Returns:
        A DataFrame indexed by label, in the given order.
    """
    import pandas as pd

    named = dict(results) if isinstance(results, Mapping) else {r.run_dir.name: r for r in results}
    tests = {label: r.test for label, r in named.items()}
    reported = [n for n in HEADLINE if any(f"test/{n}" in t for t in tests.values())]
    shown = reported if metrics is None else list(metrics)
    rows = {}
    for label, result in named.items():
        payload, test = result.metrics, tests[label]
        row: dict[str, Any] = {}
        name = payload.get("optimized_metric")
        if name and isinstance(payload.get("optimized_value"), int | float):
            row[name] = float(payload["optimized_value"])
        std = payload.get("test_std") or {}
        for key in [f"test/{m}" for m in shown] + [k for k in test if "baseline_" in k]:
            column = f"baseline {baseline_label(key)}" if "baseline_" in key else key
            row[column] = test.get(key, math.nan)
            if key in std:
                row[f"{column} std"] = std[key]
        if "cv_folds" in payload:
            row["folds"] = payload["cv_folds"]
        row["best_epoch"] = payload.get("best_epoch")
        row["epochs"] = payload.get("epochs")
        row["fit_s"] = payload.get("fit_seconds")
        rows[label] = row
    # from_dict(orient="index") would reorder rows whose columns differ
    frame = pd.DataFrame(list(rows.values()), index=list(rows))
    return frame[sorted(frame.columns, key=_column_group)]


def _column_group(column: str) -> int:
    """Where :func:`compare` puts a column: validation, test, baselines, the rest
    (whichever run brought it in)."""
    return next(
        i
        for i, prefix in enumerate(("val/", "test/", "baseline ", ""))
        if column.startswith(prefix)
    )
