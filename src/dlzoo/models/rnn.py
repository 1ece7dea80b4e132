"""Recurrent networks for sequence classification and forecasting.

One encoder (:class:`RecurrentEncoder`: a simple RNN, GRU or LSTM stack, optionally
bidirectional, that skips the padding of variable-length batches) and one net,
:class:`RecurrentNet`, which pools its states (the final state, a masked mean or max
over time, or additive attention) into a :class:`~dlzoo.layers.heads.SequenceHead`, so
the same net classifies a sequence (``num_classes``) or forecasts ``horizon`` steps of
``output_size`` series. :class:`AttentionRNN` is the same net with attention pooling
by default.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from dlzoo.errors import ConfigError
from dlzoo.layers.activations import ActivationLike
from dlzoo.layers.attention import AttentionPooling
from dlzoo.layers.temporal_pool import SEQUENCE_POOLS, lengths_to_mask
from dlzoo.models.base import SequenceNet
from dlzoo.models.registry import register_model

CELLS: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}
# the parameter-free pools over time, then the learned one
POOLINGS = (*SEQUENCE_POOLS, "attention")


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

    # cell and hidden_size have no defaults: those are the nets' (and their configs')
    def __init__(
        self,
        input_size: int,
        cell: str,
        hidden_size: int,
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
class RecurrentNet(SequenceNet):
    """A recurrent net (RNN, GRU or LSTM) that pools its states into one head.

    Pooling: ``last`` takes the final state of each sequence (the forward state after
    its last real step, concatenated with the backward state after its first step when
    bidirectional); ``mean`` and ``max`` pool the last layer's states over the real
    steps; ``attention`` learns which steps matter, ``c = sum_t alpha_t h_t`` with
    ``alpha = softmax_t(v^T tanh(W h_t))`` over each sequence's real steps (Bahdanau,
    Cho & Bengio 2015; see :class:`~dlzoo.layers.attention.AttentionPooling`), and keeps
    the weights of the latest forward pass, detached, on ``last_attention`` for
    attention-map figures. See :class:`RecurrentEncoder` for the cells and their papers
    (Elman 1990; Cho et al. 2014; Hochreiter & Schmidhuber 1997).

    Args:
        input_size: features per time step, from the datamodule.
        cell: ``rnn``, ``gru`` or ``lstm``.
        hidden_size: state size per direction.
        num_layers: stacked recurrent layers.
        dropout: dropout probability between stacked layers, on the pooled vector and
            after every hidden head layer.
        bidirectional: add a backward direction.
        pooling: ``last``, ``mean``, ``max`` or ``attention``; ``None`` takes the
            class's ``default_pooling`` (``last`` here, ``attention`` for
            :class:`AttentionRNN`).
        attention_size: width of the attention's hidden layer; ``None`` uses the
            encoder's output size. Only with ``attention`` pooling.
        head_hidden_sizes, activation, num_classes, horizon, output_size: the head (see
            :class:`~dlzoo.models.base.SequenceNet`).

    Raises:
        ConfigError: an unknown cell or pooling, ``attention_size`` without attention
            pooling, a bad size, or not exactly one head.

    Net API (see :mod:`dlzoo.models.base`): the features are the pooled vector,
    (B, hidden_size * directions).

    Shapes:
        input x (B, T, input_size) and lengths (B,) int64 or ``None``; output
        (B, num_classes) or (B, horizon, output_size); ``last_attention`` (B, T), 0 on
        padded steps, summing to 1 over each sequence.
    """

    default_pooling = "last"

    def __init__(
        self,
        input_size: int,
        cell: str = "gru",
        hidden_size: int = 64,
        num_layers: int = 1,
        dropout: float = 0.0,
        bidirectional: bool = False,
        pooling: str | None = None,
        attention_size: int | None = None,
        head_hidden_sizes: Sequence[int] = (),
        activation: ActivationLike = "relu",
        num_classes: int | None = None,
        horizon: int | None = None,
        output_size: int | None = None,
    ) -> None:
        super().__init__(num_classes, horizon, output_size, head_hidden_sizes, dropout, activation)
        self.pooling = self.default_pooling if pooling is None else pooling
        if self.pooling not in POOLINGS:
            raise ConfigError(
                f"unknown pooling {self.pooling!r}; valid poolings: {', '.join(POOLINGS)}"
            )
        if attention_size is not None and self.pooling != "attention":
            raise ConfigError(
                f"attention_size={attention_size} needs pooling='attention', "
                f"got pooling={self.pooling!r}"
            )
        self.encoder = RecurrentEncoder(
            input_size, cell, hidden_size, num_layers, dropout, bidirectional
        )
        width = self.encoder.out_features
        if self.pooling == "attention":
            self.attention = AttentionPooling(width, attention_size)
        self.last_attention: torch.Tensor | None = None
        self._add_head(width)

    def forward_features(
        self, x: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        states, final = self.encoder(x, lengths)  # (B, T, D*H), (B, D*H)
        if self.pooling == "last":
            return final  # (B, D*H)
        mask = None if lengths is None else lengths_to_mask(lengths, x.shape[1])  # (B, T)
        if self.pooling != "attention":
            return SEQUENCE_POOLS[self.pooling](states, mask)  # (B, D*H)
        pooled, weights = self.attention(states, mask)  # (B, D*H), (B, T)
        self.last_attention = weights.detach()
        return pooled

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
class AttentionRNN(RecurrentNet):
    """:class:`RecurrentNet` with ``pooling="attention"`` by default: a recurrent
    encoder whose states are pooled by additive attention (Bahdanau, Cho & Bengio
    2015), then a head; ``last_attention`` holds the latest weights.

    It takes :class:`RecurrentNet`'s arguments; it is its own class so that configs
    and checkpoints can name it.
    """

    default_pooling = "attention"

    @classmethod
    def example(cls, batch_size: int = 2) -> tuple[nn.Module, torch.Tensor]:
        """A small attention GRU classifier and a matching (B, 7, 2) input."""
        net = cls(input_size=2, cell="gru", hidden_size=4, bidirectional=True, num_classes=3)
        return net, torch.randn(batch_size, 7, 2)
