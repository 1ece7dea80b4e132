"""Blocks for batches of variable-length sequences: masks, pooling over time, additive
attention, a masked 1-d convolution unit and the one head that every sequence net ends
in (classification or forecasting).

A batch of sequences is ``(B, T, H)``, zero-padded after each sequence's end, with
``lengths`` (B,) or the equivalent ``mask`` (B, T) (``True`` on real steps). ``None``
for either means every sequence is full length. Every block here gives the same result
for a sequence whether it is alone or padded in a batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.layers.activations import ActivationLike, make_activation
from dlzoo.layers.dense import DenseStack

# --------------------------------------------------------------------------- masks, pooling


def lengths_to_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """A padding mask from sequence lengths.

    Args:
        lengths: number of real steps of each sequence, each in ``[1, max_len]``.
        max_len: ``T``, the padded length.

    Shapes:
        lengths (B,); output (B, T) bool, ``True`` where ``t < lengths[b]``.
    """
    steps = torch.arange(max_len, device=lengths.device)  # (T,)
    return steps.unsqueeze(0) < lengths.unsqueeze(1)  # (B, T)


def masked_mean_pool(h: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over the real steps of each sequence.

    Shapes:
        h (B, T, H); mask (B, T) bool or ``None``; output (B, H).
    """
    if mask is None:
        return h.mean(dim=1)
    # masked_fill, not a product, so that a NaN in the padding cannot leak in
    total = h.masked_fill(~mask.unsqueeze(-1), 0.0).sum(dim=1)  # (B, H)
    return total / mask.sum(dim=1, keepdim=True).to(h.dtype)


