"""Fitted state as plain data: reading, checking and comparing it.

A datamodule's ``fitted_state()`` goes into checkpoints that are read back with
``torch.load(weights_only=True)``, which refuses anything but plain containers and
scalars. So the state is built from dicts, lists, str, int, float, bool and None only,
and a state read back is checked field by field before a datamodule trusts it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from dlzoo.errors import DataError

__all__ = [
    "check_plain",
    "first_difference",
    "get_field",
    "number_list",
    "positive_ints",
    "string_list",
]

_SCALARS = (str, int, float, bool, type(None))
# fitted on the same data, statistics agree to the last bits; across numpy builds the
# summation order may differ in the last few: well below what any change of data moves
_REL_TOL = 1e-9


def check_plain(value: Any, where: str = "fitted state") -> None:
    """Raise a DataError unless ``value`` is plain data (what ``weights_only`` loads)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise DataError(f"{where} has a key {key!r} that is not a string")
            check_plain(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            check_plain(item, f"{where}[{i}]")
    elif not isinstance(value, _SCALARS):
        raise DataError(
            f"{where} is a {type(value).__name__}: a fitted state holds plain data only "
            "(dict, list, str, int, float, bool, None)"
        )


def first_difference(a: Any, b: Any, where: str = "") -> str | None:
    """Where two plain states differ first, as ``"key: a != b"``; ``None`` when they agree.

    Numbers agree within a relative 1e-9; everything else must be equal.
    """
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{where}{key}: present in only one of them"
            found = first_difference(a[key], b[key], f"{where}{key}.")
            if found:
                return found
        return None
    label = where.rstrip(".") or "state"
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            return f"{label}: {len(a)} values != {len(b)} values"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = first_difference(x, y, f"{label}[{i}].")
            if found:
                return found
        return None
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (a, b))
    if numbers and math.isclose(a, b, rel_tol=_REL_TOL, abs_tol=1e-12):
        return None
    if not numbers and type(a) is type(b) and a == b:
        return None
    return f"{label}: {a!r} != {b!r}"


def _bad(owner: str, key: str, expected: str, value: Any) -> DataError:
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return DataError(
        f"the fitted state of data '{owner}' has {key}={shown}, expected {expected}: "
        "load a state that a dlzoo datamodule's fitted_state() wrote"
    )


def get_field(
    state: Mapping[str, Any],
    key: str,
    kind: type | tuple[type, ...],
    owner: str,
    label: str | None = None,
) -> Any:
    """``state[key]`` when it is a ``kind``, else a DataError naming ``label`` (the key)."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    value = state.get(key)
    # True is an int to isinstance, but never a count or a size here
    ok = key in state and isinstance(value, kinds)
    if ok and isinstance(value, bool) and bool not in kinds:
        ok = False
    if not ok:
        raise _bad(owner, label or key, "a " + " or ".join(k.__name__ for k in kinds), value)
    return value


def string_list(
    state: Mapping[str, Any], key: str, owner: str, label: str | None = None
) -> list[str]:
    """``state[key]`` as a non-empty list of strings, else a DataError."""
    value = state.get(key)
    if (
        not isinstance(value, list | tuple)
        or not value
        or not all(isinstance(v, str) for v in value)
    ):
        raise _bad(owner, label or key, "a non-empty list of strings", value)
    return list(value)


def number_list(
    state: Mapping[str, Any],
    key: str,
    owner: str,
    length: int | None = None,
    positive: bool = False,
    label: str | None = None,
) -> list[float]:
    """``state[key]`` as finite numbers, else a DataError.

    Args:
        state: the state (a dict) that holds the list.
        key: its key.
        owner: the dataset's name, for the message.
        length: how many numbers; ``None``: any number but 0.
        positive: every number must be > 0.
        label: the name the message gives the list (default ``key``).
    """
    value = state.get(key)
    ok = isinstance(value, list | tuple) and len(value) == (length or len(value)) and value
    ok = ok and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ok = ok and all(math.isfinite(v) and (v > 0 or not positive) for v in value)
    if not ok:
        count = "a non-empty list of" if length is None else f"a list of {length}"
        sign = "positive " if positive else ""
        raise _bad(owner, label or key, f"{count} finite {sign}numbers", value)
    return [float(v) for v in value]


def positive_ints(state: Mapping[str, Any], key: str, owner: str, length: int) -> list[int]:
    """``state[key]`` as ``length`` positive ints (e.g. an image size), else a DataError."""
    value = state.get(key)
    ok = isinstance(value, list | tuple) and len(value) == length
    if not ok or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
        raise _bad(owner, key, f"a list of {length} positive integers", value)
    return list(value)
