"""What ``dlzoo-shard`` reads: any dataset, as a stream of ``(split, sample)`` pairs.

Three sources, chosen by the data config's ``_target_``:

- :func:`memory_source`: any dlzoo datamodule whose batches are tuples of tensors
  (digits, MNIST, UCR, text, ...): it is set up as for training and its splits are
  written sample by sample. Image and forecasting datamodules are set up *without*
  their input scaling (``normalize=false`` / ``scaler=none``), so the shards hold raw
  inputs and the streaming datamodule fits the scaling itself, in one pass.
- :func:`image_folder_source`: ``data=image_folder`` read one file at a time (the same
  seeded stratified split as the in-memory datamodule), never the whole folder in memory.
- :func:`csv_series_source`: ``data=series_csv`` read with pandas in chunks of
  ``CSV_CHUNK_ROWS`` rows (twice: once to count the rows for the chronological split, once
  to cut the windows), never the whole file in memory.

A forecasting sample is ``(x, y, rows)``: the window x (window, F), its targets y
(horizon, C), and ``rows``, the time steps of its part that no earlier window
covered (float64, the last window also gets the part's tail). Every time step is in
exactly one sample's ``rows``, in time order, so the scaler and the MASE scale fitted
over them in one pass equal the in-memory datamodule's, which fits on the steps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dlzoo.data.base import STAGES
from dlzoo.errors import ConfigError, DataError

__all__ = ["CSV_CHUNK_ROWS", "SeriesWindows", "ShardSource", "open_source"]

CSV_CHUNK_ROWS = 65536
Sample = tuple[np.ndarray, ...]


@dataclass
class ShardSource:
    """A dataset ready to be written: what the index records, and its samples.

    Attributes:
        kind: ``image``, ``series`` or ``tensors`` (written as the loaders yield them).
        name: the dataset's name (the source datamodule's).
        batch_fields: how many of a sample's leading fields form a batch.
        fit: ``{"field", "channel_axis", "kind", "targets"}`` of the one-pass fit, or
            ``None`` (the source's own fitted state is kept).
        net_kwargs, task_kwargs, class_names: the source datamodule's facts.
        fitted_template: the source kind's fitted state; ``scaler`` (and
            ``mase_scale``) are filled in by the streaming datamodule's fit.
        samples: yields ``(split, sample)`` for every split, each sample once.
    """

    kind: str
    name: str
    batch_fields: int
    fit: dict[str, Any] | None
    net_kwargs: dict[str, Any]
    task_kwargs: dict[str, Any]
    class_names: list[str] | None
    fitted_template: dict[str, Any]
    samples: Callable[[], Iterator[tuple[str, Sample]]] = field(repr=False)


def _plain(value: Any) -> Any:
    """Tuples as lists (JSON), recursively."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _instantiate(cfg: dict[str, Any]) -> Any:
    from dlzoo.config.instantiate import instantiate

    return instantiate(cfg, _convert_="all")


# ---------------------------------------------------------------------- in memory


def _tensor_samples(dm: Any, stage: str) -> Iterator[Sample]:
    """The samples of one split: rows of ``dm.tensors[stage]``, or of its loader's batches."""
    tensors = getattr(dm, "tensors", {}).get(stage)
    batches = [tensors] if tensors else getattr(dm, f"{stage}_dataloader")()
    for batch in batches:
        if not isinstance(batch, tuple | list) or not all(
            isinstance(t, torch.Tensor) for t in batch
        ):
            raise ConfigError(
                f"data '{dm.name}' batches are {type(batch).__name__}s, not tuples of "
                "tensors: dlzoo-shard writes datamodules whose batches are tensors"
            )
        arrays = [t.numpy() for t in batch]
        for i in range(len(arrays[0])):
            yield tuple(a[i] for a in arrays)


def memory_source(cfg: dict[str, Any]) -> ShardSource:
    """Any dlzoo datamodule whose batches are tuples of tensors, set up in memory."""
    from hydra.utils import get_class

    from dlzoo.data.image.datamodule import ImageDataModule
    from dlzoo.data.series.windowed import WindowedSeriesDataModule

    cls = get_class(cfg["_target_"])
    raw, fit = dict(cfg), None
    if issubclass(cls, ImageDataModule):
        kind = "image"
        fit = {"field": 0, "channel_axis": 0, "targets": 0}
        fit["kind"] = "standard" if cfg.get("normalize", True) else "none"
        raw["normalize"] = False
    elif issubclass(cls, WindowedSeriesDataModule):
        kind = "series"
        raw["scaler"] = "none"
    else:
        kind = "tensors"
    dm = _instantiate(raw)
    dm.prepare_data()
    dm.setup("fit")
    net_kwargs = dict(dm.net_kwargs())
    if kind == "series":
        fit = _series_fit(cfg.get("scaler", "standard"), net_kwargs["output_size"])

    def samples() -> Iterator[tuple[str, Sample]]:
        for stage in STAGES:
            if kind == "series":
                windows = SeriesWindows(dm.window, dm.horizon, dm.stride, len(dm.target_names))
                pieces = windows.feed(dm.parts[stage].numpy()), windows.finish()
                for piece in pieces:
                    yield from ((stage, s) for s in piece)
            else:
                yield from ((stage, s) for s in _tensor_samples(dm, stage))

    return ShardSource(
        kind=kind,
        name=dm.name,
        batch_fields=2 if kind in ("image", "series") else -1,
        fit=fit,
        net_kwargs=_plain(net_kwargs),
        task_kwargs=_plain(dict(dm.task_kwargs())),
        class_names=list(getattr(dm, "class_names", None) or []) or None,
        fitted_template=_plain(dm.fitted_state()),
        samples=samples,
    )


