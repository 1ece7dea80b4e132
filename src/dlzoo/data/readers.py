"""Reading a user's raw files: image files and CSV tables, for training and prediction.

The same readers load the training data (``image_folder``, ``series_csv``) and the new
inputs of ``predict_inputs``, so that a file is read the same way in both. Every
problem is a one-line :class:`~dlzoo.errors.DataError` that names the file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dlzoo.errors import DataError

__all__ = [
    "IMAGE_EXTENSIONS",
    "class_files",
    "image_files",
    "missing_column",
    "numeric_columns",
    "read_csv",
    "read_image",
    "stamp_text",
    "time_stamps",
]

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"})


# ---------------------------------------------------------------------- images


def class_files(
    root: Path, kind: str, suffixes: Collection[str], what: str, hint: str
) -> dict[str, list[Path]]:
    """Each class subfolder's name and its files with one of ``suffixes``, sorted.

    Hidden folders are skipped; the files of a class folder's own subfolders are not
    read.

    Args:
        root: the folder with one subfolder per class.
        kind: what the folder holds, for messages (``image``, ``text``).
        suffixes: the file suffixes read, lower case (``.png``, ``.txt``).
        what: the files, for the message about an empty class folder (``.txt files``).
        hint: the layout to tell the user when the folder is wrong.

    Raises:
        DataError: ``root`` does not exist, has no class subfolders, or one is empty.
    """
    if not root.is_dir():
        raise DataError(f"{kind} folder {root} does not exist: set data.root; {hint}")
    folders = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not folders:
        raise DataError(f"{kind} folder {root} has no class subfolders: {hint}")
    files: dict[str, list[Path]] = {}
    for folder in folders:
        found = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes)
        if not found:
            raise DataError(f"class folder {folder} has no {what}: add some or remove the folder")
        files[folder.name] = found
    return files


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS


def image_files(path: Path) -> list[Path]:
    """``path`` itself when it is an image file, or the image files in folder ``path``.

    A folder's images are its own (not its subfolders'), sorted by name.

    Raises:
        DataError: ``path`` does not exist, is no image file, or is a folder without one.
    """
    kinds = ", ".join(sorted(IMAGE_EXTENSIONS))
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if _is_image(p))
        if not files:
            raise DataError(f"folder {path} has no image files ({kinds}): put the images there")
        return files
    if not path.exists():
        raise DataError(f"{path} does not exist: give an image file or a folder of images")
    if not _is_image(path):
        raise DataError(f"{path} is not an image file ({kinds}): give an image or a folder of them")
    return [path]


def read_image(path: Path, size: tuple[int, int], grayscale: bool) -> np.ndarray:
    """One image file as pixels in [0, 1]: grey or RGB, resized to ``size``.

    An 8-bit file's values 0 .. 255 become ``v / 255``; an image already of ``size`` is
    not resampled.

    Args:
        path: the image file.
        size: ``(height, width)``.
        grayscale: one channel (PIL mode ``L``) instead of three (``RGB``).

    Shapes:
        - output: (C, H, W) float32, C = 1 or 3

    Raises:
        DataError: the file cannot be read as an image.
    """
    from PIL import Image, UnidentifiedImageError

    height, width = size
    try:
        with Image.open(path) as image:
            image = image.convert("L" if grayscale else "RGB")
            image = image.resize((width, height), Image.Resampling.BILINEAR)
            pixels = np.asarray(image, dtype=np.float32) / 255.0
    except (OSError, ValueError, UnidentifiedImageError) as exc:
        raise DataError(f"cannot read image {path} ({exc}): remove or replace it") from None
    return pixels[None] if grayscale else pixels.transpose(2, 0, 1)


# ---------------------------------------------------------------------- CSV tables


def read_csv(
    path: Path, missing_hint: str, encoding: str = "utf-8", decode_hint: str = "save it as UTF-8"
) -> Any:
    """A CSV file with a header row as a pandas DataFrame.

    A blank line inside the file is a row of missing values (in a one-column series it
    is an empty cell: skipping it would shift every later step in time); blank lines at
    the end of the file are ignored.

    Args:
        path: the file.
        missing_hint: what to tell the user when the file does not exist.
        encoding: the file's text encoding.
        decode_hint: what to tell the user when the file is not ``encoding`` text.

    Raises:
        DataError: the file does not exist, does not decode or does not parse.
    """
    if not path.is_file():
        raise DataError(f"CSV file {path} does not exist: {missing_hint}")
    import pandas as pd

    try:
        frame = pd.read_csv(path, skip_blank_lines=False, encoding=encoding)
    except UnicodeDecodeError as e:
        raise DataError(
            f"cannot read CSV file {path}: it is not {encoding} text (byte "
            f"{e.object[e.start]:#04x} at offset {e.start}): {decode_hint}"
        ) from None
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(f"cannot read CSV file {path} ({reason}): fix the file") from None
    filled = np.flatnonzero(frame.notna().any(axis=1).to_numpy())
    return frame.iloc[: int(filled[-1]) + 1 if len(filled) else 0]


def missing_column(path: Path, frame: Any, column: str, hint: str) -> DataError:
    """The error for a column that ``frame`` (read from ``path``) lacks."""
    return DataError(
        f"CSV file {path} has no column '{column}'; its columns are "
        f"{', '.join(map(str, frame.columns))}: {hint}"
    )


def numeric_columns(path: Path, frame: Any, columns: Sequence[str], blank_hint: str) -> np.ndarray:
    """``frame``'s ``columns`` as numbers, NaN where a cell is empty.

    Empty cells and pandas' missing-value markers (``NA``, ``n/a``, ...) become NaN; any
    other text is an error.

    Args:
        path: the file ``frame`` came from, for messages.
        frame: the table; it must have every one of ``columns``.
        columns: the columns to read, in this order.
        blank_hint: what else the user may do with a bad cell (e.g. leave it empty).

    Shapes:
        - output: (rows, len(columns)) float64
    """
    import pandas as pd

    values = np.empty((len(frame), len(columns)))
    for i, column in enumerate(columns):
        raw = frame[column]
        numbers = pd.to_numeric(raw, errors="coerce")
        bad = np.flatnonzero(numbers.isna().to_numpy() & raw.notna().to_numpy())
        if len(bad):
            raise DataError(
                f"column '{column}' of CSV file {path} has {len(bad)} non-numeric value(s), "
                f"first {raw.iloc[bad[0]]!r} in data row {bad[0] + 1}: fix them{blank_hint}"
            )
        values[:, i] = numbers.to_numpy(np.float64)
    return values


def time_stamps(path: Path, frame: Any, column: str) -> Any:
    """A CSV column as a pandas index named ``column``: dates where the text parses as dates.

    Raises:
        DataError: the time stamps do not increase.
    """
    import pandas as pd

    raw = frame[column]
    index = None
    if raw.dtype == object or pd.api.types.is_string_dtype(raw):
        with contextlib.suppress(ValueError, TypeError):  # not dates: plain stamps
            index = pd.DatetimeIndex(pd.to_datetime(raw, format="ISO8601"), name=column)
    index = pd.Index(raw, name=column) if index is None else index
    if not index.is_monotonic_increasing:
        raise DataError(
            f"column '{column}' of CSV file {path} is not in increasing time order: "
            "sort the rows by time"
        )
    return index


def stamp_text(stamp: Any) -> str:
    """A time stamp as text: a date alone where the time of day is midnight."""
    if hasattr(stamp, "normalize") and stamp == stamp.normalize():
        stamp = stamp.date()
    return str(stamp)
