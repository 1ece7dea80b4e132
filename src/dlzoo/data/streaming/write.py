"""Writing a dataset as compressed tar shards and their index (``dlzoo-shard``'s engine).

The engine is webdataset (1.0.2): a shard is a tar file whose members are the fields
of consecutive samples (``000000000042.0.npy``, ``000000000042.1.npy``, ...), written by
``webdataset.TarWriter`` (numpy ``.npy`` encoding) into a gzip stream
(``train-000000.tar.gz``), through ``webdataset.gopen`` so that a ``pipe:`` command
(object storage through its own client) is a target as a local folder is. Each shard
is hashed (SHA-256) as it is written, whatever the target; the index is written last,
so a folder with an ``index.json`` is a complete dataset.

Why webdataset and not Lightning's ``litdata``: litdata 0.2.4x requires torchvision,
and every torchvision wheel on PyPI for the torch dlzoo runs on is a CUDA build whose
operators fail to register beside the CPU torch (``operator torchvision::nms does not
exist``); torchmetrics imports torchvision whenever it is installed, so installing it
breaks every Lightning import. mosaicml-streaming requires torchvision too. webdataset
is maintained, has no such dependency, and its tar shards are read by many tools.
"""

from __future__ import annotations

import gzip
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from dlzoo.data.base import STAGES
from dlzoo.data.streaming.index import (
    FORMAT,
    INDEX_FILE,
    HashingWriter,
    is_local,
    open_url,
    shard_url,
)
from dlzoo.data.streaming.sources import Sample, ShardSource, open_source
from dlzoo.errors import ConfigError

__all__ = ["ShardSink", "clear_shards", "write_dataset", "write_source"]

log = logging.getLogger(__name__)
GZIP_LEVEL = 6  # zlib's default: level 9 writes several times slower for ~2 % less


def shard_name(stage: str, number: int, compress: bool) -> str:
    return f"{stage}-{number:06d}.tar" + (".gz" if compress else "")


class ShardSink:
    """One split's samples into shards of ``samples_per_shard`` samples each.

    Args:
        root: the target (local folder, URL folder or ``pipe:`` template).
        stage: the split's name, the shards' prefix.
        samples_per_shard: samples per shard (the last one may hold fewer).
        compress: gzip each shard (``.tar.gz``) or not (``.tar``).
    """

    def __init__(self, root: str, stage: str, samples_per_shard: int, compress: bool) -> None:
        self.root, self.stage = root, stage
        self.samples_per_shard, self.compress = samples_per_shard, compress
        self.shards: list[dict[str, Any]] = []
        self.count = 0
        self._open: tuple[Any, Any, Any] | None = None  # (tar writer, gzip, hashing stream)
        self.fields: list[dict[str, Any]] | None = None

    def add(self, sample: Sample) -> None:
        """Write one sample (a tuple of arrays) as the next key."""
        from webdataset import TarWriter

        self._check_fields(sample)
        if self._open is None:
            name = shard_name(self.stage, len(self.shards), self.compress)
            stream = HashingWriter(open_url(shard_url(self.root, name), "wb"))
            gz = gzip.GzipFile(fileobj=stream, mode="wb", compresslevel=GZIP_LEVEL, mtime=0)
            # mtime fixed: the same data gives the same bytes, hence the same checksums
            writer = TarWriter(gz if self.compress else stream, compress=False, mtime=0)
            self._open = (writer, gz, stream)
            self.shards.append({"name": name, "samples": 0})
        record = {"__key__": f"{self.count:012d}"}
        record.update({f"{i}.npy": np.asarray(a) for i, a in enumerate(sample)})
        self._open[0].write(record)
        self.shards[-1]["samples"] += 1
        self.count += 1
        if self.shards[-1]["samples"] == self.samples_per_shard:
            self._close_shard()

    def _check_fields(self, sample: Sample) -> None:
        arrays = [np.asarray(a) for a in sample]
        seen = [{"dtype": str(a.dtype), "shape": list(a.shape)} for a in arrays]
        if self.fields is None:
            self.fields = seen
            return
        for i, (known, new) in enumerate(zip(self.fields, seen, strict=True)):
            if known["dtype"] != new["dtype"] or len(known["shape"]) != len(new["shape"]):
                raise ConfigError(
                    f"{self.stage} sample {self.count} field {i} is {new}, earlier ones "
                    f"{known}: every sample must have the same dtypes and dimensions"
                )
            # a dimension that varies (a window's new rows) is recorded as null
            known["shape"] = [
                a if a == b else None for a, b in zip(known["shape"], new["shape"], strict=True)
            ]

    def _close_shard(self) -> None:
        writer, gz, stream = self._open
        writer.close()
        gz.close()  # a GzipFile does not close the stream it was given
        stream.close()
        self.shards[-1].update(bytes=stream.bytes, sha256=stream.sha256.hexdigest())
        self._open = None

    def close(self) -> dict[str, Any]:
        """Finish the last shard; the split's index record."""
        if self._open is not None:
            self._close_shard()
        return {"samples": self.count, "shards": self.shards}


