"""Positional encodings: where each token is, added to what it is (lesson 5).

Attention compares every position with every other one and ignores their order: shuffle
the tokens and each output moves with its token, unchanged. A transformer adds a
vector that depends on the position to each token's vector, so that order can matter.
Both encodings here map (B, T, d_model) to (B, T, d_model), ``x + P[:T]``, and know
positions up to ``max_length`` only.
"""

from __future__ import annotations

import torch
from torch import nn

from dlzoo.errors import ConfigError

__all__ = [
    "POSITIONAL_ENCODINGS",
    "LearnedPositionalEncoding",
    "SinusoidalPositionalEncoding",
    "check_length",
    "make_positional_encoding",
    "sinusoidal_table",
]


def check_length(steps: int, max_length: int) -> None:
    """Raises ConfigError when a sequence has more positions than the encoding knows."""
    if steps > max_length:
        raise ConfigError(
            f"a sequence of {steps} steps is longer than max_length={max_length}; "
            "raise the model's max_length or truncate the sequences (the data's max_length)"
        )


def _check_sizes(d_model: int, max_length: int) -> None:
    if d_model < 1 or max_length < 1:
        raise ConfigError(f"d_model and max_length must be >= 1, got {d_model} and {max_length}")


def sinusoidal_table(max_length: int, d_model: int) -> torch.Tensor:
    """The fixed encodings of Vaswani et al. 2017, section 3.5:

    .. math::
        PE_{pos, 2i} = \\sin(pos / 10000^{2i / d}), \\quad
        PE_{pos, 2i+1} = \\cos(pos / 10000^{2i / d})

    Column pair ``i`` is a sine wave of wavelength ``2 pi 10000^(2i/d)``, from
    ``2 pi`` to ``10000 * 2 pi`` steps, so nearby positions differ in the fast columns
    and far ones in the slow columns; ``PE[pos + k]`` is a rotation of ``PE[pos]``,
    the same for every ``pos``.

    Shapes:
        output (max_length, d_model) float32 (an odd ``d_model`` ends on a sine).
    """
    position = torch.arange(max_length, dtype=torch.float64).unsqueeze(1)  # (L, 1)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)  # (ceil(d / 2),)
    angles = position / 10000.0 ** (two_i / d_model)  # (L, ceil(d / 2))
    table = torch.zeros(max_length, d_model, dtype=torch.float64)
    table[:, 0::2] = torch.sin(angles)
    table[:, 1::2] = torch.cos(angles[:, : d_model // 2])
    return table.float()


class SinusoidalPositionalEncoding(nn.Module):
    """Adds the fixed sine / cosine encodings of :func:`sinusoidal_table` (Vaswani et
    al. 2017); no parameters.

    Args:
        d_model: width of the token vectors.
        max_length: the most positions a sequence may have.

    Raises:
        ConfigError: a size below 1, or (in forward) a sequence longer than
            ``max_length``.

    Shapes:
        input (B, T, d_model) with T <= max_length; output (B, T, d_model); the buffer
        ``pe`` (max_length, d_model).
    """

    pe: torch.Tensor

    def __init__(self, d_model: int, max_length: int = 512) -> None:
        super().__init__()
        _check_sizes(d_model, max_length)
        self.max_length = max_length
        # not in the state dict: it is a function of the two sizes
        self.register_buffer("pe", sinusoidal_table(max_length, d_model), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_length(x.shape[1], self.max_length)
        return x + self.pe[: x.shape[1]]  # (B, T, d_model) + (T, d_model)


class LearnedPositionalEncoding(nn.Module):
    """Adds a learned vector per position, as BERT and GPT do (Devlin et al. 2019;
    Radford et al. 2018); Vaswani et al. 2017 found it as good as the sinusoids, but it
    cannot reach past the positions it was trained on.

    Args:
        max_length: the most positions a sequence may have.
        d_model: width of the token vectors.

    Raises:
        ConfigError: a size below 1, or (in forward) a sequence longer than
            ``max_length``.

    Shapes:
        input (B, T, d_model) with T <= max_length; output (B, T, d_model); ``weight``
        (max_length, d_model).
    """

    def __init__(self, max_length: int, d_model: int) -> None:
        super().__init__()
        _check_sizes(d_model, max_length)
        self.max_length = max_length
        # GPT-2's initialisation: small, so that positions start as a gentle nudge
        self.weight = nn.Parameter(torch.randn(max_length, d_model) * 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_length(x.shape[1], self.max_length)
        return x + self.weight[: x.shape[1]]  # (B, T, d_model) + (T, d_model)


POSITIONAL_ENCODINGS = ("sinusoidal", "learned", "none")


def make_positional_encoding(kind: str, d_model: int, max_length: int) -> nn.Module:
    """The encoding named ``sinusoidal``, ``learned`` or ``none`` (the identity: the
    net ignores order, and any length is allowed).

    Raises:
        ConfigError: an unknown name, listing the valid ones.
    """
    if kind == "sinusoidal":
        return SinusoidalPositionalEncoding(d_model, max_length)
    if kind == "learned":
        return LearnedPositionalEncoding(max_length, d_model)
    if kind == "none":
        return nn.Identity()
    raise ConfigError(
        f"unknown positional encoding {kind!r}; valid: {', '.join(POSITIONAL_ENCODINGS)}"
    )
