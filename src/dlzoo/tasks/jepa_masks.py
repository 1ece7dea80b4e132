"""Which patches a JEPA predicts: seeded random blocks of the patch grid (I-JEPA).

Assran et al. 2023, section 3: the targets are a few rectangular blocks of patches,
each covering a ``scale`` share of the image at a random aspect ratio; the context is
what is left. Blocks rather than scattered patches make the task semantic: a hidden
scattered patch can be filled in from its visible neighbours' pixels, a hidden block
only from what the digit is. I-JEPA also crops the context to a large block; here the
context is every patch that no target block covers.

One mask serves a whole batch, so that the context and target tensors stay
rectangular; the batches of an epoch still see different masks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from dlzoo.errors import ConfigError

__all__ = ["PatchMask", "block_mask", "check_mask_options"]


@dataclass(frozen=True)
class PatchMask:
    """The context and target patches of one batch: disjoint, together every patch.

    Shapes:
        context (K,) int64 and target (T,) int64, sorted patch numbers (row by row),
        K + T = rows * cols, K >= 1, T >= 1.
    """

    context: torch.Tensor
    target: torch.Tensor


def check_mask_options(
    grid: tuple[int, int], num_blocks: int, scale: Sequence[float], aspect: Sequence[float]
) -> None:
    """Raises ConfigError for masking options that cannot draw a context and a target."""
    if grid[0] * grid[1] < 2:
        raise ConfigError(
            f"a JEPA needs at least 2 patches to hide one, the patch grid is {grid[0]}x{grid[1]}: "
            "use a smaller model.patch_size"
        )
    if isinstance(num_blocks, bool) or int(num_blocks) != num_blocks or num_blocks < 1:
        raise ConfigError(f"task.target_blocks={num_blocks!r} must be an int >= 1")
    low, high = (float(v) for v in scale)
    if not 0.0 < low <= high <= 1.0:
        raise ConfigError(
            f"task.target_scale={list(scale)} must be [low, high] with 0 < low <= high <= 1 "
            "(the share of the patches one target block covers)"
        )
    low, high = (float(v) for v in aspect)
    if not 0.0 < low <= high:
        raise ConfigError(
            f"task.target_aspect={list(aspect)} must be [low, high] with 0 < low <= high "
            "(height / width of a target block)"
        )


def _uniform(low: float, high: float, generator: torch.Generator) -> float:
    return low + (high - low) * float(torch.rand((), generator=generator))


def _block_shape(
    grid: tuple[int, int], scale: Sequence[float], aspect: Sequence[float], gen: torch.Generator
) -> tuple[int, int]:
    """(height, width) of one block: ``scale`` of the patches at an ``aspect`` ratio
    (drawn log-uniformly, so 1/2 and 2 are as likely), never the whole grid."""
    rows, cols = grid
    area = _uniform(*scale, gen) * rows * cols
    ratio = math.exp(_uniform(math.log(aspect[0]), math.log(aspect[1]), gen))
    height = min(rows, max(1, round(math.sqrt(area * ratio))))
    width = min(cols, max(1, round(math.sqrt(area / ratio))))
    if height == rows and width == cols:  # leave the context at least one patch
        if rows >= cols:
            height -= 1
        else:
            width -= 1
    return height, width


def block_mask(
    grid: tuple[int, int],
    num_blocks: int,
    scale: Sequence[float],
    aspect: Sequence[float],
    generator: torch.Generator,
) -> PatchMask:
    """Draw ``num_blocks`` target blocks at random places; the context is the rest.

    A block that would cover the last context patch is not drawn, so the context is
    never empty; the first block always is drawn, so the target never is.

    Args:
        grid: rows and columns of patches (at least 2 patches).
        num_blocks: target blocks (they may overlap).
        scale: ``[low, high]`` share of the patches one block covers.
        aspect: ``[low, high]`` height / width of a block.
        generator: the seeded source of every random draw.

    Returns:
        The batch's :class:`PatchMask`.
    """
    rows, cols = grid
    hidden = torch.zeros(rows, cols, dtype=torch.bool)
    for _ in range(num_blocks):
        height, width = _block_shape(grid, scale, aspect, generator)
        top = int(torch.randint(0, rows - height + 1, (), generator=generator))
        left = int(torch.randint(0, cols - width + 1, (), generator=generator))
        proposal = hidden.clone()
        proposal[top : top + height, left : left + width] = True
        if not bool(proposal.all()):
            hidden = proposal
    flat = hidden.flatten()
    return PatchMask(context=torch.nonzero(~flat).flatten(), target=torch.nonzero(flat).flatten())