def _series_fit(kind: str, targets: int) -> dict[str, Any]:
    """The one-pass fit of a forecasting source: its scaler over the ``rows`` field."""
    return {"field": 2, "channel_axis": -1, "kind": kind, "targets": int(targets)}


# ---------------------------------------------------------------------- image folder


def image_folder_source(cfg: dict[str, Any]) -> ShardSource:
    """``data=image_folder`` one file at a time, split as the in-memory datamodule does."""
    from dlzoo.data.readers import read_image
    from dlzoo.data.splits import stratified_split

    dm = _instantiate(cfg)
    files = dm._class_files()
    paths = [p for class_paths in files.values() for p in class_paths]
    labels = np.concatenate([np.full(len(v), k, np.int64) for k, v in enumerate(files.values())])
    train = 1.0 - dm.val_fraction - dm.test_fraction
    parts = stratified_split(labels, (train, dm.val_fraction, dm.test_fraction), dm.seed)
    for stage, idx in zip(STAGES, parts, strict=True):
        if not len(idx):
            raise DataError(
                f"data 'image_folder' has too few images ({len(labels)}) for a non-empty "
                f"{stage} split: add images or change data.val_fraction / data.test_fraction"
            )
    (height, width), channels = dm.image_size, 1 if dm.grayscale else 3

    def samples() -> Iterator[tuple[str, Sample]]:
        for stage, idx in zip(STAGES, parts, strict=True):
            for i in idx:
                image = read_image(paths[i], dm.image_size, dm.grayscale)
                yield stage, (image.astype(np.float32), np.int64(labels[i]))

    class_names = list(files)
    return ShardSource(
        kind="image",
        name=dm.name,
        batch_fields=2,
        fit={
            "field": 0,
            "channel_axis": 0,
            "kind": "standard" if dm.normalize else "none",
            "targets": 0,
        },
        net_kwargs={
            "in_channels": channels,
            "image_size": [height, width],
            "in_features": channels * height * width,
            "num_classes": len(class_names),
        },
        task_kwargs={},
        class_names=class_names,
        fitted_template={
            "name": dm.name,
            "class_names": class_names,
            "image_size": [height, width],
            "scaler": None,
        },
        samples=samples,
    )


# ---------------------------------------------------------------------- CSV series


class SeriesWindows:
    """Forecast windows of one split part, cut from its rows as they arrive in chunks.

    Holds at most ``window + horizon`` rows plus one chunk. Window ``i`` starts at row
    ``i * stride`` of the part, as :func:`dlzoo.data.series.windows.sliding_windows` cuts them.

    Args:
        window: input steps per sample.
        horizon: target steps per sample.
        stride: steps between window starts.
        output_size: C, the target columns (the first C).

    Shapes:
        - fed rows: (n, F); each sample: x (window, F) float32, y (horizon, C) float32,
          rows (k, F) float64
    """

    def __init__(self, window: int, horizon: int, stride: int, output_size: int) -> None:
        self.window, self.horizon, self.stride, self.output_size = (
            window,
            horizon,
            stride,
            output_size,
        )
        self.buf: np.ndarray | None = None
        self.offset = 0  # the part's row index of buf[0]
        self.next_start = 0  # the next window's first row
        self.covered = 0  # rows before this are in an emitted sample's `rows`
        self.held: Sample | None = None  # the last window: it gets the part's tail

    def feed(self, rows: np.ndarray) -> Iterator[Sample]:
        """The windows completed by ``rows`` (each yielded one window late)."""
        self.buf = rows if self.buf is None else np.concatenate([self.buf, rows])
        need = self.window + self.horizon
        while self.next_start + need <= self.offset + len(self.buf):
            start = self.next_start - self.offset
            view = self.buf[start : start + need]
            new = self.buf[self.covered - self.offset : start + need]
            self.covered = self.next_start + need
            if self.held is not None:
                yield self.held
            self.held = (
                view[: self.window].astype(np.float32),
                view[self.window :, : self.output_size].astype(np.float32),
                new.astype(np.float64),
            )
            self.next_start += self.stride
        keep = min(self.next_start, self.covered) - self.offset
        self.buf = self.buf[keep:]
        self.offset += keep

    def finish(self) -> Iterator[Sample]:
        """The last window, with the rows after it in its ``rows``."""
        if self.held is None or self.buf is None:
            return
        x, y, new = self.held
        yield x, y, np.concatenate([new, self.buf[self.covered - self.offset :]])
        self.held = None


