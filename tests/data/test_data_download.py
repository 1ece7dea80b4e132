"""Downloads: checksum verified, written atomically, one-line errors when offline."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from dlzoo.data.download import RemoteFile, download_file, ensure_files, md5sum
from dlzoo.data.image.fashion import read_idx
from dlzoo.errors import DataError

URL = "http://files.example.invalid/a.bin"
PAYLOAD = b"dlzoo" * 1000
GOOD = RemoteFile(URL, hashlib.md5(PAYLOAD).hexdigest())


def test_download_verifies_and_renames(server, tmp_path) -> None:
    server.files[URL] = PAYLOAD
    path = download_file(GOOD, tmp_path / "sub" / "a.bin")
    assert path.read_bytes() == PAYLOAD and md5sum(path) == GOOD.md5
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.bin"]  # no temporary left


def test_bad_checksum_leaves_no_file(server, tmp_path) -> None:
    server.files[URL] = PAYLOAD[:-1]
    with pytest.raises(DataError, match="MD5") as err:
        download_file(GOOD, tmp_path / "a.bin")
    assert "\n" not in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_offline_names_url_reason_and_fix(server, tmp_path) -> None:
    server.offline = True
    with pytest.raises(DataError) as err:
        download_file(GOOD, tmp_path / "a.bin")
    message = str(err.value)
    assert URL in message and "name resolution" in message and str(tmp_path) in message
    assert "\n" not in message
    assert list(tmp_path.iterdir()) == []


def test_http_error_is_a_data_error(server, tmp_path) -> None:
    with pytest.raises(DataError, match="404"):
        download_file(GOOD, tmp_path / "a.bin")


def test_ensure_files_checks_present_files_and_downloads_once(server, tmp_path) -> None:
    server.files[URL] = PAYLOAD
    paths = ensure_files({"a.bin": GOOD}, tmp_path)
    assert paths["a.bin"].read_bytes() == PAYLOAD
    ensure_files({"a.bin": GOOD}, tmp_path)
    assert server.requests == [URL]  # the second call found a good file
    paths["a.bin"].write_bytes(b"truncated")
    with pytest.raises(DataError, match="delete it"):
        ensure_files({"a.bin": GOOD}, tmp_path)
    with pytest.raises(DataError, match="missing"):
        ensure_files({"b.bin": GOOD}, tmp_path, download_missing=False)


def test_read_idx_round_trip_and_corrupt_files(make_idx, tmp_path) -> None:
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    good = tmp_path / "x-idx3-ubyte.gz"
    good.write_bytes(make_idx(array))
    np.testing.assert_array_equal(read_idx(good), array)
    raw = tmp_path / "raw-idx3-ubyte"
    raw.write_bytes(make_idx(array))
    with pytest.raises(DataError):  # gzip bytes under a plain name: not an idx file
        read_idx(raw)
    truncated = tmp_path / "t-idx3-ubyte.gz"
    truncated.write_bytes(make_idx(array)[:-5])
    with pytest.raises(DataError, match="fetched again"):
        read_idx(truncated)
