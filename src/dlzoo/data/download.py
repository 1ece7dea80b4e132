"""Download files with a checksum, never leaving a half-written file behind.

A file is streamed to a temporary name in the target folder, its MD5 is checked, and
only then is it renamed into place (an atomic rename on one file system). A file that
is already there is checked too, so a truncated copy from elsewhere is caught before
it is parsed. Every failure is a one-line :class:`~dlzoo.errors.DataError` that names
the file or URL, the reason and the fix (often: put the file there by hand).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.request import urlopen

from dlzoo.errors import DataError

__all__ = ["RemoteFile", "download_file", "ensure_files", "md5sum"]

_CHUNK = 1 << 20


@dataclass(frozen=True)
class RemoteFile:
    """A file to fetch: where it comes from and its known MD5 (hex digest)."""

    url: str
    md5: str


def md5sum(path: str | os.PathLike[str]) -> str:
    """The MD5 hex digest of a file, read in chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    reason = getattr(exc, "reason", None) or exc
    return str(reason).strip().splitlines()[0] if str(reason).strip() else type(exc).__name__


def download_file(remote: RemoteFile, dest: str | os.PathLike[str], timeout: float = 60.0) -> Path:
    """Fetch ``remote.url`` into ``dest`` and check its MD5.

    Args:
        remote: the URL and the expected MD5.
        dest: the final path; its folder is created.
        timeout: seconds to wait for the server before giving up.

    Returns:
        ``dest`` as a ``Path``, holding the verified file.

    Raises:
        DataError: the download failed (offline, HTTP error, ...) or the checksum does
            not match; in both cases nothing is left at ``dest`` or beside it.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    digest = hashlib.md5(usedforsecurity=False)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urlopen(remote.url, timeout=timeout) as response:
                    for chunk in iter(lambda: response.read(_CHUNK), b""):
                        digest.update(chunk)
                        out.write(chunk)
            except (URLError, OSError, ValueError, http.client.HTTPException) as exc:
                raise DataError(
                    f"cannot download {remote.url} ({_reason(exc)}): check the network, "
                    f"or put {dest.name} in {dest.parent} by hand"
                ) from None
        if digest.hexdigest() != remote.md5:
            raise DataError(
                f"download of {remote.url} has MD5 {digest.hexdigest()}, expected "
                f"{remote.md5}: the file is corrupt or changed; try again or put a good "
                f"copy of {dest.name} in {dest.parent}"
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def ensure_files(
    files: Mapping[str, RemoteFile],
    directory: str | os.PathLike[str],
    download_missing: bool = True,
) -> dict[str, Path]:
    """Make sure every file is in ``directory`` with the right MD5, downloading if needed.

    Args:
        files: file name -> where to fetch it and its MD5.
        directory: the folder that holds (or will hold) the files.
        download_missing: fetch missing files; with ``False`` a missing file is an error.

    Returns:
        file name -> its verified path.

    Raises:
        DataError: a file is missing (and cannot or may not be downloaded) or a file
            present has the wrong checksum.
    """
    directory = Path(directory)
    paths: dict[str, Path] = {}
    for name, remote in files.items():
        path = directory / name
        if path.is_file():
            actual = md5sum(path)
            if actual != remote.md5:
                raise DataError(
                    f"{path} has MD5 {actual}, expected {remote.md5}: delete it to download "
                    f"it again from {remote.url}"
                )
        elif download_missing:
            download_file(remote, path)
        else:
            raise DataError(
                f"{path} is missing: download it from {remote.url} into {directory} "
                "(or allow downloading with download=true)"
            )
        paths[name] = path
    return paths
