"""Reusable building blocks: activations by name, dense and conv units, the classic
conv blocks (VGG, Inception, residual, squeeze-and-excitation), the heads, the image
size check, and the blocks of the sequence nets (masks and pooling over time,
attention, the masked 1-d convolution unit, the residual connection and Inception module
of the time series classification nets)."""

from dlzoo.layers.activations import (
    ACTIVATIONS,
    make_activation,
    norm_act_dropout,
    resolve_activation,
)
from dlzoo.layers.attention import AttentionPooling
from dlzoo.layers.blocks import InceptionBlock, ResidualBlock, VGGBlock
from dlzoo.layers.conv import ConvNormAct, same_padding
from dlzoo.layers.dense import DenseStack, LinearNormAct, fresh_linear
from dlzoo.layers.heads import HEAD_POOLS, ClassifierHead, SequenceHead
from dlzoo.layers.pooling import make_global_pool2d, make_pool2d
from dlzoo.layers.shapes import image_size_pair
from dlzoo.layers.squeeze_excite import SqueezeExcite
from dlzoo.layers.temporal_blocks import TemporalInceptionModule, TemporalResidual
from dlzoo.layers.temporal_conv import MaskedBatchNorm1d, TemporalConvBlock
from dlzoo.layers.temporal_pool import (
    SEQUENCE_POOLS,
    last_step_pool,
    lengths_to_mask,
    masked_max_pool,
    masked_mean_pool,
    resolve_sequence_pool,
)

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
    "TemporalInceptionModule",
    "TemporalResidual",
    "VGGBlock",
    "fresh_linear",
    "image_size_pair",
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
