"""Checks of datamodule config values, each failing as one ConfigError naming the key."""

from __future__ import annotations

from typing import Any

from dlzoo.errors import ConfigError

__all__ = ["batch_sizes", "check_fractions", "positive_int"]


def positive_int(key: str, value: Any) -> int:
    """``value`` as an int, or a ConfigError naming ``data.<key>``."""
    if isinstance(value, bool) or int(value) != value or int(value) < 1:
        raise ConfigError(f"data.{key}={value} must be a positive integer")
    return int(value)


def batch_sizes(batch_size: Any, eval_batch_size: Any) -> tuple[int, int]:
    """The training and the val / test batch size, checked; ``eval_batch_size=None`` is
    4 x ``batch_size`` (no activations kept for a backward pass, fewer batches)."""
    train = positive_int("batch_size", batch_size)
    if eval_batch_size is None:
        return train, 4 * train
    return train, positive_int("eval_batch_size", eval_batch_size)


def check_fractions(
    val_fraction: float, test_fraction: float | None = None
) -> tuple[float, float | None]:
    """The validation and test shares of a split, checked.

    Args:
        val_fraction: share for validation, in (0, 1).
        test_fraction: share for testing, or ``None`` where the dataset publishes its
            own test part (then only ``val_fraction`` is checked).

    Returns:
        ``(val_fraction, test_fraction)`` as floats (``test_fraction`` may be ``None``).

    Raises:
        ConfigError: a share outside (0, 1), or two shares that leave nothing to train on.
    """
    if test_fraction is None:
        if not 0.0 < val_fraction < 1.0:
            raise ConfigError(f"data.val_fraction={val_fraction} must be between 0 and 1")
        return float(val_fraction), None
    if not (val_fraction > 0.0 and test_fraction > 0.0 and val_fraction + test_fraction < 1):
        raise ConfigError(
            f"data.val_fraction={val_fraction} and data.test_fraction={test_fraction} "
            "must be > 0 and sum to less than 1 (e.g. 0.15 and 0.15)"
        )
    return float(val_fraction), float(test_fraction)
