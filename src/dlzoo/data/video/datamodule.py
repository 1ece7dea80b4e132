"""Video classification: what every clip datamodule shares (:class:`VideoDataModule`),
and the reader of ``.npy`` clips that training and prediction both use.

A clip is a float32 array ``(T, C, H, W)``: T frames of C channels; a batch is ``(x, y)``
with x ``(B, T, C, H, W)`` (the 5-D tensor of curriculum lesson 1.1) and y ``(B,)`` int64.
The subclasses only load their clips (:meth:`VideoDataModule.load`): the moving digits
(:mod:`dlzoo.data.video.moving_digits`) generate them, a user's folder
(:mod:`dlzoo.data.video.folder`) reads them. Everything else is here:

1. a seeded stratified train / val / test split through
   :meth:`~dlzoo.data.classification.LabelledDataModule._stage_indices` (or the k-fold
   CV fold of a ``cv.folds`` run);
2. a per-channel mean / std fitted on the training clips (over frames and pixels: axis
   2 is the channel axis of ``(N, T, C, H, W)``), applied to every split;
3. the fitted state (class names, clip shape, scaler) and ``predict_inputs(path)``,
   which reads new clips with :func:`read_clip_file` as the training clips were read.

Values: a ``uint8`` array holds 8-bit pixels and is scaled by 1 / 255 (as image files
are); any other real dtype is taken as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from dlzoo.data.base import PredictInputs
from dlzoo.data.classification import ClassificationDataModule
from dlzoo.data.options import check_fractions
from dlzoo.data.preprocess import AffineScaler, AffineTransform
from dlzoo.data.state import positive_ints
from dlzoo.errors import DataError

__all__ = ["VideoArrays", "VideoDataModule", "clip_files", "read_clip", "read_clip_file"]

CLIP_LAYOUT = "(T, C, H, W) or (T, H, W)"
# the channel axis of a clip batch (N, T, C, H, W)
CHANNEL_AXIS = 2


@dataclass
class VideoArrays:
    """Clips as :meth:`VideoDataModule.load` returns them.

    Shapes:
        - clips: (N, T, C, H, W) float32 in raw units (pixels in [0, 1])
        - labels: (N,) int64 in [0, len(class_names))
    """

    clips: np.ndarray
    labels: np.ndarray
    class_names: list[str]


# ---------------------------------------------------------------------- reading clips


def _load_npy(path: Path) -> np.ndarray:
    """The array of one ``.npy`` file as float32 raw units (``uint8`` / 255)."""
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, EOFError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"cannot read clip file {path} ({reason}): remove or replace it") from None
    if not isinstance(array, np.ndarray) or not (
        np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    ):
        raise DataError(
            f"clip file {path} holds {getattr(array, 'dtype', type(array).__name__)} values, "
            "not numbers: save the frames as a uint8 or float array"
        )
    values = array.astype(np.float32) / 255.0 if array.dtype == np.uint8 else array
    values = np.asarray(values, dtype=np.float32)
    if not np.isfinite(values).all():
        raise DataError(f"clip file {path} has NaN or infinite values: fix or remove it")
    return values


def read_clip(path: Path) -> np.ndarray:
    """One clip file (one clip per ``.npy``, as a video folder holds them).

    Shapes:
        - the file: (T, C, H, W), or (T, H, W) for grey frames -> (T, C, H, W) float32

    Raises:
        DataError: the file cannot be read, holds no numbers, or is not one clip.
    """
    array = _load_npy(path)
    if array.ndim == 3:
        array = array[:, None]
    if array.ndim != 4 or 0 in array.shape:
        raise DataError(
            f"clip file {path} has shape {array.shape}, expected one clip {CLIP_LAYOUT}: "
            "save one clip per .npy file"
        )
    return array


def read_clip_file(path: Path, clip_shape: tuple[int, int, int, int]) -> tuple[np.ndarray, bool]:
    """A file of new clips of the training ``clip_shape``: one clip or a stack of them.

    A grey clip may leave out its channel axis. Where a 4-D array could be either one
    clip or a stack of grey clips, the training shape decides (one clip first).

    Returns:
        ``(clips, single)``: the clips, and whether the file held one clip (not a stack).

    Shapes:
        - the file: (T, C, H, W), (N, T, C, H, W), and with C = 1 also (T, H, W) or
          (N, T, H, W) -> clips (N, T, C, H, W) float32

    Raises:
        DataError: the file cannot be read, or its shape is none of these.
    """
    array = _load_npy(path)
    t, c, h, w = clip_shape
    shape = array.shape
    if shape == clip_shape:
        return array[None], True
    if array.ndim == 5 and shape[1:] == clip_shape:
        return array, False
    if c == 1 and shape == (t, h, w):
        return array[None, :, None], True
    if c == 1 and array.ndim == 4 and shape[1:] == (t, h, w):
        return array[:, :, None], False
    grey = f", or without C: (T, H, W) = {(t, h, w)}" if c == 1 else ""
    raise DataError(
        f"clip file {path} has shape {shape}; expected a clip (T, C, H, W) = {clip_shape}"
        f"{grey}, or a stack (N, ...) of them: give clips of the training shape"
    )


def clip_files(path: Path) -> list[Path]:
    """``path`` itself when it is a ``.npy`` file, or the ``.npy`` files of a folder.

    Raises:
        DataError: ``path`` does not exist, is not ``.npy``, or is a folder without one.
    """
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".npy")
        if not files:
            raise DataError(f"folder {path} has no .npy clip files: put the clips there")
        return files
    if not path.exists():
        raise DataError(f"{path} does not exist: give a .npy clip file or a folder of them")
    if path.suffix.lower() != ".npy":
        raise DataError(f"{path} is not a .npy file: save clips {CLIP_LAYOUT} with numpy.save")
    return [path]


# ---------------------------------------------------------------------- the datamodule


class VideoDataModule(ClassificationDataModule):
    """Base class: in-memory clips, a seeded stratified split, train-only normalisation.

    Subclasses implement :meth:`load` (and may check a fitted state against their config
    in :meth:`_check_state`). ``setup`` loads once.

    After ``setup()``, or after ``load_fitted_state()`` alone: ``net_kwargs()``
    (``in_channels``, ``image_size``, ``in_features`` = C * H * W of one frame,
    ``frames`` = T, ``num_classes``), ``class_names``, ``clip_shape``, ``mean`` / ``std``
    (per channel, (C,)), ``predict_inputs(path)`` and ``input_transform()``. After
    ``setup()`` only: ``split_indices`` (stage -> int64 indices into the loaded clips)
    and ``tensors`` (stage -> ``(clips, labels)``, normalised).

    The fitted state: ``name``, ``class_names``, ``clip_shape`` ([T, C, H, W]) and
    ``scaler``.

    Args:
        batch_size: clips per training batch.
        eval_batch_size: clips per val / test batch (``None``: 4 x ``batch_size``).
        seed: seeds the split and the training batches' order (``None``: 0).
        val_fraction: share of the clips used for validation.
        test_fraction: share of the clips used for testing.
        normalize: standardise each channel with the training clips' mean and std.

    Shapes:
        - a batch: ``(x, y)`` with x (B, T, C, H, W) float32 and y (B,) int64
    """

    name: str = "video"

    def __init__(
        self,
        batch_size: int,
        eval_batch_size: int | None,
        seed: int | None,
        val_fraction: float,
        test_fraction: float,
        normalize: bool,
    ) -> None:
        super().__init__(batch_size, eval_batch_size, seed, normalize)
        self.val_fraction, self.test_fraction = check_fractions(val_fraction, test_fraction)
        # (T, C, H, W) of one clip: fitted (from the data or a state)
        self.clip_shape: tuple[int, int, int, int] | None = None

    def load(self) -> VideoArrays:
        """The clips, their labels and the class names (raw units)."""
        raise NotImplementedError

    def _setup_once(self) -> None:
        data = self.load()
        clips, labels = data.clips, data.labels
        if clips.ndim != 5 or labels.ndim != 1 or len(clips) != len(labels):
            raise DataError(
                f"data '{self.name}' loaded clips of shape {clips.shape} and labels of shape "
                f"{labels.shape}; expected (N, T, C, H, W) and (N,)"
            )
        self._check_state(tuple(int(s) for s in clips.shape[1:]), list(data.class_names))
        self.class_names = list(data.class_names)
        self.split_indices = self._stage_indices(labels, self.val_fraction, self.test_fraction)
        self._check_split_sizes(
            len(labels), "clips", "add clips or change data.val_fraction / data.test_fraction"
        )
        # statistics of the training clips only: val / test must not leak into them
        train = clips[self.split_indices["train"]]
        self.input_scaler = AffineScaler.fit(train, CHANNEL_AXIS, kind=self.scaler_kind)
        self.clip_shape = tuple(int(s) for s in clips.shape[1:])  # type: ignore[assignment]
        for stage, idx in self.split_indices.items():
            x = self.input_scaler.transform(clips[idx], CHANNEL_AXIS)
            self.tensors[stage] = (
                torch.from_numpy(x),
                torch.from_numpy(labels[idx].astype(np.int64)),
            )

    def _check_state(self, clip_shape: tuple[int, ...], class_names: list[str]) -> None:
        """A DataError where the clip shape or the classes contradict the config."""

    # ------------------------------------------------------------------ facts

    def net_kwargs(self) -> dict[str, Any]:
        """``in_channels``, ``image_size`` (H, W), ``in_features`` (C * H * W of one
        frame), ``frames`` (T) and ``num_classes``."""
        self._require_fitted()
        t, c, h, w = self.clip_shape
        return {
            "in_channels": c,
            "image_size": (h, w),
            "in_features": c * h * w,
            "frames": t,
            "num_classes": self.num_classes,
        }

    def denormalize(self, x: Tensor) -> Tensor:
        """Undo the normalisation (e.g. to draw frames).

        Shapes:
            - x: (B, T, C, H, W) -> the same, in raw units
        """
        self._require_fitted()
        return self.input_scaler.inverse(x, channel_axis=CHANNEL_AXIS)

    # ------------------------------------------------------------------ fitted state

    def fitted_state(self) -> dict[str, Any]:
        """``name``, ``class_names``, ``clip_shape`` and ``scaler``."""
        return {**self._class_state(), "clip_shape": list(self.clip_shape)}

    def _apply_fitted_state(self, state: dict[str, Any]) -> None:
        clip_shape = tuple(positive_ints(state, "clip_shape", self.name, 4))
        class_names, scaler = self._parse_class_state(state)
        if scaler.channels != clip_shape[1]:
            raise DataError(
                f"the fitted state of data '{self.name}' scales {scaler.channels} channels "
                f"but its clips have {clip_shape[1]}: load a state that fitted_state() wrote"
            )
        self._check_state(clip_shape, class_names)
        self.class_names, self.input_scaler = class_names, scaler
        self.clip_shape = clip_shape  # type: ignore[assignment]

    # ------------------------------------------------------------------ prediction

    def predict_inputs(self, path: str | Path) -> PredictInputs:
        """Clips to classify: a ``.npy`` file of one clip or a stack, or a folder of them.

        Each file is read as the training clips were (:func:`read_clip_file`: ``uint8``
        / 255), then normalised with the fitted mean / std.

        Returns:
            ``inputs = (x,)`` with x (N, T, C, H, W) float32; ``names``: a file's name
            for a one-clip file, ``name[i]`` for the i-th clip of a stack.
        """
        self._require_fitted()
        arrays, names = [], []
        for file in clip_files(Path(path)):
            clips, single = read_clip_file(file, self.clip_shape)
            arrays.append(clips)
            names.extend(
                [file.name] if single else [f"{file.name}[{i}]" for i in range(len(clips))]
            )
        x = self.input_scaler.transform(np.concatenate(arrays), CHANNEL_AXIS)
        return PredictInputs((torch.from_numpy(x),), names)

    def input_transform(self) -> AffineTransform:
        """``(x - mean) / std`` per channel, on (B, T, C, H, W) raw clips."""
        self._require_fitted()
        return self.input_scaler.module(channel_axis=CHANNEL_AXIS, ndim=5)
