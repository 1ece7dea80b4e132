"""Reading text files: an encoding, and a fallback for the files that fail it."""

from __future__ import annotations

import codecs
import logging
from pathlib import Path

from dlzoo.errors import ConfigError, DataError

__all__ = ["SHOWN", "TextDecoder"]

log = logging.getLogger(__name__)

# sources named in the log lines about dropped documents / fallback files
SHOWN = 5


class TextDecoder:
    """Reads text files with an encoding, and a fallback for files that fail it.

    Args:
        encoding: the files' encoding (a Python codec name, e.g. ``utf-8``).
        fallback: tried where ``encoding`` fails (e.g. ``cp1252``), or ``None``.
    """

    def __init__(self, encoding: str = "utf-8", fallback: str | None = None) -> None:
        self.encoding = _codec("encoding", encoding)
        self.fallback = None if fallback is None else _codec("encoding_fallback", fallback)
        self.fell_back: list[str] = []  # the files that needed the fallback

    def decode(self, data: bytes, where: str) -> str:
        """``data`` as text; ``where`` names its file in the error and the fallback list."""
        try:
            return data.decode(self.encoding)
        except UnicodeDecodeError as exc:
            if self.fallback is not None:
                try:
                    text = data.decode(self.fallback)
                except UnicodeDecodeError:
                    pass
                else:
                    self.fell_back.append(where)
                    return text
            tried = self.encoding + (f" or {self.fallback}" if self.fallback else "")
            raise DataError(
                f"{where} is not {tried} text (byte {data[exc.start]:#04x} at offset "
                f"{exc.start}): set data.encoding=<its encoding> or "
                "data.encoding_fallback=cp1252 (e.g. for Windows files)"
            ) from None

    def read(self, path: Path) -> str:
        """The text of file ``path``."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise DataError(f"cannot read {path} ({exc.strerror}): check the file") from None
        return self.decode(data, str(path))

    def log_fallbacks(self, owner: str) -> None:
        """Say which files the fallback decoded (once per read)."""
        if self.fell_back:
            shown = ", ".join(self.fell_back[:SHOWN])
            more = "" if len(self.fell_back) <= SHOWN else ", ..."
            log.info(
                "data '%s': %d file(s) are not %s and were read as %s: %s%s",
                owner,
                len(self.fell_back),
                self.encoding,
                self.fallback,
                shown,
                more,
            )
        self.fell_back = []


def _codec(key: str, name: str) -> str:
    try:
        return codecs.lookup(str(name)).name
    except LookupError:
        raise ConfigError(
            f"data.{key}={name!r} is not a text encoding Python knows: use e.g. utf-8, "
            "cp1252 or latin-1"
        ) from None
