"""Pooling layers by name, shared by the conv blocks and the classifier head."""

from __future__ import annotations

from torch import nn

from dlzoo.errors import ConfigError

POOLS: dict[str, type[nn.Module]] = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}
GLOBAL_POOLS: dict[str, type[nn.Module]] = {
    "avg": nn.AdaptiveAvgPool2d,
    "max": nn.AdaptiveMaxPool2d,
}


def _lookup(table: dict[str, type[nn.Module]], mode: str, what: str) -> type[nn.Module]:
    try:
        return table[mode]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown {what} {mode!r}; valid: {', '.join(sorted(table))}") from None


def make_pool2d(mode: str, size: int = 2) -> nn.Module:
    """A ``size`` x ``size`` pooling window with stride ``size``.

    Args:
        mode: ``max`` or ``avg``.
        size: window and stride; H and W shrink to ``floor(H / size)``.

    Raises:
        ConfigError: for an unknown mode.

    Shapes:
        input (B, C, H, W); output (B, C, H // size, W // size).
    """
    return _lookup(POOLS, mode, "pool")(size)


def make_global_pool2d(mode: str) -> nn.Module:
    """Pool each channel over the whole image to one value (``max`` or ``avg``).

    Shapes:
        input (B, C, H, W); output (B, C, 1, 1).
    """
    return _lookup(GLOBAL_POOLS, mode, "global pool")(1)
