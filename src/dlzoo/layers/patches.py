"""Images as sequences of patches: cut, put back, embed with their grid positions.

A vision transformer (Dosovitskiy et al. 2021, "An Image is Worth 16x16 Words") cuts an
image into non-overlapping ``p x p`` patches, flattens each one and reads the patches
as a sequence of tokens. The patches go row by row: patch ``r * grid_w + c`` is the
one in grid row ``r``, column ``c``. A patch's position is a grid cell, so its
positional encoding is two-dimensional; the sine / cosine one (as in MAE and I-JEPA)
spends half of the width on the row and half on the column.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import torch
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.layers.positional import sinusoidal_table
from dlzoo.layers.shapes import image_size_pair

__all__ = [
    "PATCH_POSITIONALS",
    "PatchPositionalEncoding",
    "grid_sincos_table",
    "patch_grid",
    "patchify",
    "unpatchify",
]


def patch_grid(image_size: int | Iterable[int], patch_size: int) -> tuple[int, int]:
    """Rows and columns of patches that tile an image exactly.

    Raises:
        ConfigError: ``patch_size`` is not a positive int or does not divide both
            sides of ``image_size``.
    """
    height, width = image_size_pair(image_size, "image_size")
    if (
        isinstance(patch_size, bool)
        or not isinstance(patch_size, numbers.Integral)
        or patch_size < 1
    ):
        raise ConfigError(f"patch_size must be a positive int, got {patch_size!r}")
    if height % patch_size or width % patch_size:
        raise ConfigError(
            f"patch_size={patch_size} does not divide image_size=({height}, {width}): "
            "pick a patch_size that divides both sides (e.g. 4 for 28x28 and 8x8 images)"
        )
    return height // patch_size, width // patch_size


def patchify(x: torch.Tensor, patch_size: int) -> torch.Tensor:
    """Cut images into flattened ``patch_size`` squares, row by row.

    Each patch is flattened channel first, then its rows: ``patch[c * p * p + i * p + j]``
    is pixel ``(i, j)`` of channel ``c`` in the patch.

    Raises:
        ConfigError: ``patch_size`` does not divide the images' sides.

    Shapes:
        x (B, C, H, W); output (B, (H / p) * (W / p), C * p * p).
    """
    batch, channels, height, width = x.shape
    rows, cols = patch_grid((height, width), patch_size)
    p = patch_size
    x = x.reshape(batch, channels, rows, p, cols, p)
    x = x.permute(0, 2, 4, 1, 3, 5)  # (B, rows, cols, C, p, p)
    return x.reshape(batch, rows * cols, channels * p * p)


def unpatchify(
    patches: torch.Tensor, patch_size: int, image_size: int | Iterable[int]
) -> torch.Tensor:
    """Put :func:`patchify`'s patches back into images.

    Raises:
        ConfigError: the patches do not tile ``image_size``.

    Shapes:
        patches (B, N, C * p * p) with N = (H / p) * (W / p); output (B, C, H, W).
    """
    rows, cols = patch_grid(image_size, patch_size)
    batch, count, size = patches.shape
    p = patch_size
    if count != rows * cols or size % (p * p):
        raise ConfigError(
            f"{count} patches of {size} values do not tile image_size="
            f"{image_size_pair(image_size)} with patch_size={p}"
        )
    channels = size // (p * p)
    x = patches.reshape(batch, rows, cols, channels, p, p)
    x = x.permute(0, 3, 1, 4, 2, 5)  # (B, C, rows, p, cols, p)
    return x.reshape(batch, channels, rows * p, cols * p)


def grid_sincos_table(grid: tuple[int, int], d_model: int) -> torch.Tensor:
    """Fixed 2-D sine / cosine encodings of the cells of a patch grid (as MAE's):
    the first half of the columns is :func:`~dlzoo.layers.positional.sinusoidal_table`
    of the cell's row, the second half that of its column.

    Raises:
        ConfigError: an odd ``d_model`` (the halves must be equal).

    Shapes:
        output (rows * cols, d_model), row by row as :func:`patchify`.
    """
    if d_model < 2 or d_model % 2:
        raise ConfigError(f"a 2-D sine / cosine encoding needs an even d_model, got {d_model}")
    rows, cols = grid
    half = d_model // 2
    row_table = sinusoidal_table(rows, half)  # (rows, d / 2)
    col_table = sinusoidal_table(cols, half)  # (cols, d / 2)
    return torch.cat(
        [
            row_table.repeat_interleave(cols, dim=0),  # cell r * cols + c -> row r
            col_table.repeat(rows, 1),  # ... -> column c
        ],
        dim=1,
    )


PATCH_POSITIONALS = ("sinusoidal", "learned")


class PatchPositionalEncoding(nn.Module):
    """Adds each patch's grid-position vector to its token, for all patches or for a
    chosen subset (a JEPA's context encoder sees only some patches, at their own
    positions).

    Args:
        grid: rows and columns of patches.
        d_model: width of the tokens.
        kind: ``sinusoidal`` (fixed, :func:`grid_sincos_table`) or ``learned`` (one
            trained vector per cell, GPT-2's small initialisation).

    Raises:
        ConfigError: an unknown ``kind``, or an odd ``d_model`` for ``sinusoidal``.

    Shapes:
        input x (B, K, d_model) and index (K,) int64 (the patches of ``x``, row by row
        numbering) or ``None`` (all ``rows * cols`` patches, in order); output
        (B, K, d_model).
    """

    def __init__(self, grid: tuple[int, int], d_model: int, kind: str = "sinusoidal") -> None:
        super().__init__()
        count = grid[0] * grid[1]
        if kind == "sinusoidal":
            # not in the state dict: a function of the sizes
            self.register_buffer("table", grid_sincos_table(grid, d_model), persistent=False)
        elif kind == "learned":
            self.table = nn.Parameter(torch.randn(count, d_model) * 0.02)
        else:
            raise ConfigError(
                f"unknown patch positional encoding {kind!r}; valid: {', '.join(PATCH_POSITIONALS)}"
            )

    def forward(self, x: torch.Tensor, index: torch.Tensor | None = None) -> torch.Tensor:
        table = self.table if index is None else self.table[index]  # (K, d_model)
        return x + table
