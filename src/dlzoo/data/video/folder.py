"""A user's own clips, one subfolder per class: ``root/<class_name>/<clip>.npy``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dlzoo.data.readers import class_files
from dlzoo.data.video.datamodule import CLIP_LAYOUT, VideoArrays, VideoDataModule, read_clip
from dlzoo.errors import DataError

__all__ = ["VideoFolderDataModule"]


class VideoFolderDataModule(VideoDataModule):
    """Your own clips: one ``.npy`` file per clip, one subfolder per class.

    Every clip is ``(T, C, H, W)`` (or ``(T, H, W)`` for grey frames) and all have the
    same shape; ``uint8`` files hold 8-bit pixels (/ 255), float files are read as they
    are. Class names are the sorted subfolder names (hidden folders are skipped). Split:
    seeded, stratified train / val / test (or the fold of a ``cv.folds`` run).

    Args:
        root: the folder that holds one subfolder per class.
        batch_size, eval_batch_size, seed, val_fraction, test_fraction, normalize: as
            :class:`~dlzoo.data.video.datamodule.VideoDataModule`.

    Raises:
        DataError: (at ``setup``) a missing or empty folder, an unreadable file, a file
            that is not one clip, or clips of different shapes; naming the file.
    """

    name = "video_folder"

    def __init__(
        self,
        root: str | Path,
        batch_size: int = 16,
        eval_batch_size: int | None = None,
        seed: int | None = 0,
        val_fraction: float = 0.15,
        test_fraction: float = 0.15,
        normalize: bool = True,
    ) -> None:
        super().__init__(batch_size, eval_batch_size, seed, val_fraction, test_fraction, normalize)
        self.root = Path(root)

    def load(self) -> VideoArrays:
        hint = f"put each class's clips {CLIP_LAYOUT} as <root>/<class_name>/<clip>.npy"
        files = class_files(self.root, "video", {".npy"}, ".npy clip files", hint)
        clips, labels = [], []
        first: tuple[Path, tuple[int, ...]] | None = None
        for label, paths in enumerate(files.values()):
            for path in paths:
                clip = read_clip(path)
                if first is None:
                    first = (path, clip.shape)
                elif clip.shape != first[1]:
                    raise DataError(
                        f"clip {path} has shape {clip.shape} but {first[0]} has {first[1]}: "
                        "every clip must have the same (T, C, H, W); trim or resize them"
                    )
                clips.append(clip)
                labels.append(label)
        return VideoArrays(np.stack(clips), np.asarray(labels, dtype=np.int64), list(files))
