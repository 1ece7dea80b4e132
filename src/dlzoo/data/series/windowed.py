"""Forecasting datamodules: sliding windows over a series, split chronologically.

All of them share :class:`WindowedSeriesDataModule`, which holds the whole series in
memory as one float32 ``(T, F)`` tensor and does what every forecasting dataset needs:

1. ``load()`` (per dataset) returns the values ``(T, F)``, the column names and the
   time stamps (or ``None``);
2. missing values fail with a message, or are imputed (``impute``);
3. a chronological split of the TIME STEPS: train / val / test = first 70 / next 15 /
   last 15 % by default (see :func:`chronological_bounds`);
4. a scaler (standard or min-max) fitted on the training part only, applied to all
   (:class:`~dlzoo.data.preprocess.AffineScaler`);
5. windows made inside each part only, so no window (inputs or targets) crosses a split
   boundary. Windows are views of the part (``Tensor.unfold``): an input window of
   sample ``i`` covers time steps ``start + i * stride .. + window - 1`` of its part and
   its targets the ``horizon`` steps right after it. Nothing is copied per window;
   :class:`~dlzoo.data.loaders.TensorBatchLoader` gathers a chunk of batches at a time;
6. the fitted state (columns, scaler, MASE scale) travels with the model, and
   ``predict_inputs(path)`` reads the last ``window`` rows of a CSV file with it.

A batch is ``(x, y)``: x (B, window, F) with the target columns first, y
(B, horizon, C) the next ``horizon`` values of the C target columns, both scaled.

Datasets (offline), with the column names that a prediction CSV uses (value column;
time column, optional):

- ``sunspots``: yearly mean sunspot numbers 1700-2008 (309 values), statsmodels;
  ``SUNACTIVITY``; ``year``.
- ``airline``: monthly airline passengers 1949-1960 (144 values), sktime;
  ``passengers``; ``month``.
- ``co2``: weekly Mauna Loa CO2 1958-2001 (2284 values, 59 missing), statsmodels;
  ``co2``; ``date``.
- ``series_csv``: your own CSV file, one or more numeric columns; the config's
  ``value_columns``; its ``time_column``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from dlzoo.data.base import PredictInputs, value_array
from dlzoo.data.memory import InMemoryDataModule, require_config
from dlzoo.data.options import check_fractions, positive_int
from dlzoo.data.preprocess import AffineScaler, AffineTransform
from dlzoo.data.readers import missing_column, numeric_columns, read_csv, stamp_text, time_stamps
from dlzoo.data.series.windows import (
    IMPUTE,
    SCALERS,
    chronological_bounds,
    impute_gaps,
    naive_mae,
    sliding_windows,
    where_steps,
)
from dlzoo.data.state import get_field, number_list, string_list
from dlzoo.errors import ConfigError, DataError


class WindowedSeriesDataModule(InMemoryDataModule):
    """Base class: one in-memory series, chronological split, windows inside each part.

    Subclasses implement :meth:`load`. ``setup`` loads once; later calls return at once,
    whatever the stage.

    After ``prepare_data()`` and ``setup()``, or after ``load_fitted_state()`` alone:

    - ``net_kwargs()``: ``input_size`` (F), ``output_size`` (C), ``window``, ``horizon``;
    - ``task_kwargs()``: ``target_offset``, ``target_scale`` (original =
      scaled * scale + offset) and ``mase_scale`` (the mean absolute one-step change of
      each target over the training part, in original units: the MASE denominator);
    - ``columns``: the column names in x's order (targets first), ``target_names`` the
      first C of them, ``time_column`` the time stamps' name (or ``None``);
      ``input_scaler`` the fitted scaler, ``offset`` / ``scale`` its (F,) statistics;
    - ``predict_inputs(path)``, ``input_transform()`` and ``inverse_transform_targets``.

    After ``setup()`` only:

    - ``split_bounds``: ``{"train", "val", "test"}`` -> ``(start, stop)`` time steps of
      each part (after ``impute="drop"``, steps of the kept rows);
      :meth:`save_split` writes them with the scaler to an ``.npz`` file;
    - ``time_index``: ``{"train", "val", "test"}`` -> each part's time stamps, or
      ``None`` when the dataset has none;
    - ``parts``: stage -> the scaled part, (T_part, F) float32, contiguous (row ranges
      of one scaled copy of the series; with ``scaler="none"`` and a float32 series,
      of ``load()``'s own array); ``tensors``: stage -> ``(x, y)`` window views of it.

    The fitted state: ``name``, ``columns``, ``target_columns`` (the first C of them),
    ``time_column``, ``window``, ``horizon``, ``scaler`` (see :meth:`AffineScaler.state
    <dlzoo.data.preprocess.AffineScaler.state>`) and ``mase_scale`` (C floats).

    The loaders are :class:`~dlzoo.data.loaders.TensorBatchLoader` s, which gather at
    most ``CHUNK_BYTES`` at once: windows overlap, so their copies outgrow the series.

    Args:
        window: input time steps per sample.
        horizon: time steps to forecast after each window.
        stride: steps between the starts of consecutive windows (1: every window).
        batch_size: windows per training batch.
        eval_batch_size: windows per val / test batch; ``None`` is 4 x ``batch_size``.
        seed: seeds the training batches' order. ``None`` means 0 (every process of a
            distributed run must draw the same order).
        val_fraction: share of the time steps for validation (after the training part).
        test_fraction: share of the time steps for testing (the last steps).
        scaler: ``standard`` (training mean / std), ``minmax`` (training min / range)
            or ``none``, per column.
        impute: what to do with missing values: ``None`` (fail and say where they
            are), ``interpolate`` (linear in time), ``ffill`` (carry the last value
            forward) or ``drop`` (remove those time steps).
        target_columns: the columns to forecast (moved to the front of x); ``None``
            forecasts every column.

    Shapes:
        - a batch: ``(x, y)`` with x: (B, window, F) and y: (B, horizon, C), float32
    """

    name: str = "series"

    def __init__(
        self,
        window: int,
        horizon: int = 1,
        stride: int = 1,
        batch_size: int = 32,
        eval_batch_size: int | None = None,
        seed: int | None = 0,
        val_fraction: float = 0.15,
        test_fraction: float = 0.15,
        scaler: str = "standard",
        impute: str | None = None,
        target_columns: Sequence[str] | None = None,
    ) -> None:
        super().__init__(batch_size, eval_batch_size, seed)
        self.window = positive_int("window", window)
        self.horizon = positive_int("horizon", horizon)
        self.stride = positive_int("stride", stride)
        self.val_fraction, _ = check_fractions(val_fraction, test_fraction)
        self.test_fraction = float(test_fraction)
        if scaler not in SCALERS:
            raise ConfigError(f"data.scaler={scaler!r} must be one of {', '.join(SCALERS)}")
        self.scaler = scaler
        if impute is not None and impute not in IMPUTE:
            raise ConfigError(f"data.impute={impute!r} must be null or one of {'|'.join(IMPUTE)}")
        self.impute = impute
        if isinstance(target_columns, str):
            target_columns = [target_columns]
        if target_columns is not None and len(target_columns) == 0:
            raise ConfigError("data.target_columns=[] names no target: list some or use null")
        self.target_columns = None if target_columns is None else list(target_columns)

        self.columns: list[str] = []
        self.target_names: list[str] = []
        # the time stamps' name: a config value for CSV files, else fitted
        self.time_column: str | None = None
        self.mase_scale: np.ndarray | None = None
        self.split_bounds: dict[str, tuple[int, int]] = {}
        self.time_index: dict[str, Any] | None = None
        self.parts: dict[str, Tensor] = {}

    # ------------------------------------------------------------------ loading

    def load(self) -> tuple[np.ndarray, list[str], Any | None]:
        """Read the series.

        Returns:
            ``(values, columns, time_index)``: values (T, F) float (NaN where missing),
            one name per column, and T time stamps (e.g. a pandas index) or ``None``.
        """
        raise NotImplementedError

    def _setup_once(self) -> None:
        """Load, impute, split, scale and window the series."""
        values, columns, time_index = self.load()
        values, columns = self._checked(values, columns, time_index)
        # NaN and inf propagate into the sum: the common all-finite case needs no mask
        if not np.isfinite(np.sum(values, dtype=np.float64)):
            self._check_infinite(values, time_index)
            values, time_index = self._missing(values, columns, time_index)
        values, columns, output_size = self._targets_first(values, columns)
        self.columns, self.target_names = columns, columns[:output_size]
        if time_index is not None and self.time_column is None:
            name = getattr(time_index, "name", None)
            self.time_column = None if name is None else str(name)

        self.split_bounds = self._bounds(len(values))
        train = values[slice(*self.split_bounds["train"])]
        self.input_scaler = AffineScaler.fit(train, channel_axis=1, kind=self.scaler)
        self.mase_scale = naive_mae(train[:, :output_size])
        series = torch.from_numpy(self.input_scaler.transform(values, channel_axis=1, copy=False))
        del values, train  # a float64 copy made by _checked or impute_gaps can go now

        for stage_name, (start, stop) in self.split_bounds.items():
            part = series[start:stop]  # a row range of a C-contiguous tensor: contiguous
            self.parts[stage_name] = part
            self.tensors[stage_name] = sliding_windows(
                part, self.window, self.horizon, self.stride, output_size
            )
        if time_index is not None:
            self.time_index = {s: time_index[a:b] for s, (a, b) in self.split_bounds.items()}

    def _checked(
        self, values: np.ndarray, columns: Sequence[str], time_index: Any | None
    ) -> tuple[np.ndarray, list[str]]:
        """Catch a loader bug or a broken file before it becomes a shape error in a net."""
        values = np.asarray(values)
        if values.ndim == 1:
            values = values[:, None]
        if values.ndim != 2 or values.shape[1] != len(columns):
            raise DataError(
                f"data '{self.name}' loaded values of shape {values.shape} for "
                f"{len(columns)} column(s); expected (T, {len(columns)})"
            )
        if time_index is not None and len(time_index) != len(values):
            raise DataError(
                f"data '{self.name}' loaded {len(time_index)} time stamps for "
                f"{len(values)} time steps"
            )
        if values.dtype != np.float32:
            values = np.asarray(values, dtype=np.float64)  # a copy only when not float
        return values, [str(c) for c in columns]

    def _check_infinite(self, values: np.ndarray, time_index: Any | None) -> None:
        infinite = np.isinf(values)
        if infinite.any():
            steps = np.flatnonzero(infinite.any(axis=1))
            raise DataError(
                f"data '{self.name}' has {int(infinite.sum())} infinite value(s), first at "
                f"{where_steps(steps, time_index)}: replace them with valid numbers or NaN"
            )

    def _missing(
        self, values: np.ndarray, columns: list[str], time_index: Any | None
    ) -> tuple[np.ndarray, Any | None]:
        missing = np.isnan(values)
        if not missing.any():
            return values, time_index
        counts = missing.sum(axis=0)
        where = ", ".join(f"'{columns[c]}' ({counts[c]})" for c in np.flatnonzero(counts))
        steps = np.flatnonzero(missing.any(axis=1))
        if self.impute is None:
            raise DataError(
                f"data '{self.name}' has {int(counts.sum())} missing values (NaN) in column "
                f"{where}, first at {where_steps(steps, time_index)}: "
                "set data.impute=interpolate|ffill|drop"
            )
        empty = [columns[c] for c in np.flatnonzero(counts == len(values))]
        if empty and self.impute != "drop":
            raise DataError(
                f"data '{self.name}' column '{empty[0]}' has no values at all: "
                "remove it from the value columns"
            )
        values, keep = impute_gaps(values, self.impute)
        if keep is not None and time_index is not None:
            time_index = time_index[keep]
        return values, time_index

    def _targets_first(
        self, values: np.ndarray, columns: list[str]
    ) -> tuple[np.ndarray, list[str], int]:
        if self.target_columns is None:
            return values, columns, len(columns)
        unknown = [c for c in self.target_columns if c not in columns]
        if unknown:
            raise ConfigError(
                f"data.target_columns names '{unknown[0]}', which data '{self.name}' does "
                f"not have; its columns are {', '.join(columns)}"
            )
        targets = list(dict.fromkeys(self.target_columns))
        order = [columns.index(c) for c in targets]
        order += [i for i in range(len(columns)) if i not in order]
        if order != list(range(len(columns))):
            values = values[:, order]
        return values, [columns[i] for i in order], len(targets)

    def _bounds(self, length: int) -> dict[str, tuple[int, int]]:
        need = self.window + self.horizon
        if need > length:
            raise ConfigError(
                f"data '{self.name}': window + horizon = {self.window} + {self.horizon} = "
                f"{need} is longer than the whole series ({length} steps): set a smaller "
                "data.window / data.horizon"
            )
        bounds = chronological_bounds(length, self.val_fraction, self.test_fraction)
        for stage_name, (start, stop) in bounds.items():
            if stop - start < need:
                fix = (
                    "smaller data.val_fraction / data.test_fraction"
                    if stage_name == "train"
                    else f"a larger data.{stage_name}_fraction"
                )
                raise ConfigError(
                    f"data '{self.name}': the {stage_name} part has {stop - start} time steps, "
                    f"fewer than window + horizon = {need}: set a smaller data.window / "
                    f"data.horizon or {fix}"
                )
        return bounds

    # ------------------------------------------------------------------ facts

    @property
    def offset(self) -> np.ndarray | None:
        """The scaler's per-column offsets (F,), float64; ``None`` before fitting."""
        return None if self.input_scaler is None else self.input_scaler.offset

    @property
    def scale(self) -> np.ndarray | None:
        """The scaler's per-column scales (F,), float64; ``None`` before fitting."""
        return None if self.input_scaler is None else self.input_scaler.scale

    def net_kwargs(self) -> dict[str, Any]:
        """What a net needs to know about the input.

        Returns:
            ``input_size`` (F, columns of x), ``output_size`` (C, columns of y),
            ``window`` and ``horizon``.
        """
        self._require_fitted()
        return {
            "input_size": len(self.columns),
            "output_size": len(self.target_names),
            "window": self.window,
            "horizon": self.horizon,
        }

    def task_kwargs(self) -> dict[str, Any]:
        """What the forecasting task needs: the targets' scaler and MASE scale.

        Returns:
            ``target_offset`` and ``target_scale`` (C floats each; original =
            scaled * scale + offset) and ``mase_scale`` (C floats, original units).
        """
        self._require_fitted()
        targets = self.input_scaler.first(len(self.target_names)).state()
        return {
            "target_offset": targets["offset"],
            "target_scale": targets["scale"],
            "mase_scale": [float(v) for v in self.mase_scale],
        }

    def inverse_transform_targets(self, y: Tensor) -> Tensor:
        """Scaled targets (or forecasts) back to the original units.

        Shapes:
            - y: (..., C) -> (..., C)
        """
        self._require_fitted()
        return self.input_scaler.first(len(self.target_names)).inverse(y)

    def split_record(self) -> dict[str, Any]:
        """The split and the preprocessing statistics, for ``save_split``."""
        self._require_setup()
        return dict(
            **{s: np.asarray(b, dtype=np.int64) for s, b in self.split_bounds.items()},
            offset=self.offset,
            scale=self.scale,
            mase_scale=self.mase_scale,
            columns=np.asarray(self.columns, dtype=str),
            # output_size; the split.npz key predates the vocabulary (see dlzoo.data.base)
            n_targets=len(self.target_names),
            scaler=self.scaler,
            window=self.window,
            horizon=self.horizon,
            stride=self.stride,
            seed=self.seed,
        )

    # ------------------------------------------------------------------ fitted state

    def fitted_state(self) -> dict[str, Any]:
        """Columns, window, scaler and MASE scale (see the class doc)."""
        self._require_fitted()
        return {
            "name": self.name,
            "columns": list(self.columns),
            "target_columns": list(self.target_names),
            "time_column": self.time_column,
            "window": self.window,
            "horizon": self.horizon,
            "scaler": self.input_scaler.state(),
            "mase_scale": [float(v) for v in self.mase_scale],
        }

    def _apply_fitted_state(self, state: dict[str, Any]) -> None:
        owner = self.name
        for key in ("window", "horizon"):
            require_config(owner, key, get_field(state, key, int, owner), getattr(self, key))
        scaler = AffineScaler.from_state(get_field(state, "scaler", dict, owner), owner)
        require_config(owner, "scaler", scaler.kind, self.scaler)
        columns = string_list(state, "columns", owner)
        targets = string_list(state, "target_columns", owner)
        if columns[: len(targets)] != targets or len(columns) != scaler.channels:
            raise DataError(
                f"the fitted state of data '{owner}' has columns {columns}, target_columns "
                f"{targets} and {scaler.channels} scaler channels: the targets must be the "
                "first columns, one scaler channel per column"
            )
        if self.target_columns is not None:
            require_config(
                owner, "target_columns", targets, list(dict.fromkeys(self.target_columns))
            )
        time_column = get_field(state, "time_column", (str, type(None)), owner)
        if self.time_column is not None:
            require_config(owner, "time_column", time_column, self.time_column)
        self._check_columns(columns)
        self.mase_scale = np.asarray(number_list(state, "mase_scale", owner, len(targets)))
        self.columns, self.target_names, self.time_column = columns, targets, time_column
        self.input_scaler = scaler

    def _check_columns(self, columns: list[str]) -> None:
        """A DataError where the config names other columns (CSV files)."""

    # ------------------------------------------------------------------ prediction

    def predict_inputs(self, path: str | Path) -> PredictInputs:
        """The window to forecast from: the last ``window`` rows of a CSV file.

        The file has a header row and the training's value columns (``columns``, any
        order; other columns are ignored), in raw units, one row per time step in time
        order; a ``time_column`` is optional (with it, the rows must be in increasing
        time order). The net then forecasts the ``horizon`` steps after the last row.

        Returns:
            ``inputs = (x,)`` with x (1, window, F) float32, scaled as in training;
            ``names``: the last row's time stamp, or ``"<file> row <n>"`` without a
            time column.
        """
        self._require_fitted()
        path = Path(path)
        frame = read_csv(path, "give the CSV file of the series to forecast from")
        needs = f"it needs the training's value columns {', '.join(self.columns)}"
        for column in self.columns:
            if column not in frame.columns:
                raise missing_column(path, frame, column, needs)
        values = numeric_columns(path, frame, self.columns, "")
        name = f"{path.name} row {len(values)}"
        if self.time_column is not None and self.time_column in frame.columns:
            name = stamp_text(time_stamps(path, frame, self.time_column)[-1])
        return PredictInputs((self._last_window(values, f"CSV file {path}"),), [name])

    def predict_values(self, values: Any) -> PredictInputs:
        """The window to forecast from, in memory: the series' last ``window`` values
        in raw units, the training's ``columns`` in their order.

        Shapes:
            - values: (T, F) with F = len(columns), or (T,) for one column; T >= window
            - output: ``inputs = (x,)``, x (1, window, F) float32; ``names``
              ``["row T"]``
        """
        self._require_fitted()
        count = len(self.columns)
        expected = (
            f"the last {self.window} or more values of the series, shape (T, {count}) "
            f"(columns {', '.join(self.columns)})" + (" or (T,)" if count == 1 else "")
        )
        array = value_array(values, self.name, expected)
        if array.ndim == 1 and count == 1:
            array = array[:, None]
        if array.ndim != 2 or array.shape[1] != count:
            raise DataError(
                f"data '{self.name}' got an array of shape {array.shape}: give {expected}"
            )
        x = self._last_window(array, f"the series given to data '{self.name}'")
        return PredictInputs((x,), [f"row {len(array)}"])

    def _last_window(self, values: np.ndarray, source: str) -> Tensor:
        """The last ``window`` rows of ``values`` (raw units, no gap), scaled.

        Shapes:
            - values: (T, F) -> (1, window, F) float32

        Raises:
            DataError: fewer than ``window`` rows, or a missing value among the last ones.
        """
        if len(values) < self.window:
            raise DataError(
                f"{source} has {len(values)} data rows, fewer than the window of "
                f"{self.window}: give at least the last {self.window} time steps"
            )
        tail = values[-self.window :]
        gaps = np.flatnonzero(np.isnan(tail).any(axis=1))
        if len(gaps):
            first = len(values) - self.window + int(gaps[0]) + 1
            raise DataError(
                f"{source} has missing values in its last {self.window} rows (the "
                f"input window), first in data row {first}: fill them"
            )
        return torch.from_numpy(self.input_scaler.transform(tail, channel_axis=1))[None]

    def input_transform(self) -> AffineTransform:
        """The fitted scaler on (B, window, F) windows in raw units."""
        self._require_fitted()
        return self.input_scaler.module(channel_axis=2, ndim=3)
