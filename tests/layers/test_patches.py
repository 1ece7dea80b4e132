"""Patches: the row-by-row order by hand, patchify and unpatchify invert each other, the
grid check, and the 2-D positional encodings hold the 1-D tables per row and column."""

from __future__ import annotations

import pytest
import torch

from dlzoo.errors import ConfigError
from dlzoo.layers.patches import (
    PatchPositionalEncoding,
    grid_sincos_table,
    patch_grid,
    patchify,
    unpatchify,
)
from dlzoo.layers.positional import sinusoidal_table


def test_patches_go_row_by_row_and_flatten_channel_then_rows() -> None:
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    patches = patchify(x, 2)
    assert patches.shape == (1, 4, 4)
    expected = [[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]]
    torch.testing.assert_close(patches[0], torch.tensor(expected, dtype=torch.float32))
    two = torch.stack([x[0, 0], 100 + x[0, 0]]).unsqueeze(0)  # (1, 2, 4, 4)
    first = patchify(two, 2)[0, 0]
    torch.testing.assert_close(first, torch.tensor([0.0, 1, 4, 5, 100, 101, 104, 105]))


def test_unpatchify_inverts_patchify_on_a_non_square_image() -> None:
    x = torch.randn(2, 3, 8, 12)
    patches = patchify(x, 4)
    assert patches.shape == (2, 6, 48)
    torch.testing.assert_close(unpatchify(patches, 4, (8, 12)), x, rtol=0, atol=0)
    with pytest.raises(ConfigError, match="do not tile"):
        unpatchify(patches[:, :5], 4, (8, 12))


def test_patch_grid_names_a_patch_size_that_does_not_divide() -> None:
    assert patch_grid((28, 28), 7) == (4, 4) and patch_grid(8, 4) == (2, 2)
    assert patch_grid((8, 12), 4) == (2, 3)
    with pytest.raises(ConfigError, match=r"patch_size=7 does not divide image_size=\(8, 8\)"):
        patch_grid((8, 8), 7)
    for bad in (0, -2, 2.5, True):
        with pytest.raises(ConfigError, match="positive int"):
            patch_grid(8, bad)


def test_grid_table_is_the_row_table_then_the_column_table() -> None:
    table = grid_sincos_table((2, 3), 8)
    assert table.shape == (6, 8)
    rows, cols = sinusoidal_table(2, 4), sinusoidal_table(3, 4)
    for cell in range(6):
        r, c = divmod(cell, 3)
        torch.testing.assert_close(table[cell], torch.cat([rows[r], cols[c]]))
    with pytest.raises(ConfigError, match="even d_model"):
        grid_sincos_table((2, 3), 7)


@pytest.mark.parametrize("kind", ["sinusoidal", "learned"])
def test_positions_of_a_subset_are_those_patches_own(kind: str) -> None:
    encoding = PatchPositionalEncoding((2, 3), 4, kind)
    x = torch.zeros(2, 6, 4)
    every = encoding(x)
    index = torch.tensor([5, 1])
    torch.testing.assert_close(encoding(x[:, index], index), every[:, index])
    assert not torch.equal(every[0, 0], every[0, 1])
    with pytest.raises(ConfigError, match="unknown patch positional"):
        PatchPositionalEncoding((2, 3), 4, "rotary")