def clear_shards(root: str | Path, overwrite: bool) -> None:
    """Make a local target folder ready: refuse a non-empty one unless ``overwrite``.

    With ``overwrite`` only dlzoo's own files go (the index and ``{split}-*.tar*``
    shards); anything else in the folder is an error, not deleted.

    Raises:
        ConfigError: the folder is not empty (without ``overwrite``), or holds other files.
    """
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise ConfigError(f"out={root} is a file: give a folder")
    entries = sorted(root.iterdir()) if root.is_dir() else []
    if entries and not overwrite:
        raise ConfigError(
            f"out={root} is not empty ({len(entries)} entries): choose an empty folder, "
            "or add overwrite=true to replace its shards"
        )
    ours = [p for p in entries if p.name == INDEX_FILE or _is_shard(p.name)]
    others = [p for p in entries if p not in ours]
    if others:
        raise ConfigError(
            f"out={root} holds {others[0].name}, which is not a shard: overwrite=true "
            "only replaces dlzoo shards; choose another folder"
        )
    for path in ours:
        path.unlink()
    root.mkdir(parents=True, exist_ok=True)


def _is_shard(name: str) -> bool:
    return any(name.startswith(f"{s}-") for s in STAGES) and ".tar" in name


def _index(src: ShardSource, splits: dict[str, Any], fields: list[Any], **extra: Any) -> dict:
    batch_fields = len(fields) if src.batch_fields < 0 else src.batch_fields
    return {
        "format": FORMAT,
        "kind": src.kind,
        "name": src.name,
        "fields": fields,
        "batch_fields": batch_fields,
        "fit": src.fit,
        "net_kwargs": src.net_kwargs,
        "task_kwargs": src.task_kwargs,
        "class_names": src.class_names,
        "fitted_template": src.fitted_template,
        "splits": splits,
        **extra,
    }


def write_dataset(
    cfg: dict[str, Any],
    out: str | Path,
    samples_per_shard: int = 1000,
    compress: bool = True,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write every split of the dataset that ``cfg`` configures into shards at ``out``.

    Args:
        cfg: a resolved data config (a dict with ``_target_``), as ``data`` composes.
        out: a local folder, a URL folder or a ``pipe:`` command with ``{name}``.
        samples_per_shard: samples per shard.
        compress: gzip the shards.
        overwrite: replace the shards of a non-empty local folder.

    Returns:
        The index (also written to ``out/index.json``).

    Raises:
        ConfigError, DataError: bad input, before anything is written where possible.
    """
    if int(samples_per_shard) < 1:
        raise ConfigError(f"samples_per_shard={samples_per_shard} must be a positive integer")
    source = open_source(cfg)  # reads the config and the data's layout: fails early
    return write_source(source, cfg, out, samples_per_shard, compress, overwrite)


def write_source(
    source: ShardSource,
    cfg: dict[str, Any],
    out: str | Path,
    samples_per_shard: int = 1000,
    compress: bool = True,
    overwrite: bool = False,
) -> dict[str, Any]:
    """:func:`write_dataset` of an opened source (``cfg``: its data config, recorded)."""
    if is_local(out):
        clear_shards(out, overwrite)
    start = time.perf_counter()
    sinks = {s: ShardSink(str(out), s, int(samples_per_shard), bool(compress)) for s in STAGES}
    for stage, sample in source.samples():
        sinks[stage].add(sample)
    splits = {stage: sink.close() for stage, sink in sinks.items()}
    empty = [s for s in STAGES if not splits[s]["samples"]]
    if empty:
        raise ConfigError(f"data '{source.name}' has no {empty[0]} samples: nothing to stream")
    # every split's samples have the train split's layout
    fields = [{"name": str(i), **f} for i, f in enumerate(sinks["train"].fields or [])]
    index = _index(
        source,
        splits,
        fields,
        source=cfg,
        samples_per_shard=int(samples_per_shard),
        compress=bool(compress),
    )
    with open_url(shard_url(str(out), INDEX_FILE), "wb") as f:
        f.write(json.dumps(index, indent=1, sort_keys=True).encode("utf-8"))
    seconds = time.perf_counter() - start
    counts = ", ".join(f"{s} {splits[s]['samples']}" for s in STAGES)
    log.info("wrote %s (%s samples) to %s in %.1f s", source.name, counts, out, seconds)
    return index
