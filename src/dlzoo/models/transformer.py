"""A transformer encoder that classifies (or forecasts from) a sequence (lesson 5).

Tokens or feature vectors -> ``d_model`` vectors -> plus positional encodings ->
:class:`~dlzoo.layers.transformer.TransformerEncoder` -> pooled over the real steps ->
a :class:`~dlzoo.layers.heads.SequenceHead`. Vaswani et al. 2017, "Attention Is All You
Need" (the encoder half), with pre-norm blocks (Xiong et al. 2020).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.layers.activations import ActivationLike
from dlzoo.layers.embedding import TokenEmbedding
from dlzoo.layers.positional import make_positional_encoding
from dlzoo.layers.temporal_pool import lengths_to_mask, masked_max_pool, masked_mean_pool
from dlzoo.layers.transformer import TransformerEncoder
from dlzoo.models.base import SequenceNet
from dlzoo.models.registry import register_model

POOLINGS = ("mean", "max", "cls")


def _input_layer(
    input_size: int | None, vocab_size: int | None, padding_idx: int | None, d_model: int
) -> tuple[TokenEmbedding | None, nn.Linear | None]:
    """The token embedding or the feature projection, whichever the data calls for."""
    if (input_size is None) == (vocab_size is None):
        raise ConfigError(
            f"the transformer needs exactly one of input_size (features per step) or "
            f"vocab_size (token ids), got input_size={input_size}, vocab_size={vocab_size}"
        )
    if vocab_size is None:
        return None, nn.Linear(int(input_size), d_model)  # type: ignore[arg-type]
    embedding = TokenEmbedding(vocab_size, d_model, padding_idx)
    # N(0, 1/d_model), as the paper's embeddings (shared with its output softmax):
    # times sqrt(d_model) in forward, unit variance, the positional encodings' scale
    assert embedding.table is not None
    with torch.no_grad():
        embedding.table.weight.normal_(0.0, d_model**-0.5)
        if embedding.padding_idx is not None:
            embedding.table.weight[embedding.padding_idx].zero_()
    return embedding, None


def _attention_map(weights: torch.Tensor, mask: torch.Tensor | None, cls: bool) -> torch.Tensor:
    """How much the pooled vector drew on each step: the weights averaged over heads,
    then the CLS query's row or the mean row of the real queries.

    Shapes:
        weights (B, H, T, T), mask (B, T) bool or ``None``; output (B, T), 0 on padding,
        each row summing to 1.
    """
    rows = weights.mean(dim=1)  # (B, T_q, T_k)
    if cls:
        return rows[:, 0]
    if mask is None:
        return rows.mean(dim=1)
    real = mask.to(rows.dtype).unsqueeze(-1)  # (B, T_q, 1)
    return (rows * real).sum(dim=1) / real.sum(dim=1)  # (B, T_k)


@register_model("transformer")
class TransformerNet(SequenceNet):
    """A transformer encoder over a sequence, pooled, then a head.

    Input: token ids (``vocab_size``; a learned embedding, scaled by ``sqrt(d_model)``
    as in the paper) or feature vectors (``input_size``; a linear projection). The
    positional encoding (sinusoidal, learned or none) is added, then dropout, then the
    encoder. Pooling over the real steps: ``mean``, ``max``, or ``cls``, the vector of
    position 0, for data that puts a [CLS] token first (BERT, Devlin et al. 2019).

    With ``lengths``, no real step attends the padding, so a sequence gives the same
    output alone as padded in a batch. The latest forward pass leaves the last layer's
    attention on ``last_attention`` (detached, for figures): averaged over heads and
    over the real queries (the CLS query's row with ``cls`` pooling).

    Args:
        input_size: features per time step (continuous inputs), from the datamodule.
        vocab_size: token vocabulary size (token inputs), from the datamodule.
        padding_idx: the id that pads token sequences, from the datamodule.
        d_model: width of every position's vector.
        num_heads: attention heads; must divide ``d_model``.
        num_layers: encoder blocks.
        ff_size: hidden width of the feed-forward nets; ``None`` is ``4 * d_model``.
        dropout: dropout probability on the inputs, inside the blocks, on the pooled
            vector and after every hidden head layer.
        attention_dropout: dropout probability on the attention weights (off by
            default: on a CPU it costs more than the rest of a training pass).
        positional: ``sinusoidal``, ``learned`` or ``none``.
        max_length: the longest sequence the positional encoding takes.
        pooling: ``mean``, ``max`` or ``cls``.
        causal: each step attends only itself and earlier steps.
        head_hidden_sizes, activation, num_classes, horizon, output_size: the head (see
            :class:`~dlzoo.models.base.SequenceNet`).

    Raises:
        ConfigError: not exactly one of ``input_size`` and ``vocab_size``, an unknown
            pooling or positional encoding, ``cls`` pooling with ``causal``, a bad size,
            not exactly one head; in forward, a sequence longer than ``max_length``.

    Net API (see :mod:`dlzoo.models.base`): the features are the pooled vector,
    (B, d_model).

    Shapes:
        input tokens (B, T) int64 or features (B, T, input_size), lengths (B,) int64 or
        ``None``; output (B, num_classes) or (B, horizon, output_size);
        ``last_attention`` (B, T).
    """

    def __init__(
        self,
        input_size: int | None = None,
        vocab_size: int | None = None,
        padding_idx: int | None = 0,
        d_model: int = 64,
        num_heads: int = 4,
        num_layers: int = 2,
        ff_size: int | None = None,
        dropout: float = 0.1,
        attention_dropout: float = 0.0,
        positional: str = "sinusoidal",
        max_length: int = 512,
        pooling: str = "mean",
        causal: bool = False,
        head_hidden_sizes: Sequence[int] = (),
        activation: ActivationLike = "relu",
        num_classes: int | None = None,
        horizon: int | None = None,
        output_size: int | None = None,
    ) -> None:
        super().__init__(num_classes, horizon, output_size, head_hidden_sizes, dropout, activation)
        if pooling not in POOLINGS:
            raise ConfigError(f"unknown pooling {pooling!r}; valid poolings: {', '.join(POOLINGS)}")
        if pooling == "cls" and causal:
            raise ConfigError(
                "pooling='cls' with causal=True: position 0 would see only itself; "
                "use pooling='mean' or 'max', or causal=false"
            )
        self.pooling, self.causal, self.d_model = pooling, bool(causal), d_model
        self.embedding, self.input_projection = _input_layer(
            input_size, vocab_size, padding_idx, d_model
        )
        self.positional = make_positional_encoding(positional, d_model, max_length)
        self.input_dropout = nn.Dropout(dropout)
        self.encoder = TransformerEncoder(
            d_model, num_heads, num_layers, ff_size, dropout, attention_dropout
        )
        self.encoder.layers[-1].attention.keep_weights = True
        self.last_attention: torch.Tensor | None = None
        self._add_head(d_model)

    def _embed(self, x: torch.Tensor) -> torch.Tensor:
        if self.embedding is not None:
            return self.embedding(x) * math.sqrt(self.d_model)  # (B, T, d_model)
        assert self.input_projection is not None
        return self.input_projection(x)  # (B, T, d_model)

    def forward_features(
        self, x: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        h = self.input_dropout(self.positional(self._embed(x)))  # (B, T, d_model)
        mask = None if lengths is None else lengths_to_mask(lengths, x.shape[1])  # (B, T)
        h = self.encoder(h, mask, self.causal)  # (B, T, d_model)
        # evaluation passes only: training runs the fused kernel, which builds no
        # weights, and an exported graph keeps no figures
        if not self.training and not torch.compiler.is_exporting():
            weights = self.encoder.layers[-1].attention.last_weights  # (B, H, T, T)
            assert weights is not None
            self.last_attention = _attention_map(weights, mask, self.pooling == "cls")
        if self.pooling == "cls":
            return h[:, 0]  # (B, d_model)
        if self.pooling == "max":
            return masked_max_pool(h, mask)
        return masked_mean_pool(h, mask)

    @classmethod
    def example(cls, batch_size: int = 2) -> tuple[nn.Module, torch.Tensor]:
        """A two-layer token classifier and a matching (B, 6) batch of token ids."""
        net = cls(vocab_size=11, d_model=8, num_heads=2, num_layers=2, max_length=16, num_classes=3)
        return net, torch.randint(1, 11, (batch_size, 6))
