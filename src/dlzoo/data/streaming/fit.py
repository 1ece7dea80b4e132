"""The fitted preprocessing of a streamed dataset, in one pass over its training split.

:class:`OnePassScaler` accumulates, per channel, the count, mean and sum of squared
deviations (Chan et al.'s pairwise update, in float64: no catastrophic cancellation
as with a plain sum of squares), the minimum and the maximum, batch by batch; for a
forecasting source also the MASE scale (the mean absolute one-step change of each
target over the training steps, the last step of one batch differenced against the
first of the next). Memory: a few numbers per channel, whatever the dataset's size.
The result is an :class:`~dlzoo.data.preprocess.AffineScaler`, the same class (and the
same zero-scale rule) the in-memory datamodules fit, so the two agree to float64
rounding on the same training samples.
"""

from __future__ import annotations

import numpy as np

from dlzoo.data.preprocess import SCALER_KINDS, AffineScaler

__all__ = ["OnePassScaler"]


class OnePassScaler:
    """Per-channel statistics over batches of one split, for an :class:`AffineScaler`.

    Args:
        channels: C.
        channel_axis: the channel axis of one *sample* (e.g. 0 for (C, H, W) images,
            -1 for (steps, F) series rows); batches add the sample axis in front.
        kind: the scaler to fit (one of ``standard``, ``minmax``, ``none``).
        targets: how many leading channels are forecast targets whose MASE scale is
            accumulated (0: none).

    Shapes:
        - each batch given to :meth:`update`: (N, ...) with C entries on ``channel_axis``
          of a sample (for series rows: (k, F), the steps in time order)
    """

    def __init__(self, channels: int, channel_axis: int, kind: str, targets: int = 0) -> None:
        if kind not in SCALER_KINDS:
            raise ValueError(f"scaler kind {kind!r} is not one of {SCALER_KINDS}")
        self.channels, self.channel_axis, self.kind, self.targets = (
            channels, channel_axis, kind, targets
        )  # fmt: skip
        self.count = 0
        self.mean = np.zeros(channels)
        self.m2 = np.zeros(channels)
        self.low = np.full(channels, np.inf)
        self.high = np.full(channels, -np.inf)
        self.abs_change = np.zeros(targets)
        self.steps = 0  # for the MASE scale: steps seen in time order
        self._last: np.ndarray | None = None

    def _by_channel(self, batch: np.ndarray, sample_axes: int) -> np.ndarray:
        """``batch`` as (values, C) float64: channels last, everything else flattened."""
        axis = self.channel_axis % sample_axes + (batch.ndim - sample_axes)
        return np.moveaxis(batch, axis, -1).reshape(-1, self.channels).astype(np.float64)

    def update(self, batch: np.ndarray, sample_axes: int | None = None) -> None:
        """Add a batch of samples (or, for series rows, of consecutive steps).

        Args:
            batch: the values.
            sample_axes: the dimensions of one sample (default: ``batch.ndim - 1``).
        """
        values = self._by_channel(batch, batch.ndim - 1 if sample_axes is None else sample_axes)
        n = len(values)
        if not n:
            return
        mean = values.mean(axis=0)
        m2 = np.square(values - mean).sum(axis=0)
        total = self.count + n
        delta = mean - self.mean
        # Chan, Golub & LeVeque (1979): merge two partial means and sums of squares
        self.m2 += m2 + np.square(delta) * self.count * n / total
        self.mean += delta * n / total
        self.count = total
        self.low = np.minimum(self.low, values.min(axis=0))
        self.high = np.maximum(self.high, values.max(axis=0))
        if self.targets:
            self._update_change(values[:, : self.targets])

    def _update_change(self, steps: np.ndarray) -> None:
        if self._last is not None:
            steps = np.concatenate([self._last[None], steps])
            self.steps -= 1  # the carried step is counted once
        self.abs_change += np.abs(np.diff(steps, axis=0)).sum(axis=0)
        self.steps += len(steps)
        self._last = steps[-1].copy()

    def scaler(self) -> AffineScaler:
        """The fitted scaler (offset / scale as :meth:`AffineScaler.fit` computes them)."""
        if self.kind == "none":
            return AffineScaler("none", np.zeros(self.channels), np.ones(self.channels))
        if not self.count:
            raise ValueError("no values were seen: nothing to fit")
        if self.kind == "minmax":
            offset, scale = self.low.copy(), self.high - self.low
        else:
            offset, scale = self.mean.copy(), np.sqrt(self.m2 / self.count)
        scale = np.where(scale > 1e-12 * np.maximum(1.0, np.abs(offset)), scale, 1.0)
        return AffineScaler(self.kind, offset, scale)

    def mase_scale(self) -> list[float]:
        """Per target, the mean absolute one-step change over the steps seen."""
        return [float(v) for v in self.abs_change / max(1, self.steps - 1)]
