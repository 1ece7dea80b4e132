"""Reusable building blocks: activations by name, dense and conv units, the classic
conv blocks (VGG, Inception, residual, squeeze-and-excitation), classifier heads, and
the blocks of the sequence nets (masks, pooling over time, attention, 1-d convolution,
the classification / forecasting head)."""

from dlzoo.layers.activations import (
    ACTIVATIONS,
    make_activation,
    norm_act_dropout,
    resolve_activation,
)
from dlzoo.layers.blocks import InceptionBlock, ResidualBlock, VGGBlock
from dlzoo.layers.conv import ConvNormAct, same_padding
from dlzoo.layers.dense import DenseStack, LinearNormAct
from dlzoo.layers.heads import HEAD_POOLS, ClassifierHead
from dlzoo.layers.pooling import make_global_pool2d, make_pool2d
from dlzoo.layers.sequence import (
    SEQUENCE_POOLS,
    AttentionPooling,
    MaskedBatchNorm1d,
    SequenceHead,
    TemporalConvBlock,
    last_step_pool,
    lengths_to_mask,
    masked_max_pool,
    masked_mean_pool,
    resolve_sequence_pool,
)
from dlzoo.layers.squeeze_excite import SqueezeExcite

__all__ = [
    "ACTIVATIONS",
    "HEAD_POOLS",
    "SEQUENCE_POOLS",
    "AttentionPooling",
    "ClassifierHead",
    "ConvNormAct",
    "DenseStack",
    "InceptionBlock",
    "LinearNormAct",
    "MaskedBatchNorm1d",
    "ResidualBlock",
    "SequenceHead",
    "SqueezeExcite",
    "TemporalConvBlock",
    "VGGBlock",
    "last_step_pool",
    "lengths_to_mask",
    "make_activation",
    "make_global_pool2d",
    "make_pool2d",
    "masked_max_pool",
    "masked_mean_pool",
    "norm_act_dropout",
    "resolve_activation",
    "resolve_sequence_pool",
    "same_padding",
]
