"""Fitted preprocessing: one per-channel affine scaler, fitted on the training split.

What every dlzoo datamodule fits on its training split is a per-channel affine map,
``scaled = (x - offset) / scale`` (so ``original = scaled * scale + offset``):

- images: each channel's mean / std over the training images' pixels;
- forecasting: each column's mean / std (``standard``) or min / range (``minmax``) over
  the training time steps;
- UCR: each channel's mean / std over the training cases' valid (unpadded) steps.

:class:`AffineScaler` fits it, applies it to arrays, inverts it on tensors, and turns
into a plain-data :meth:`~AffineScaler.state` and back; :meth:`~AffineScaler.module` is
the same map as a ``torch.nn.Module`` (:class:`AffineTransform`) to put in front of a
net. Axis 0 of an array is always its samples (or time steps), never its channels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from dlzoo.data.state import get_field, number_list
from dlzoo.errors import DataError

__all__ = [
    "SCALER_KINDS",
    "AffineScaler",
    "AffineTransform",
    "MaskedAffineTransform",
    "row_chunks",
]

SCALER_KINDS = ("standard", "minmax", "none")
# values per chunk of the statistics and the scaling: bounds their float64 temporaries
_CHUNK_VALUES = 1 << 16


def row_chunks(array: np.ndarray, overlap: int = 0) -> list[slice]:
    """Ranges along axis 0 of about ``_CHUNK_VALUES`` values each (plus ``overlap`` rows)."""
    per_row = max(1, int(np.prod(array.shape[1:])))
    rows = max(1, _CHUNK_VALUES // per_row)
    return [slice(s, s + rows + overlap) for s in range(0, len(array) - overlap, rows)]


def _channel_axis(array: np.ndarray, channel_axis: int) -> int:
    axis = channel_axis % array.ndim
    if axis == 0:
        raise ValueError("axis 0 holds the samples: the channel axis must be another one")
    return axis


@dataclass(frozen=True)
class AffineScaler:
    """Per-channel ``scaled = (x - offset) / scale``, as fitted on a training array.

    Attributes:
        kind: how it was fitted: ``standard`` (mean / std), ``minmax`` (min / range)
            or ``none`` (offset 0, scale 1).
        offset: (C,) float64.
        scale: (C,) float64, every value > 0 (a constant channel gets 1: it is shifted,
            not blown up).
    """

    kind: str
    offset: np.ndarray
    scale: np.ndarray

    @property
    def channels(self) -> int:
        """C: the number of channels it scales."""
        return len(self.offset)

    @classmethod
    def fit(cls, array: np.ndarray, channel_axis: int = -1, kind: str = "standard") -> AffineScaler:
        """Fit on a training array: statistics over every axis but ``channel_axis``.

        Accumulated in float64, chunk by chunk: no float64 copy of the array is made.

        Args:
            array: the training data, samples on axis 0 (e.g. (N, C, H, W) or (T, F)).
            channel_axis: the axis whose entries get their own offset and scale (not 0).
            kind: one of :data:`SCALER_KINDS`.

        Shapes:
            - array: (N, ...) with C entries along ``channel_axis`` -> offset, scale: (C,)
        """
        axis = _channel_axis(array, channel_axis)
        channels = array.shape[axis]
        if kind not in SCALER_KINDS:
            raise ValueError(f"scaler kind {kind!r} is not one of {SCALER_KINDS}")
        if kind == "none":
            return cls("none", np.zeros(channels), np.ones(channels))
        others = tuple(a for a in range(array.ndim) if a != axis)
        if kind == "minmax":
            offset = array.min(axis=others).astype(np.float64)
            scale = array.max(axis=others).astype(np.float64) - offset
        else:
            offset = array.mean(axis=others, dtype=np.float64)
            shaped = _shaped(offset, axis, array.ndim)
            squares = np.zeros(channels)
            for rows in row_chunks(array):
                chunk = array[rows].astype(np.float64)
                chunk -= shaped
                squares += np.square(chunk, out=chunk).sum(axis=others)
            scale = np.sqrt(squares / (array.size // channels))
        scale = np.where(scale > 1e-12 * np.maximum(1.0, np.abs(offset)), scale, 1.0)
        return cls(kind, offset, scale)

    def transform(self, array: np.ndarray, channel_axis: int = -1, copy: bool = True) -> np.ndarray:
        """``(array - offset) / scale`` in float64, as a C-contiguous float32 array.

        Args:
            array: data in raw units, samples on axis 0.
            channel_axis: the axis of the C channels (not 0).
            copy: ``False`` lets a ``none`` scaler return a writeable C-contiguous
                float32 ``array`` itself (a forecasting series is then not copied).

        Shapes:
            - array: (N, ...) -> (N, ...) float32
        """
        axis = _channel_axis(array, channel_axis)
        if not copy and self.kind == "none" and array.dtype == np.float32 and array.flags.writeable:
            return np.ascontiguousarray(array)
        offset = _shaped(self.offset, axis, array.ndim)
        scale = _shaped(self.scale, axis, array.ndim)
        out = np.empty(array.shape, dtype=np.float32)
        for rows in row_chunks(array):
            chunk = array[rows].astype(np.float64)
            chunk -= offset
            chunk /= scale
            out[rows] = chunk
        return out

    def inverse(self, x: Tensor, channel_axis: int = -1) -> Tensor:
        """``x * scale + offset``: scaled values back to raw units, in x's dtype and device.

        Shapes:
            - x: (..., C, ...) with C along ``channel_axis`` -> the same
        """
        shape = [1] * x.ndim
        shape[channel_axis] = self.channels
        scale = torch.as_tensor(self.scale, dtype=x.dtype, device=x.device).view(shape)
        offset = torch.as_tensor(self.offset, dtype=x.dtype, device=x.device).view(shape)
        return x * scale + offset

    def first(self, count: int) -> AffineScaler:
        """The scaler of the first ``count`` channels (e.g. a forecast's target columns)."""
        return AffineScaler(self.kind, self.offset[:count], self.scale[:count])

    def module(self, channel_axis: int, ndim: int, masked: bool = False) -> AffineTransform:
        """This map as a module for float32 input of ``ndim`` dims, C along ``channel_axis``.

        Args:
            channel_axis: where the channels are in the module's input (e.g. 1 for
                (B, C, H, W), 2 for (B, T, C)).
            ndim: the input's number of dimensions.
            masked: a :class:`MaskedAffineTransform` (sequences with lengths).
        """
        shape = [1] * ndim
        shape[channel_axis] = self.channels
        offset = torch.as_tensor(self.offset, dtype=torch.float32).view(shape)
        scale = torch.as_tensor(self.scale, dtype=torch.float32).view(shape)
        return (MaskedAffineTransform if masked else AffineTransform)(offset, scale)

    def state(self) -> dict[str, Any]:
        """``{"kind", "offset", "scale"}`` as plain str / lists of floats."""
        return {
            "kind": self.kind,
            "offset": [float(v) for v in self.offset],
            "scale": [float(v) for v in self.scale],
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any], owner: str) -> AffineScaler:
        """The scaler that :meth:`state` described, checked.

        Args:
            state: ``{"kind", "offset", "scale"}``.
            owner: the dataset's name, for the error message.

        Raises:
            DataError: a field is missing or malformed.
        """
        kind = get_field(state, "kind", str, owner, label="scaler kind")
        if kind not in SCALER_KINDS:
            raise DataError(
                f"the fitted state of data '{owner}' has scaler kind {kind!r}, expected one "
                f"of {', '.join(SCALER_KINDS)}: load a state that fitted_state() wrote"
            )
        offset = number_list(state, "offset", owner, label="scaler offset")
        scale = number_list(state, "scale", owner, len(offset), positive=True, label="scaler scale")
        return cls(kind, np.asarray(offset, dtype=np.float64), np.asarray(scale, dtype=np.float64))


