"""Checks for the shape arguments that nets and datamodules share."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

from dlzoo.errors import ConfigError


def _positive_int(value: Any) -> int | None:
    """``value`` as an int when it is a whole number >= 1 (``8``, ``8.0``, a numpy int),
    else ``None``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    if not math.isfinite(value) or value < 1 or value != int(value):
        return None
    return int(value)


def image_size_pair(value: int | Iterable[int], where: str = "image_size") -> tuple[int, int]:
    """An image size as ``(height, width)``.

    Args:
        value: one positive int for a square image, or two of them (a list, tuple or
            OmegaConf ``ListConfig``) for height and width.
        where: the config key the value came from, for the error message (e.g.
            ``data.image_size``).

    Raises:
        ConfigError: naming ``where`` and the value when it is not one or two
            positive whole numbers.
    """
    if isinstance(value, numbers.Real):
        items: list[Any] = [value, value]
    else:
        try:
            items = list(value)  # type: ignore[arg-type]
        except TypeError:
            items = []
    size = [_positive_int(item) for item in items]
    if len(size) != 2 or None in size:
        raise ConfigError(
            f"{where}={value!r} must be a positive int or [height, width] of positive ints"
        )
    return size[0], size[1]  # type: ignore[return-value]
