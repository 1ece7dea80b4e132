"""Reusable building blocks: activations by name, dense and conv units, the classic
conv blocks (VGG, Inception, residual, squeeze-and-excitation) and classifier heads."""

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
from dlzoo.layers.squeeze_excite import SqueezeExcite

__all__ = [
    "ACTIVATIONS",
    "HEAD_POOLS",
    "ClassifierHead",
    "ConvNormAct",
    "DenseStack",
    "InceptionBlock",
    "LinearNormAct",
    "ResidualBlock",
    "SqueezeExcite",
    "VGGBlock",
    "make_activation",
    "make_global_pool2d",
    "make_pool2d",
    "norm_act_dropout",
    "resolve_activation",
    "same_padding",
]
