"""The datastreamer: train on a dataset larger than memory, read from tar shards.

``dlzoo-shard data=NAME out=DIR`` writes any dataset as compressed shards with an
index (:mod:`dlzoo.data.streaming.write`); ``data=streaming data.root=DIR`` trains on
them through :class:`StreamingDataModule`, which holds nothing proportional to the
dataset: batches stream from the shards (:mod:`dlzoo.data.streaming.loader`: seeded
shard order per epoch and a bounded shuffle buffer, sharded per DDP rank and per
DataLoader worker, resumable mid-epoch from the checkpoint), and the fitted
preprocessing is computed in one streaming pass over the training split
(:mod:`dlzoo.data.streaming.fit`).

The engine is webdataset rather than Lightning's litdata, which cannot be installed
beside the CPU torch dlzoo runs on (it requires torchvision; see
:mod:`dlzoo.data.streaming.write`).

With ``source`` (a data config, e.g. ``experiment=mnist_streaming``), the shards are a
cache like a download's: ``prepare_data`` writes them on first use into
``root/<12 hex digits of the source config's hash>`` (one line in the log), and checks
their checksums on every later use (rewriting a cache that fails). Without
``source``, ``root`` is a folder that ``dlzoo-shard`` wrote (or a ``pipe:`` / URL
location, see :mod:`dlzoo.data.streaming.index`).

The fitted state is the source kind's own (e.g. an image datamodule's class names,
image size and per-channel mean / std) plus ``streaming.source``, the source's data
config: ``load_fitted_state`` makes that source datamodule (without reading data) and
``net_kwargs``, ``task_kwargs``, ``class_names``, ``predict_inputs`` and
``input_transform`` are the source's, so ``dlzoo-predict`` reads new raw files (image
files, a CSV window) exactly as for an in-memory run.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from dlzoo.data.base import STAGES, DlzooDataModule, PredictInputs
from dlzoo.data.options import batch_sizes, positive_int
from dlzoo.data.state import check_plain, first_difference
from dlzoo.data.streaming.fit import OnePassScaler
from dlzoo.data.streaming.index import load_index, verify_shards
from dlzoo.data.streaming.loader import FieldScaler, Segment, StreamingLoader, iter_samples
from dlzoo.errors import ConfigError, DataError

__all__ = ["StreamingDataModule", "source_key"]

log = logging.getLogger(__name__)
# source keys that do not change what is written (the streaming config has its own)
_LOADER_KEYS = ("batch_size", "eval_batch_size", "augment")
# samples per update of the one-pass statistics
_FIT_CHUNK = 256


def _container(value: Any) -> Any:
    from omegaconf import OmegaConf

    return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value


def source_key(source: Mapping[str, Any]) -> str:
    """12 hex digits naming a source config's shards (its SHA-256 over sorted JSON)."""
    text = json.dumps(source, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


class StreamingDataModule(DlzooDataModule):
    """Batches streamed from the tar shards of any dataset; see the module doc.

    After ``prepare_data()`` and ``setup()`` (one pass over the training shards), or
    after ``load_fitted_state()`` alone: ``name`` (the source's), ``net_kwargs()``,
    ``task_kwargs()``, ``class_names``, ``predict_inputs()`` and ``input_transform()``.

    Args:
        root: the shards' folder (or URL); with ``source``, the cache folder whose
            subfolder per source config holds them.
        source: the data config to write the shards from when they are missing (a
            mapping with ``_target_``), or ``None``. Its ``batch_size`` /
            ``eval_batch_size`` are not used (this module's are); ``augment`` must be
            null (streamed batches are not augmented).
        batch_size: samples per training batch (per rank).
        eval_batch_size: samples per val / test batch; ``None`` is 4 x ``batch_size``.
        seed: seeds the shard order and the shuffle buffer; ``None`` means 0.
        shuffle_buffer: training samples shuffled together per worker (held in memory).
        num_workers: DataLoader processes per loader (0: read in the training process).
        verify: check every shard's SHA-256 in ``prepare_data`` (one read of the data).
        samples_per_shard, compress: how ``prepare_data`` writes a missing cache.

    Shapes:
        - a batch: the source's, e.g. images ``(x, y)`` x (B, C, H, W) float32 scaled,
          y (B,) int64; forecasting ``(x, y)`` x (B, window, F), y (B, horizon, C)
    """

    name: str = "streaming"

    def __init__(
        self,
        root: str | Path,
        source: Mapping[str, Any] | None = None,
        batch_size: int = 64,
        eval_batch_size: int | None = None,
        seed: int | None = 0,
        shuffle_buffer: int = 1024,
        num_workers: int = 0,
        verify: bool = True,
        samples_per_shard: int = 1000,
        compress: bool = True,
    ) -> None:
        super().__init__()
        self.batch_size, self.eval_batch_size = batch_sizes(batch_size, eval_batch_size)
        self.seed = 0 if seed is None else int(seed)
        self.shuffle_buffer = positive_int("shuffle_buffer", shuffle_buffer)
        if int(num_workers) < 0:
            raise ConfigError(f"data.num_workers={num_workers} must be 0 or more")
        self.num_workers, self.verify = int(num_workers), bool(verify)
        self.samples_per_shard = positive_int("samples_per_shard", samples_per_shard)
        self.compress = bool(compress)
        self.source = self._check_source(_container(source))
        self.root = str(root)
        if self.source is not None:
            self.root = str(Path(self.root) / source_key(self.source))
        self.index: dict[str, Any] | None = None
        self._fitted: dict[str, Any] | None = None  # the source-format state + streaming
        self._loaded: dict[str, Any] | None = None
        self._source_dm: DlzooDataModule | None = None
        self._transform: FieldScaler | None = None

    @staticmethod
    def _check_source(source: Any) -> dict[str, Any] | None:
        if source is None:
            return None
        if not isinstance(source, Mapping) or "_target_" not in source:
            raise ConfigError("data.source must be a data config with a _target_, or null")
        if source.get("augment") is not None:
            raise ConfigError("streamed batches are not augmented: set data.source.augment=null")
        return {k: v for k, v in source.items() if k not in _LOADER_KEYS}

    # ------------------------------------------------------------------ data

    def prepare_data(self) -> None:
        """Write the shards of ``source`` if they are missing; check every checksum."""
        if self.source is None:
            index = load_index(self.root)
            if self.verify:
                verify_shards(self.root, index)
            return
        try:
            index = load_index(self.root)
            if self.verify:
                verify_shards(self.root, index)
            return
        except DataError as exc:  # a missing cache, or one that fails its checks
            reason = "first use" if "has no shard index" in str(exc) else str(exc)
        from dlzoo.data.streaming.write import write_dataset

        kind = self.source["_target_"].rsplit(".", 1)[-1]
        log.info("streaming: writing the %s shards to %s (%s)", kind, self.root, reason)
        index = write_dataset(
            self.source, self.root, self.samples_per_shard, self.compress, overwrite=True
        )
        verify_shards(self.root, index)

    def setup(self, stage: str | None = None) -> None:
        """Read the index and fit the preprocessing in one pass (once; later calls return)."""
        if self.index is not None:
            return
        index = load_index(self.root)
        self.index, self.name = index, str(index["name"])
        if self._loaded is not None and stage not in (None, "fit"):
            return  # evaluating with the checkpoint's state: no pass needed
        fitted = self._fit(index)
        if self._loaded is not None:
            difference = first_difference(fitted, self._loaded)
            if difference:
                raise DataError(
                    f"data '{self.name}': the loaded fitted state differs from the one fitted "
                    f"on the shards in {self.root} ({difference}): use the shards the model "
                    "was trained on, or do not load the state"
                )
            return
        self._use_state(fitted)

    def _fit(self, index: dict[str, Any]) -> dict[str, Any]:
        """The complete fitted state, from one pass over the training split."""
        state = copy.deepcopy(index["fitted_template"])
        spec = index.get("fit")
        if spec is not None:
            fit = self._one_pass(index, spec)
            state["scaler"] = fit.scaler().state()
            if spec["targets"]:
                state["mase_scale"] = fit.mase_scale()
        state["streaming"] = {"source": index["source"]}
        check_plain(state)
        return state

    def _one_pass(self, index: dict[str, Any], spec: dict[str, Any]) -> OnePassScaler:
        field = int(spec["field"])
        shape = index["fields"][field]["shape"]
        axis = int(spec["channel_axis"])
        fit = OnePassScaler(int(shape[axis]), axis, spec["kind"], int(spec["targets"]))
        rows = index["kind"] == "series"  # series: each sample's new time steps, in order
        chunk: list[np.ndarray] = []
        for sample in self._samples(index, "train", field + 1):
            chunk.append(sample[field])
            if len(chunk) == _FIT_CHUNK:
                self._update(fit, chunk, rows)
                chunk = []
        self._update(fit, chunk, rows)
        return fit

    @staticmethod
    def _update(fit: OnePassScaler, chunk: list[np.ndarray], rows: bool) -> None:
        if not chunk:
            return
        if rows:
            fit.update(np.concatenate(chunk), sample_axes=1)
        else:
            fit.update(np.stack(chunk))

    def _samples(self, index: dict[str, Any], stage: str, decode: int) -> Iterator[tuple]:
        """Every sample of ``stage`` in index order, its first ``decode`` fields decoded."""
        shards = index["splits"][stage]["shards"]
        fields = len(index["fields"])
        for number, shard in enumerate(shards):
            segment = Segment(number, 0, int(shard["samples"]))
            yield from iter_samples(self.root, shards, segment, fields, decode)

    # ------------------------------------------------------------------ fitted state

    def _use_state(self, state: dict[str, Any]) -> None:
        """Make the source datamodule from ``state`` and the batch scaling from it."""
        from dlzoo.config.instantiate import instantiate

        streaming = state.get("streaming")
        if not isinstance(streaming, dict) or not isinstance(streaming.get("source"), dict):
            raise DataError(
                "the fitted state has no 'streaming.source': it was not written by a "
                "streaming datamodule"
            )
        source_dm = instantiate(streaming["source"], _convert_="all")
        source_dm.load_fitted_state({k: v for k, v in state.items() if k != "streaming"})
        self._source_dm, self._fitted, self.name = source_dm, state, source_dm.name
        self._transform = _field_scaler(source_dm)

    def fitted_state(self) -> dict[str, Any]:
        """The source kind's fitted state, plus ``streaming.source`` (see the module doc)."""
        self._require_fitted()
        return copy.deepcopy(self._fitted)

    def load_fitted_state(self, state: dict[str, Any]) -> None:
        """Take over a streaming run's fitted state, without reading any shard."""
        check_plain(state)
        if not isinstance(state, dict):
            raise DataError(f"a fitted state is a dict, got a {type(state).__name__}")
        if self._fitted is not None:
            difference = first_difference(self._fitted, state)
            if difference:
                raise DataError(
                    f"data '{self.name}': the loaded fitted state differs from the one "
                    f"fitted on the shards ({difference}): load the state of this data"
                )
            return
        self._use_state(state)
        self._loaded = copy.deepcopy(state)

    def _require_fitted(self) -> None:
        if self._source_dm is None or self._fitted is None:
            raise RuntimeError(
                "StreamingDataModule: call prepare_data() and setup(), or "
                "load_fitted_state(), before using it"
            )

    # ------------------------------------------------------------------ facts

    def net_kwargs(self) -> dict[str, Any]:
        """The source datamodule's (e.g. ``in_channels``, ``image_size``, ``num_classes``)."""
        self._require_fitted()
        return self._source_dm.net_kwargs()

    def task_kwargs(self) -> dict[str, Any]:
        """The source datamodule's (a forecast's target scaling and MASE scale)."""
        self._require_fitted()
        return self._source_dm.task_kwargs()

    @property
    def class_names(self) -> list[str] | None:
        """The classes of a classification source; ``None`` for others."""
        if self._source_dm is None:
            return None
        return list(getattr(self._source_dm, "class_names", None) or []) or None

    @property
    def num_classes(self) -> int:
        """K of a classification source (0 for others, or before fitting)."""
        return len(self.class_names or [])

    def labels(self, stage: str) -> torch.Tensor:
        """A classification split's labels, read in one pass over its shards: the
        majority baseline needs only these, the inputs stay on disk.

        Shapes:
            returns (N,) int64, in index order

        Raises:
            KeyError: the shards have no split ``stage``.
            RuntimeError: before setup, or for data without classes.
        """
        if self.index is None or not self.num_classes:
            raise RuntimeError("StreamingDataModule.labels: set up a classification source")
        samples = self._samples(self.index, stage, 2)  # (inputs, label)
        return torch.tensor([int(sample[1]) for sample in samples], dtype=torch.long)

    def predict_inputs(self, path: str | Path) -> PredictInputs:
        """New raw inputs, read by the source kind's reader (image files, a CSV window)."""
        self._require_fitted()
        return self._source_dm.predict_inputs(path)

    def input_transform(self) -> nn.Module:
        """The source kind's fitted input scaling (raw units in, net inputs out)."""
        self._require_fitted()
        return self._source_dm.input_transform()

    def split_record(self) -> dict[str, Any]:
        """Where the shards are, their counts and checksums' digest, the seed."""
        if self.index is None:
            raise RuntimeError("StreamingDataModule: call setup() before split_record()")
        splits = self.index["splits"]
        digest = hashlib.sha256(
            "".join(s["sha256"] for st in STAGES for s in splits[st]["shards"]).encode()
        ).hexdigest()
        return {
            "root": self.root,
            "name": self.name,
            "seed": self.seed,
            "shards_sha256": digest,
            **{f"{stage}_samples": int(splits[stage]["samples"]) for stage in STAGES},
        }

    def save_split(self, path: str | Path) -> Path:
        """Write :meth:`split_record` to an ``.npz`` file (the pipeline does, per run)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:  # an open file keeps numpy from appending ".npz"
            np.savez(f, **self.split_record())
        return path

    # ------------------------------------------------------------------ loaders

    def _loader(self, stage: str, train: bool = False) -> StreamingLoader:
        if self.index is None or self._fitted is None:
            raise RuntimeError("StreamingDataModule: call prepare_data() and setup() first")
        # Lightning's overfit_batches reuses the first batches: no shuffling then
        overfit = train and self.trainer is not None and self.trainer.overfit_batches > 0
        return StreamingLoader(
            self.root,
            self.index,
            stage,
            self.batch_size if train else self.eval_batch_size,
            shuffle=train and not overfit,
            seed=self.seed,
            shuffle_buffer=self.shuffle_buffer,
            # a last batch of one sample makes BatchNorm fail in training: drop only that
            drop_last=None if train else False,
            num_workers=self.num_workers,
            transform=self._transform,
        )

    def train_dataloader(self) -> StreamingLoader:
        return self._loader("train", train=True)

    def val_dataloader(self) -> StreamingLoader:
        return self._loader("val")

    def test_dataloader(self) -> StreamingLoader:
        return self._loader("test")

    def predict_dataloader(self) -> StreamingLoader:
        return self._loader("test")


def _field_scaler(source_dm: Any) -> FieldScaler | None:
    """The batch scaling of an image or forecasting source (others were written scaled)."""
    from dlzoo.data.image.datamodule import ImageDataModule
    from dlzoo.data.series.windowed import WindowedSeriesDataModule

    scaler = getattr(source_dm, "input_scaler", None)
    if scaler is None or scaler.kind == "none":
        return None

    def shaped(values: np.ndarray, shape: list[int]) -> torch.Tensor:
        return torch.as_tensor(values, dtype=torch.float32).view(shape)

    c = scaler.channels
    if isinstance(source_dm, ImageDataModule):
        return FieldScaler(
            {0: (shaped(scaler.offset, [1, c, 1, 1]), shaped(scaler.scale, [1, c, 1, 1]))}
        )
    if isinstance(source_dm, WindowedSeriesDataModule):
        t = scaler.first(len(source_dm.target_names))
        return FieldScaler({
            0: (shaped(scaler.offset, [1, 1, c]), shaped(scaler.scale, [1, 1, c])),
            1: (shaped(t.offset, [1, 1, t.channels]), shaped(t.scale, [1, 1, t.channels])),
        })  # fmt: skip
    return None