def _shaped(values: np.ndarray, axis: int, ndim: int) -> np.ndarray:
    """(C,) statistics shaped to broadcast along ``axis`` of an ``ndim``-dim array."""
    shape = [1] * ndim
    shape[axis] = len(values)
    return values.reshape(shape)


class AffineTransform(nn.Module):
    """``(x - offset) / scale`` with the fitted statistics as float32 buffers.

    It matches :meth:`AffineScaler.transform` to float32 rounding (that one computes in
    float64). Plain tensor ops: it traces, scripts and exports to ONNX.

    Args:
        offset: the fitted offsets, shaped to broadcast against the input.
        scale: the fitted scales, the same shape.

    Shapes:
        - x: e.g. (B, C, H, W) or (B, T, C) raw units -> the same, scaled
    """

    def __init__(self, offset: Tensor, scale: Tensor) -> None:
        super().__init__()
        self.register_buffer("offset", offset)
        self.register_buffer("scale", scale)

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.offset) / self.scale


class MaskedAffineTransform(AffineTransform):
    """:class:`AffineTransform` for zero-padded sequences: padded steps stay exactly 0.

    Nets and the padded loader rely on zero padding (a padded step must add nothing to a
    sum over time), so the steps at and after each sequence's length are zeroed.

    Shapes:
        - x: (B, T, C) raw units, lengths: (B,) int64 -> (B, T, C)
    """

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:  # type: ignore[override]
        steps = torch.arange(x.shape[1], device=x.device)
        padded = steps[None, :] >= lengths[:, None]  # (B, T)
        return super().forward(x).masked_fill(padded[..., None], 0.0)
