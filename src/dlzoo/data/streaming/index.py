"""The shard index of a streamed dataset, where its shards live, and their checksums.

``dlzoo-shard`` (:mod:`dlzoo.cli.shard`) writes a dataset as compressed tar shards
(``train-000000.tar.gz``, ...) beside an ``index.json``; the streaming datamodule
(:mod:`dlzoo.data.streaming.datamodule`) reads both. The index says everything a run needs without
opening a shard:

- ``splits``: per split, the sample count and the shards in order, each with its sample
  count, size in bytes and SHA-256;
- ``fields``: what one sample holds (name, dtype, per-sample shape; ``null`` for a
  dimension that varies); the first ``batch_fields`` of them form a batch, in the order
  the source datamodule's batches have them (e.g. ``(x, y)``);
- ``kind`` (``image``, ``series`` or ``tensors``) and ``fit``: the preprocessing that
  the streaming datamodule fits in one pass over the training split (which field, which
  axis holds the channels, standard / minmax / none);
- ``source``: the data config the shards were written from; ``net_kwargs``,
  ``task_kwargs``, ``class_names`` and ``fitted_template`` (the source kind's fitted
  state, completed by the one-pass fit), so prediction can use the source kind's reader.

Where shards live: a local folder, or a URL that webdataset's ``gopen`` opens: a
``pipe:`` command with ``{name}`` where the file name goes (object storage through its
own client, e.g. ``pipe:aws s3 cp s3://bucket/mnist/{name} -`` to read and
``pipe:aws s3 cp - s3://bucket/mnist/{name}`` to write), or an ``http(s)://`` folder.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import IO, Any

from dlzoo.data.base import STAGES
from dlzoo.errors import DataError

__all__ = [
    "FORMAT",
    "INDEX_FILE",
    "HashingReader",
    "HashingWriter",
    "is_local",
    "load_index",
    "open_url",
    "read_problem",
    "shard_url",
    "verify_shards",
]

FORMAT = "dlzoo-shards/1"
INDEX_FILE = "index.json"
# seconds an HTTP server may take to answer (a read that stalls this long fails too)
HTTP_TIMEOUT_S = 30
# what read_index needs in an index, at least
_KEYS = ("format", "kind", "name", "fields", "batch_fields", "splits", "source")
_HASH_BLOCK = 1 << 20


def is_local(root: str | Path) -> bool:
    """Whether ``root`` is a local folder (not a ``pipe:`` command or a URL)."""
    text = str(root)
    return not (text.startswith("pipe:") or "://" in text)


def shard_url(root: str | Path, name: str) -> str:
    """Where the file ``name`` (a shard or the index) of ``root`` is.

    Args:
        root: a local folder, a URL folder (``https://host/data``) or a ``pipe:``
            command with ``{name}`` in it.
        name: e.g. ``train-000000.tar.gz`` or ``index.json``.
    """
    text = str(root)
    if "{name}" in text:
        return text.replace("{name}", name)
    if is_local(text):
        return str(Path(text) / name)
    return text.rstrip("/") + "/" + name


def open_url(url: str, mode: str) -> IO[bytes]:
    """Open a local file or a URL (``rb`` or ``wb``): ``http(s)://`` reads with the
    standard library, anything else through webdataset's ``gopen``.

    Raises:
        DataError: it cannot be opened (naming the URL and why).
    """
    if mode == "rb" and url.startswith(("http://", "https://")):
        return _open_http(url)
    from webdataset.gopen import gopen

    try:
        return gopen(url, mode)
    except OSError as exc:
        raise DataError(f"cannot open {url} ({exc.strerror or exc})") from None


def _open_http(url: str) -> IO[bytes]:
    """A streamed HTTP(S) response. Not webdataset's ``curl`` pipe: that one needs curl,
    retries a missing server for a minute and reports only curl's exit status."""
    import urllib.error
    import urllib.request

    try:
        return urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        raise DataError(
            f"cannot open {url} (HTTP {exc.code} {exc.reason}): check data.root, and that "
            "the server has the shards there"
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        reason = getattr(reason, "strerror", None) or reason
        raise DataError(
            f"cannot open {url} ({reason}): check data.root, and that the server is up"
        ) from None


def read_problem(exc: OSError) -> str:
    """Why reading failed, in words: a ``pipe:`` command's exit status rather than
    webdataset's whole argument tuple."""
    status = re.search(r"exit (\d+) \(read\)", str(exc))
    return f"its command exited with status {status.group(1)}" if status else str(exc)


class HashingWriter:
    """A write-only stream that hashes (SHA-256) and counts what passes through it.

    Args:
        stream: the stream written to (a file, or a ``pipe:`` command's stdin).
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.sha256 = hashlib.sha256()
        self.bytes = 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.bytes += len(data)
        return self.stream.write(data)

    def flush(self) -> None:
        self.stream.flush()

    def close(self) -> None:
        self.stream.close()


class HashingReader:
    """A read-only stream that hashes (SHA-256) what is read through it.

    Args:
        stream: the stream read from.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.sha256 = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.sha256.update(data)
        return data

    def hexdigest_to_end(self) -> str:
        """Read (and hash) what is left, then return the whole stream's digest."""
        while self.read(_HASH_BLOCK):
            pass
        return self.sha256.hexdigest()

    def close(self) -> None:
        self.stream.close()


def _fail(root: str | Path, problem: str) -> DataError:
    return DataError(
        f"the shard index {shard_url(root, INDEX_FILE)} {problem}: write the shards again "
        "with dlzoo-shard data=NAME out=DIR overwrite=true"
    )


def load_index(root: str | Path) -> dict[str, Any]:
    """Read and check ``root``'s ``index.json``.

    Raises:
        DataError: the index is missing, unreadable, of another format, or lacks a key
            or a split.
    """
    url = shard_url(root, INDEX_FILE)
    if is_local(root) and not Path(url).is_file():
        raise DataError(
            f"{root} has no shard index ({INDEX_FILE}): write one with "
            f"dlzoo-shard data=NAME out={root}, or set data.source to write it on first use"
        )
    try:
        with open_url(url, "rb") as f:
            index = json.loads(f.read().decode("utf-8"))
    except OSError as exc:
        raise DataError(
            f"the shard index {url} cannot be read ({read_problem(exc)}): check data.root, "
            "or write the shards there with dlzoo-shard data=NAME out=..."
        ) from None
    except ValueError as exc:
        raise _fail(root, f"cannot be read ({exc})") from None
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise _fail(root, f"is not a {FORMAT} index")
    missing = [k for k in _KEYS if k not in index]
    if missing:
        raise _fail(root, f"has no '{missing[0]}'")
    absent = [s for s in STAGES if s not in index["splits"]]
    if absent:
        raise _fail(root, f"has no '{absent[0]}' split")
    for stage in STAGES:
        split = index["splits"][stage]
        if split["samples"] != sum(s["samples"] for s in split["shards"]) or not split["samples"]:
            raise _fail(root, f"has a {stage} split of {split['samples']} samples that its "
                        "shards do not add up to (or none)")  # fmt: skip
    return index


def file_sha256(url: str) -> str:
    """The SHA-256 of a local file or a URL's content, read in blocks.

    Raises:
        DataError: it cannot be read.
    """
    try:
        with open_url(url, "rb") as f:
            return HashingReader(f).hexdigest_to_end()
    except OSError as exc:
        raise DataError(f"shard {url} cannot be read ({read_problem(exc)})") from None


def verify_shards(root: str | Path, index: dict[str, Any]) -> None:
    """Check every shard's SHA-256 against the index (reads every shard once).

    Raises:
        DataError: a shard is missing or its content is not what was written, naming it.
    """
    for stage in STAGES:
        for shard in index["splits"][stage]["shards"]:
            url = shard_url(root, shard["name"])
            if is_local(root) and not Path(url).is_file():
                raise DataError(
                    f"shard {url} is missing: write the shards again with dlzoo-shard "
                    "... overwrite=true"
                )
            if file_sha256(url) != shard["sha256"]:
                raise corrupt_shard(url)


def corrupt_shard(url: str) -> DataError:
    """The error for a shard whose content differs from what the index recorded."""
    return DataError(
        f"shard {url} is corrupt: its SHA-256 differs from the one in {INDEX_FILE}; write "
        "the shards again with dlzoo-shard ... overwrite=true (or restore that file)"
    )