def _csv_chunks(dm: Any, columns: list[str]) -> Iterator[Any]:
    import pandas as pd

    try:
        yield from pd.read_csv(dm.path, usecols=columns, chunksize=CSV_CHUNK_ROWS)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        reason = str(exc).strip().splitlines()[0]
        raise DataError(f"cannot read CSV file {dm.path} ({reason}): fix the file") from None


def _chunk_values(dm: Any, chunk: Any, columns: list[str], first_row: int, last: Any) -> Any:
    """A chunk's numeric values (rows, F) in ``columns`` order, missing values handled."""
    from dlzoo.data.readers import numeric_columns

    values = numeric_columns(dm.path, chunk, columns, " or leave the cells empty")
    missing = np.isnan(values)
    if not missing.any():
        return values
    if dm.impute != "ffill":
        row = first_row + int(np.flatnonzero(missing.any(axis=1))[0]) + 1
        raise DataError(
            f"CSV file {dm.path} has a missing value in data row {row}: dlzoo-shard streams "
            "the file, so set data.impute=ffill or fill the gaps first"
        )
    for i in range(len(values)):  # carry the last value forward, across chunks too
        gaps = np.isnan(values[i])
        if gaps.any():
            if last is None or np.isnan(last[gaps]).any():
                raise DataError(f"CSV file {dm.path} starts with missing values: fill them")
            values[i, gaps] = last[gaps]
        last = values[i]
    return values


def csv_series_source(cfg: dict[str, Any]) -> ShardSource:
    """``data=series_csv`` read in chunks into forecast windows; see the module doc."""
    dm = _instantiate(cfg)
    if dm.path is None:
        raise ConfigError("data 'series_csv' needs a file: set data.path=/path/to/series.csv")
    if not Path(dm.path).is_file():
        raise DataError(f"CSV file {dm.path} does not exist: set data.path to your file")
    if dm.impute not in (None, "ffill"):
        raise ConfigError(
            f"data.impute={dm.impute} needs the whole series in memory: dlzoo-shard streams "
            "it, so use data.impute=ffill or null"
        )
    targets = list(dict.fromkeys(dm.target_columns or dm.value_columns))
    columns = targets + [c for c in dm.value_columns if c not in targets]
    length = sum(len(chunk) for chunk in _csv_chunks(dm, columns))
    bounds = dm._bounds(length)  # ConfigError where a part is shorter than a window

    def samples() -> Iterator[tuple[str, Sample]]:
        row, last = 0, None
        windows = {s: SeriesWindows(dm.window, dm.horizon, dm.stride, len(targets)) for s in STAGES}
        for chunk in _csv_chunks(dm, columns):
            values = _chunk_values(dm, chunk, columns, row, last)
            last = values[-1]
            for stage, (start, stop) in bounds.items():
                part = values[max(start - row, 0) : max(stop - row, 0)]
                if len(part):
                    yield from ((stage, s) for s in windows[stage].feed(part))
            row += len(values)
        for stage in STAGES:
            yield from ((stage, s) for s in windows[stage].finish())

    return ShardSource(
        kind="series",
        name=dm.name,
        batch_fields=2,
        fit=_series_fit(dm.scaler, len(targets)),
        net_kwargs={
            "input_size": len(columns),
            "output_size": len(targets),
            "window": dm.window,
            "horizon": dm.horizon,
        },
        task_kwargs={},
        class_names=None,
        fitted_template={
            "name": dm.name,
            "columns": columns,
            "target_columns": targets,
            "time_column": dm.time_column,
            "window": dm.window,
            "horizon": dm.horizon,
            "scaler": None,
            "mase_scale": None,
        },
        samples=samples,
    )


def open_source(cfg: dict[str, Any]) -> ShardSource:
    """The source for a data config (a resolved container with ``_target_``)."""
    target = str(cfg.get("_target_", ""))
    if target.endswith("ImageFolderDataModule"):
        return image_folder_source(cfg)
    if target.endswith("CSVSeriesDataModule"):
        return csv_series_source(cfg)
    if target.endswith("StreamingDataModule"):
        raise ConfigError("data=streaming is already sharded: choose the data to write")
    return memory_source(cfg)
