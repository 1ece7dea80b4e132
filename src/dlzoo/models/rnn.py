"""Recurrent networks for sequence classification and forecasting.

One encoder (:class:`RecurrentEncoder`: a simple RNN, GRU or LSTM stack, optionally
bidirectional, that skips the padding of variable-length batches) is shared by two
nets: :class:`RecurrentNet` pools its states (the final state, or a masked mean or max
over time) and :class:`AttentionRNN` pools them with additive attention. Both end in a
:class:`~dlzoo.layers.sequence.SequenceHead`, so the same net classifies a sequence
(``num_classes``) or forecasts ``horizon`` steps of ``output_size`` series.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from dlzoo.errors import ConfigError
from dlzoo.layers.activations import ActivationLike
from dlzoo.layers.sequence import (
    AttentionPooling,
    SequenceHead,
    lengths_to_mask,
    resolve_sequence_pool,
)
from dlzoo.models.registry import register_model

CELLS: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


class RecurrentEncoder(nn.Module):
    """A stack of recurrent layers that returns every step's state and the final one.

    Cells: ``rnn``, the simple (Elman 1990) recurrence ``h_t = tanh(W x_t + U h_{t-1}
    + b)``; ``gru``, gated recurrent units (Cho et al. 2014, "Learning Phrase
    Representations using RNN Encoder-Decoder for Statistical Machine Translation");
    ``lstm``, long short-term memory (Hochreiter & Schmidhuber 1997). A bidirectional
    stack (Schuster & Paliwal 1997) also reads each sequence backwards, from its own
    last real step, and concatenates both directions.

    With ``lengths``, the batch is packed (``pack_padded_sequence``), so the padding
    never enters the recurrence: each sequence gives the same states as it would alone.

    Args:
        input_size: features per time step.
        cell: ``rnn``, ``gru`` or ``lstm``.
        hidden_size: state size per direction.
        num_layers: stacked recurrent layers.
        dropout: dropout probability between stacked layers (needs ``num_layers > 1``
            to have an effect).
        bidirectional: add a backward direction.

    Raises:
        ConfigError: an unknown cell, or a size or dropout out of range.

    Shapes:
        input x (B, T, input_size) and lengths (B,) int64 or ``None``; output the
        states (B, T, out_features) with zeros on the padded steps, and the final
        state (B, out_features) (forward, then backward direction), where
        ``out_features = hidden_size * (2 if bidirectional else 1)``.
    """

    def __init__(
        self,
        input_size: int,
        cell: str = "gru",
        hidden_size: int = 64,
        num_layers: int = 1,
        dropout: float = 0.0,
        bidirectional: bool = False,
    ) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ConfigError(f"unknown cell {cell!r}; valid cells: {', '.join(CELLS)}")
        if hidden_size < 1 or num_layers < 1:
            raise ConfigError(
                f"hidden_size and num_layers must be >= 1, got {hidden_size} and {num_layers}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {dropout}")
        self.cell = cell
        self.num_directions = 2 if bidirectional else 1
        self.out_features = hidden_size * self.num_directions
        # PyTorch warns about inter-layer dropout on a single layer, where it does nothing
        self.rnn = CELLS[cell](
            input_size,
            hidden_size,
            num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
            bidirectional=bidirectional,
        )

    def forward(
        self, x: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        steps = x.shape[1]
        if lengths is None:
            states, final = self.rnn(x)  # (B, T, D*H), (L*D, B, H)
        else:
            # packing needs the lengths on the CPU; enforce_sorted=False sorts and
            # returns the final states in the batch's own order
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            packed_states, final = self.rnn(packed)
            # total_length keeps T when no sequence fills the batch (e.g. a sliced batch)
            states, _ = pad_packed_sequence(
                packed_states, batch_first=True, total_length=steps
            )  # (B, T, D*H)
        if isinstance(final, tuple):  # LSTM: (h_n, c_n); the output is h
            final = final[0]
        last_layer = final[-self.num_directions :]  # (D, B, H)
        final = last_layer.transpose(0, 1).reshape(x.shape[0], -1)  # (B, D*H)
        return states, final


@register_model("recurrent")
class RecurrentNet(nn.Module):
    """A recurrent net (RNN, GRU or LSTM) that pools its states into one head.

    Pooling: ``last`` takes the final state of each sequence (the forward state after
    its last real step, concatenated with the backward state after its first step when
    bidirectional); ``mean`` and ``max`` pool the last layer's states over the real
    steps. See :class:`RecurrentEncoder` for the cells and their papers (Elman 1990;
    Cho et al. 2014; Hochreiter & Schmidhuber 1997).

    Args:
        input_size: features per time step, from the datamodule.
        cell: ``rnn``, ``gru`` or ``lstm``.
        hidden_size: state size per direction.
        num_layers: stacked recurrent layers.
        dropout: dropout probability between stacked layers, on the pooled vector and
            after every hidden head layer.
        bidirectional: add a backward direction.
        pooling: ``last``, ``mean`` or ``max``.
        head_hidden_sizes: widths of dense layers between the pooled vector and the
            output layer.
        activation: activation name of the hidden head layers.
        num_classes: class logits (classification), from the datamodule.
        horizon: forecast steps (forecasting, with ``output_size``), from the datamodule.
        output_size: target series (forecasting, with ``horizon``), from the datamodule.

    Raises:
        ConfigError: an unknown cell or pooling, a bad size, or not exactly one head.

    Shapes:
        input x (B, T, input_size) and lengths (B,) int64 or ``None``; output
        (B, num_classes) or (B, horizon, output_size).
    """

    def __init__(
        self,
        input_size: int,
        cell: str = "gru",
        hidden_size: int = 64,
        num_layers: int = 1,
        dropout: float = 0.0,
        bidirectional: bool = False,
        pooling: str = "last",
        head_hidden_sizes: Sequence[int] = (),
        activation: ActivationLike = "relu",
        num_classes: int | None = None,
        horizon: int | None = None,
        output_size: int | None = None,
    ) -> None:
        super().__init__()
        self.pooling = pooling
        self.pool = resolve_sequence_pool(pooling)
        self.encoder = RecurrentEncoder(
            input_size, cell, hidden_size, num_layers, dropout, bidirectional
        )
        self.head = SequenceHead(
            self.encoder.out_features,
            num_classes,
            horizon,
            output_size,
            head_hidden_sizes,
            dropout,
            activation,
        )

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        states, final = self.encoder(x, lengths)  # (B, T, D*H), (B, D*H)
        if self.pooling == "last":
            pooled = final  # (B, D*H)
        else:
            mask = None if lengths is None else lengths_to_mask(lengths, x.shape[1])  # (B, T)
            pooled = self.pool(states, mask)  # (B, D*H)
        return self.head(pooled)  # (B, num_classes) or (B, horizon, output_size)

    @classmethod
    def example(cls, batch_size: int = 2) -> tuple[nn.Module, torch.Tensor]:
        """A two-layer bidirectional LSTM forecaster and a matching (B, 6, 3) input."""
        net = cls(
            input_size=3,
            cell="lstm",
            hidden_size=4,
            num_layers=2,
            dropout=0.1,
            bidirectional=True,
            head_hidden_sizes=[5],
            horizon=2,
            output_size=1,
        )
        return net, torch.randn(batch_size, 6, 3)


@register_model("attention_rnn")
class AttentionRNN(nn.Module):
    """A recurrent encoder whose states are pooled by additive attention (Bahdanau,
    Cho & Bengio 2015), then a head.

    The net learns which time steps matter: ``c = sum_t alpha_t h_t`` with
    ``alpha = softmax_t(v^T tanh(W h_t))`` over each sequence's real steps (see
    :class:`~dlzoo.layers.sequence.AttentionPooling`). The weights of the latest
    forward pass are kept, detached, on ``last_attention`` for attention-map figures.
    See :class:`RecurrentEncoder` for the cells (Cho et al. 2014 for the GRU,
    Hochreiter & Schmidhuber 1997 for the LSTM).

    Args:
        input_size: features per time step, from the datamodule.
        cell: ``rnn``, ``gru`` or ``lstm``.
        hidden_size: state size per direction.
        num_layers: stacked recurrent layers.
        dropout: dropout probability between stacked layers, on the pooled vector and
            after every hidden head layer.
        bidirectional: add a backward direction.
        attention_size: width of the attention's hidden layer; ``None`` uses the
            encoder's output size.
        head_hidden_sizes: widths of dense layers between the pooled vector and the
            output layer.
        activation: activation name of the hidden head layers.
        num_classes: class logits (classification), from the datamodule.
        horizon: forecast steps (forecasting, with ``output_size``), from the datamodule.
        output_size: target series (forecasting, with ``horizon``), from the datamodule.

    Raises:
        ConfigError: an unknown cell, a bad size, or not exactly one head.

    Shapes:
        input x (B, T, input_size) and lengths (B,) int64 or ``None``; output
        (B, num_classes) or (B, horizon, output_size); ``last_attention`` (B, T), 0 on
        padded steps, summing to 1 over each sequence.
    """

    def __init__(
        self,
        input_size: int,
        cell: str = "gru",
        hidden_size: int = 64,
        num_layers: int = 1,
        dropout: float = 0.0,
        bidirectional: bool = False,
        attention_size: int | None = None,
        head_hidden_sizes: Sequence[int] = (),
        activation: ActivationLike = "relu",
        num_classes: int | None = None,
        horizon: int | None = None,
        output_size: int | None = None,
    ) -> None:
        super().__init__()
        self.encoder = RecurrentEncoder(
            input_size, cell, hidden_size, num_layers, dropout, bidirectional
        )
        self.attention = AttentionPooling(self.encoder.out_features, attention_size)
        self.head = SequenceHead(
            self.encoder.out_features,
            num_classes,
            horizon,
            output_size,
            head_hidden_sizes,
            dropout,
            activation,
        )
        self.last_attention: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        states, _ = self.encoder(x, lengths)  # (B, T, D*H)
        mask = None if lengths is None else lengths_to_mask(lengths, x.shape[1])  # (B, T)
        pooled, weights = self.attention(states, mask)  # (B, D*H), (B, T)
        self.last_attention = weights.detach()
        return self.head(pooled)  # (B, num_classes) or (B, horizon, output_size)

    @classmethod
    def example(cls, batch_size: int = 2) -> tuple[nn.Module, torch.Tensor]:
        """A small attention GRU classifier and a matching (B, 7, 2) input."""
        net = cls(input_size=2, cell="gru", hidden_size=4, bidirectional=True, num_classes=3)
        return net, torch.randn(batch_size, 7, 2)
