"""Moving digits: 5-D video clips made from the 5000 offline MNIST digits.

The construction of Srivastava, Mansimov & Salakhutdinov 2015 ("Unsupervised Learning
of Video Representations using LSTMs"), with one digit per clip: a digit, shrunk to
``digit_size`` pixels, is placed on a blank ``canvas_size`` square canvas and moves with
a constant velocity; where it would leave the canvas it bounces (the velocity's
component across that edge flips), so it is always wholly inside. Labels: the direction
of the initial velocity, one of 8 at k * 45 degrees (``label=direction``, counter-
clockwise from "right"), or the digit (``label=digit``).

Why these defaults (a 32x32 canvas, 12x12 digits, 6 frames, 1.5 pixels a frame, 3000
clips): every video experiment must train in under 2 minutes on 2 CPU cores. A 6 x 32
x 32 clip is 6144 pixels, a 13th of Srivastava's 20 x 64 x 64, and a 3-D conv net or a
per-frame CNN learns the direction from it in a few epochs of seconds each. A digit's
first two steps never touch an edge (its start is drawn where they do not), so the
initial direction is always visible, not hidden by an immediate bounce. Short clips
also keep bounces rare, which matters for the frame-averaging baseline: the mean frame
shows the path but not its order, so opposite directions look alike, except where the
digit bounced off an edge (a path that turns back at an edge must have started
towards it). A 12-pixel digit moving 7.5 pixels in a 20-pixel range bounces in about a
fifth of the clips (22 %), where the mean frame gives part of the direction away: that
baseline scores 0.56-0.61 over three seeds, against 0.99-1.0 for the nets that see the
order. With 8 frames 40 % of the clips bounce and it scores 0.65.

Generated once, seeded by ``generation_seed`` (the run's ``seed`` only splits the
clips), and cached as 8-bit frames in ``<data_dir>/moving_digits/<key>.npz``, the key
naming every generation parameter; the file is written atomically.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dlzoo.data.image.packaged import MNISTDataModule
from dlzoo.data.memory import require_config
from dlzoo.data.options import positive_int
from dlzoo.data.video.datamodule import VideoArrays, VideoDataModule
from dlzoo.errors import ConfigError, DataError

__all__ = [
    "DIRECTION_NAMES",
    "MovingDigitsDataModule",
    "generate_moving_digits",
    "shrink_digits",
    "trajectories",
]

# the 8 directions of motion: class k moves at k * 45 degrees, counter-clockwise from right
DIRECTION_NAMES = ("right", "up-right", "up", "up-left", "left", "down-left", "down", "down-right")
DIGIT_NAMES = tuple(str(d) for d in range(10))
LABELS = ("direction", "digit")
MNIST_DIGITS = 5000
# steps at the start of a clip that never touch an edge (the direction is visible)
CLEAR_STEPS = 2
# bumped when the construction changes, so that an old cache is not read as new
CACHE_VERSION = 1


def velocities(directions: np.ndarray, speed: float) -> np.ndarray:
    """Pixels per frame, (row, column), of each direction class (rows grow downwards).

    Shapes:
        - directions: (N,) int in [0, 8) -> (N, 2) float64
    """
    angle = directions * (np.pi / 4)
    # rounded so that cos(90 deg) is exactly 0: a vertical move never drifts sideways
    return np.round(speed * np.stack([-np.sin(angle), np.cos(angle)], axis=1), 12)


def trajectories(start: np.ndarray, velocity: np.ndarray, frames: int, limit: float) -> np.ndarray:
    """Top-left corners over time of digits bouncing inside ``[0, limit]`` per axis.

    A step that would cross an edge is reflected at it (the position mirrors, that
    velocity component flips); a speed below ``limit`` reflects at most once a step.

    Shapes:
        - start, velocity: (N, 2) -> (N, frames, 2) float64
    """
    position, velocity = start.astype(np.float64), velocity.astype(np.float64)
    out = np.empty((len(start), frames, 2))
    for t in range(frames):
        out[:, t] = position
        position = position + velocity
        low, high = position < 0, position > limit
        position = np.where(low, -position, np.where(high, 2 * limit - position, position))
        velocity = np.where(low | high, -velocity, velocity)
    return out


def shrink_digits(images: np.ndarray, digit_size: int) -> np.ndarray:
    """MNIST digits shrunk by area averaging, as 8-bit pixels.

    Shapes:
        - images: (N, 1, 28, 28) float in [0, 1] -> (N, digit_size, digit_size) uint8
    """
    small = torch.nn.functional.interpolate(
        torch.from_numpy(images), size=(digit_size, digit_size), mode="area"
    )
    return np.rint(small[:, 0].numpy() * 255).astype(np.uint8)


def render(patches: np.ndarray, corners: np.ndarray, canvas_size: int) -> np.ndarray:
    """Each clip's digit pasted at its integer top-left corner in every frame.

    Shapes:
        - patches: (N, d, d) uint8, corners: (N, T, 2) int -> (N, T, canvas, canvas) uint8
    """
    n, frames, _ = corners.shape
    size = patches.shape[1]
    clips = np.zeros((n, frames, canvas_size, canvas_size), dtype=np.uint8)
    for i in range(n):
        for t, (row, col) in enumerate(corners[i]):
            clips[i, t, row : row + size, col : col + size] = patches[i]
    return clips


def generate_moving_digits(
    digits: np.ndarray,
    num_clips: int,
    canvas_size: int,
    frames: int,
    speed: float,
    seed: int,
) -> dict[str, np.ndarray]:
    """Clips of distinct digits moving in balanced random directions.

    Args:
        digits: the source digits, already ``(M, d, d)`` uint8; M >= ``num_clips``.
        num_clips: clips to make (each from its own digit).
        canvas_size: side of the square canvas.
        frames: frames per clip.
        speed: pixels per frame.
        seed: seeds the digits' choice, the directions and the starts.

    Returns:
        ``clips`` (N, T, canvas, canvas) uint8, ``directions`` (N,) int64, ``sources``
        (N,) int64 (indices into ``digits``) and ``corners`` (N, T, 2) int64 (row,
        column of each frame's top-left digit pixel).
    """
    rng = np.random.default_rng(seed)
    limit = canvas_size - digits.shape[1]
    sources = rng.permutation(len(digits))[:num_clips]
    directions = rng.permutation(np.arange(num_clips) % len(DIRECTION_NAMES))
    velocity = velocities(directions, speed)
    # drawn where the first CLEAR_STEPS steps stay inside: no bounce hides the direction
    low = np.maximum(0.0, -CLEAR_STEPS * velocity)
    high = np.minimum(limit, limit - CLEAR_STEPS * velocity)
    start = low + rng.random((num_clips, 2)) * (high - low)
    corners = np.rint(trajectories(start, velocity, frames, limit)).astype(np.int64)
    clips = render(digits[sources], corners, canvas_size)
    return {
        "clips": clips,
        "directions": directions.astype(np.int64),
        "sources": sources.astype(np.int64),
        "corners": corners,
    }


class MovingDigitsDataModule(VideoDataModule):
    """Moving MNIST digits, one per clip; 8 directions of motion or 10 digits.

    See the module docstring for the construction and the defaults. Grey clips ``(T, 1,
    canvas, canvas)``, pixels 8-bit / 255; seeded stratified train / val / test (or the
    fold of a ``cv.folds`` run). ``predict_inputs`` reads ``.npy`` clips of the training
    shape (see :class:`~dlzoo.data.video.datamodule.VideoDataModule`).

    Args:
        data_dir: the cache; the clips go to ``data_dir/moving_digits``.
        label: ``direction`` (8 classes) or ``digit`` (10 classes).
        num_clips: clips to make, each from its own MNIST digit (at most 5000).
        canvas_size: side of the square frames, in pixels.
        digit_size: side the 28x28 digits are shrunk to.
        frames: frames per clip (T).
        speed: pixels a frame.
        generation_seed: seeds the clips (the digits, directions and starts).
        batch_size, eval_batch_size, seed, val_fraction, test_fraction, normalize: as
            :class:`~dlzoo.data.video.datamodule.VideoDataModule`.
    """

    name = "moving_digits"

    def __init__(
        self,
        data_dir: str | Path,
        label: str = "direction",
        num_clips: int = 3000,
        canvas_size: int = 32,
        digit_size: int = 12,
        frames: int = 6,
        speed: float = 1.5,
        generation_seed: int = 0,
        batch_size: int = 32,
        eval_batch_size: int | None = None,
        seed: int | None = 0,
        val_fraction: float = 0.15,
        test_fraction: float = 0.15,
        normalize: bool = True,
    ) -> None:
        super().__init__(batch_size, eval_batch_size, seed, val_fraction, test_fraction, normalize)
        if label not in LABELS:
            raise ConfigError(f"data.label={label!r} must be one of {', '.join(LABELS)}")
        self.label = label
        self.data_dir = Path(data_dir)
        self.num_clips = positive_int("num_clips", num_clips)
        if self.num_clips > MNIST_DIGITS:
            raise ConfigError(f"data.num_clips={num_clips}: at most {MNIST_DIGITS} (one per digit)")
        self.canvas_size = positive_int("canvas_size", canvas_size)
        self.digit_size = positive_int("digit_size", digit_size)
        self.frames = positive_int("frames", frames)
        self.generation_seed = int(generation_seed)
        self.speed = float(speed)
        limit = self.canvas_size - self.digit_size
        if limit < 1:
            raise ConfigError(
                f"data.digit_size={digit_size} leaves no room to move on a "
                f"{canvas_size}-pixel canvas: make it smaller than data.canvas_size"
            )
        if not 0 < self.speed * CLEAR_STEPS <= limit:
            raise ConfigError(
                f"data.speed={speed} must be > 0 and at most {limit / CLEAR_STEPS:g} pixels a "
                f"frame (half the {limit}-pixel range a {digit_size}-pixel digit moves in)"
            )

    @property
    def cache_path(self) -> Path:
        """The cached clips' file: every generation parameter is in its name."""
        key = (
            f"v{CACHE_VERSION}-n{self.num_clips}-c{self.canvas_size}-d{self.digit_size}"
            f"-t{self.frames}-s{self.speed:g}-g{self.generation_seed}"
        )
        return self.data_dir / "moving_digits" / f"{key}.npz"

    def prepare_data(self) -> None:
        """Generate and cache the clips, unless the cache has them already."""
        self._clips()

    def _generate(self) -> dict[str, np.ndarray]:
        mnist = MNISTDataModule().load()  # the 5000 offline digits, pixels in [0, 1]
        arrays = generate_moving_digits(
            shrink_digits(mnist.images, self.digit_size),
            self.num_clips,
            self.canvas_size,
            self.frames,
            self.speed,
            self.generation_seed,
        )
        arrays["digits"] = mnist.labels[arrays["sources"]].astype(np.int64)
        return arrays

    def _clips(self) -> dict[str, np.ndarray]:
        """The cached arrays; generated and written (atomically) when missing."""
        path = self.cache_path
        if path.is_file():
            return _read_cache(path)
        arrays = self._generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.part")
        with open(partial, "wb") as f:  # an open file keeps numpy from appending ".npz"
            np.savez_compressed(f, **arrays)
        os.replace(partial, path)  # another process writing the same file writes the same
        return arrays

    def _class_names(self) -> list[str]:
        return list(DIRECTION_NAMES if self.label == "direction" else DIGIT_NAMES)

    def load(self) -> VideoArrays:
        arrays = self._clips()
        labels = arrays["directions"] if self.label == "direction" else arrays["digits"]
        clips = (arrays["clips"].astype(np.float32) / 255.0)[:, :, None]  # (N, T, 1, H, W)
        return VideoArrays(clips, labels.astype(np.int64), self._class_names())

    def _check_state(self, clip_shape: tuple[int, ...], class_names: list[str]) -> None:
        require_config(self.name, "frames", clip_shape[0], self.frames)
        require_config(self.name, "canvas_size", list(clip_shape[2:]), [self.canvas_size] * 2)
        if class_names != self._class_names():
            raise DataError(
                f"the fitted state of data '{self.name}' has classes {class_names} but "
                f"data.label={self.label} has {self._class_names()}: use the data config "
                "of the run that fitted it"
            )


def _read_cache(path: Path) -> dict[str, Any]:
    """The arrays of a cache file, checked for the keys and shapes it must have."""
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in ("clips", "directions", "digits", "sources", "corners")}
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise DataError(
            f"cannot read the cached clips {path} ({exc}): delete it so it is generated again"
        ) from None
    n = len(arrays["clips"])
    if arrays["clips"].ndim != 4 or any(len(a) != n for a in arrays.values()):
        raise DataError(f"the cached clips {path} are corrupt: delete it so it is generated again")
    return arrays