def masked_max_pool(h: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Maximum over the real steps of each sequence (padding is never the maximum).

    Shapes:
        h (B, T, H); mask (B, T) bool or ``None``; output (B, H).
    """
    if mask is None:
        return h.amax(dim=1)
    return h.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(dim=1)  # (B, H)


def last_step_pool(h: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """The last real step of each sequence, ``h[b, lengths[b] - 1]``.

    The mask must be a prefix mask (real steps first, then padding), as
    :func:`lengths_to_mask` makes.

    Shapes:
        h (B, T, H); mask (B, T) bool or ``None``; output (B, H).
    """
    if mask is None:
        return h[:, -1]
    last = mask.sum(dim=1) - 1  # (B,)
    index = last.view(-1, 1, 1).expand(-1, 1, h.shape[-1])  # (B, 1, H)
    return h.gather(1, index).squeeze(1)  # (B, H)


SequencePool = Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]
SEQUENCE_POOLS: dict[str, SequencePool] = {
    "last": last_step_pool,
    "mean": masked_mean_pool,
    "max": masked_max_pool,
}


def resolve_sequence_pool(name: str) -> SequencePool:
    """The pooling function for ``last``, ``mean`` or ``max``.

    Raises:
        ConfigError: naming the bad value and the valid names.
    """
    try:
        return SEQUENCE_POOLS[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown pooling {name!r}; valid poolings: {', '.join(SEQUENCE_POOLS)}"
        ) from None


# --------------------------------------------------------------------------- attention


class AttentionPooling(nn.Module):
    """Additive attention pooling over time (Bahdanau, Cho & Bengio 2015, "Neural Machine
    Translation by Jointly Learning to Align and Translate"), with a learned query in
    place of the decoder state, as in Yang et al. 2016 and Raffel & Ellis 2016:

    .. math::
        e_t = v^\\top \\tanh(W h_t + b), \\quad
        \\alpha = \\operatorname{softmax}_{t \\in \\text{valid}}(e), \\quad
        c = \\sum_t \\alpha_t h_t

    Padded steps get a score of ``-inf`` before the softmax, so their weight is exactly 0
    and the weights of each sequence sum to 1 over its real steps.

    Args:
        hidden_size: ``H``, the size of each step's vector.
        attention_size: width of the hidden layer ``W``; ``None`` uses ``hidden_size``.

    Shapes:
        input h (B, T, H) and mask (B, T) bool or ``None``; output the pooled vector
        (B, H) and the weights (B, T).
    """

    def __init__(self, hidden_size: int, attention_size: int | None = None) -> None:
        super().__init__()
        attention_size = attention_size or hidden_size
        self.proj = nn.Linear(hidden_size, attention_size)
        self.score = nn.Linear(attention_size, 1, bias=False)

    def forward(
        self, h: torch.Tensor, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        scores = self.score(torch.tanh(self.proj(h))).squeeze(-1)  # (B, T)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=1)  # (B, T)
        pooled = torch.bmm(weights.unsqueeze(1), h).squeeze(1)  # (B, H)
        return pooled, weights


# --------------------------------------------------------------------------- 1-d convolution


class MaskedBatchNorm1d(nn.BatchNorm1d):
    """``BatchNorm1d`` over (B, C, T) whose training statistics count real steps only
    (Ioffe & Szegedy 2015).

    Plain batch norm would average the zero padding into the batch mean and variance,
    so a batch of short sequences would be normalised differently from the same
    sequences unpadded, and the running statistics used at evaluation would not match
    training. Without a mask, or in evaluation mode, this is ``nn.BatchNorm1d``.

    Args:
        num_features: ``C``, the number of channels.
        eps: added to the variance for numerical stability.
        momentum: weight of the new batch in the running statistics; ``None`` gives a
            cumulative average, as in ``nn.BatchNorm1d``.

    Shapes:
        input x (B, C, T) and mask (B, T) bool or ``None``; output (B, C, T).
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1) -> None:
        super().__init__(num_features, eps=eps, momentum=momentum)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is None or not self.training:
            return super().forward(x)
        keep = mask.unsqueeze(1).to(x.dtype)  # (B, 1, T)
        count = keep.sum()
        mean = (x * keep).sum(dim=(0, 2)) / count  # (C,)
        var = ((x - mean[:, None]).square() * keep).sum(dim=(0, 2)) / count  # (C,), biased
        with torch.no_grad():
            self.num_batches_tracked.add_(1)
            momentum = self.momentum
            if momentum is None:
                momentum = 1.0 / float(self.num_batches_tracked)
            # the running variance is unbiased, as in nn.BatchNorm1d
            unbiased = var * count / (count - 1).clamp(min=1)
            self.running_mean.lerp_(mean, momentum)
            self.running_var.lerp_(unbiased, momentum)
        x = (x - mean[:, None]) * torch.rsqrt(var[:, None] + self.eps)  # (B, C, T)
        return x * self.weight[:, None] + self.bias[:, None]


class TemporalConvBlock(nn.Module):
    """``Conv1d -> MaskedBatchNorm1d (optional) -> activation -> Dropout (optional)``,
    then zero on the padded steps.

    The output keeps the length ``T``. A causal block pads only on the left, so the
    output at ``t`` depends on the inputs at ``<= t`` (van den Oord et al. 2016,
    "WaveNet"; Bai, Kolter & Koltun 2018, "An Empirical Evaluation of Generic
    Convolutional and Recurrent Networks for Sequence Modeling"); a non-causal block
    pads both sides ("same"). Zeroing the padded steps after the block makes the batch
    padding act like the convolution's own zero padding, so a padded sequence gives
    the same outputs on its real steps as the sequence alone.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output.
        kernel_size: taps per filter.
        dilation: spacing between taps; the block sees ``dilation * (kernel_size - 1)
            + 1`` steps.
        causal: pad only on the left.
        activation: activation name (see :mod:`dlzoo.layers.activations`).
        batch_norm: add :class:`MaskedBatchNorm1d` after the convolution (whose bias is
            then dropped, because the norm's shift replaces it).
        dropout: dropout probability after the activation (0 adds no layer).

    Shapes:
        input x (B, in_channels, T) and mask (B, T) bool or ``None``; output
        (B, out_channels, T).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        dilation: int = 1,
        causal: bool = False,
        activation: ActivationLike = "relu",
        batch_norm: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if kernel_size < 1 or dilation < 1:
            raise ConfigError(
                f"kernel_size and dilation must be >= 1, got {kernel_size} and {dilation}"
            )
        reach = dilation * (kernel_size - 1)
        # an even kernel cannot centre: the extra step goes on the right, as "same" does
        self.padding = (reach, 0) if causal else (reach // 2, reach - reach // 2)
        self.conv = nn.Conv1d(
            in_channels, out_channels, kernel_size, dilation=dilation, bias=not batch_norm
        )
        self.norm = MaskedBatchNorm1d(out_channels) if batch_norm else None
        self.act = make_activation(activation)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.receptive_field = reach + 1

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        x = self.conv(F.pad(x, self.padding))  # (B, C_out, T)
        if self.norm is not None:
            x = self.norm(x, mask)
        x = self.dropout(self.act(x))
        if mask is not None:
            x = x * mask.unsqueeze(1).to(x.dtype)  # (B, C_out, T), zero on padding
        return x


# --------------------------------------------------------------------------- head


class SequenceHead(nn.Module):
    """The head of every sequence net: dropout, dense layers, then either class logits
    or a multi-step forecast.

    Which head is built depends on which arguments are given: ``num_classes``
    (classification) or ``horizon`` and ``output_size`` (forecasting). The pipeline
    fills them from the datamodule, so one net config serves both tasks.

    Args:
        in_features: size of the pooled sequence vector.
        num_classes: number of class logits (classification).
        horizon: steps ahead to forecast (forecasting, with ``output_size``).
        output_size: target series per step (forecasting, with ``horizon``).
        hidden_sizes: widths of dense layers before the output layer.
        dropout: dropout probability on the input and after every hidden layer.
        activation: activation name of the hidden layers.

    Raises:
        ConfigError: both heads, neither head, or only one of ``horizon`` and
            ``output_size``.

    Shapes:
        input (B, in_features); output (B, num_classes) or (B, horizon, output_size).
    """

    def __init__(
        self,
        in_features: int,
        num_classes: int | None = None,
        horizon: int | None = None,
        output_size: int | None = None,
        hidden_sizes: Sequence[int] = (),
        dropout: float = 0.0,
        activation: ActivationLike = "relu",
    ) -> None:
        super().__init__()
        forecast = horizon is not None or output_size is not None
        if (num_classes is not None) == forecast:
            raise ConfigError(
                "a sequence net needs exactly one head, num_classes (classification) or "
                f"horizon and output_size (forecasting); got num_classes={num_classes}, "
                f"horizon={horizon}, output_size={output_size}"
            )
        if forecast and (horizon is None or output_size is None):
            raise ConfigError(
                "a forecasting head needs both horizon and output_size; got "
                f"horizon={horizon}, output_size={output_size}"
            )
        self.num_classes = num_classes
        self.horizon = horizon
        self.output_size = output_size
        out_features = num_classes if num_classes is not None else horizon * output_size
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.mlp = DenseStack(
            in_features, list(hidden_sizes), out_features, activation, dropout=dropout
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.mlp(self.dropout(x))  # (B, num_classes) or (B, horizon * output_size)
        if self.num_classes is None:
            out = out.view(-1, self.horizon, self.output_size)  # (B, horizon, output_size)
        return out
