"""Convolutional networks assembled from a list of block specs.

One class covers the plain, VGG-, Inception- and ResNet-style nets of the curriculum:
a config lists the blocks (``{type: conv, channels: 32, pool: max}``,
``{type: residual, channels: 64, stride: 2}``, ...) and the head, so a new variant is a
new YAML file, not a new subclass. See :data:`BLOCK_TYPES` for every block type and
its keys.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.layers.activations import ActivationLike, resolve_activation
from dlzoo.layers.blocks import InceptionBlock, ResidualBlock, VGGBlock
from dlzoo.layers.conv import ConvNormAct
from dlzoo.layers.heads import ClassifierHead
from dlzoo.layers.pooling import make_pool2d
from dlzoo.layers.shapes import image_size_pair
from dlzoo.layers.squeeze_excite import SqueezeExcite
from dlzoo.models.base import ZooNet
from dlzoo.models.registry import register_model

# --------------------------------------------------------------------------- block specs
# A builder takes the input channels first, then the keys of a block spec as keyword
# arguments: its signature is the list of valid keys (required ones have no default).
# A layer class whose arguments already read well as spec keys is its own builder; the
# functions below rename (``channels`` for ``out_channels``) or add a pool.
# ``activation`` and ``batch_norm`` are filled from the CNN's own arguments unless the
# spec overrides them.


def _conv(
    in_channels: int,
    *,
    channels: int,
    kernel_size: int = 3,
    stride: int = 1,
    padding: int | str = "same",
    dilation: int = 1,
    pool: str | None = None,
    pool_size: int = 2,
    dropout: float = 0.0,
    activation: ActivationLike,
    batch_norm: bool,
) -> nn.Module:
    conv = ConvNormAct(
        in_channels,
        channels,
        kernel_size,
        stride,
        padding,
        dilation,
        activation=activation,
        batch_norm=batch_norm,
        dropout=dropout,
    )
    return conv if pool is None else nn.Sequential(conv, make_pool2d(pool, pool_size))


def _vgg(
    in_channels: int,
    *,
    channels: int,
    num_convs: int = 2,
    pool: str = "max",
    dropout: float = 0.0,
    activation: ActivationLike,
    batch_norm: bool,
) -> nn.Module:
    return VGGBlock(in_channels, channels, num_convs, activation, batch_norm, dropout, pool)


def _residual(
    in_channels: int,
    *,
    channels: int,
    stride: int = 1,
    se_reduction: int | None = None,
    activation: ActivationLike,
    batch_norm: bool,
) -> nn.Module:
    return ResidualBlock(in_channels, channels, stride, activation, batch_norm, se_reduction)


def _pool(in_channels: int, *, mode: str = "max", size: int = 2) -> nn.Module:
    return make_pool2d(mode, size)


BLOCK_TYPES: dict[str, Callable[..., nn.Module]] = {
    "conv": _conv,
    "vgg": _vgg,
    "inception": InceptionBlock,
    "residual": _residual,
    "se": SqueezeExcite,
    "pool": _pool,
}


def block_keys(kind: str) -> list[str]:
    """The keys a block spec of type ``kind`` accepts (besides ``type``)."""
    return list(_spec_params(kind))


def _spec_params(kind: str) -> dict[str, inspect.Parameter]:
    # the first parameter is the input channels, which the CNN passes itself
    params = list(inspect.signature(BLOCK_TYPES[kind]).parameters.values())[1:]
    return {p.name: p for p in params}


def build_block(
    index: int, spec: Mapping[str, Any], in_channels: int, defaults: Mapping[str, Any]
) -> nn.Module:
    """Build block ``index`` of a CNN from its spec.

    Args:
        index: position in the ``blocks`` list, for error messages.
        spec: a mapping with a ``type`` key and that type's keys.
        in_channels: channels of the block's input.
        defaults: values for keys the spec leaves out (``activation``, ``batch_norm``).

    Raises:
        ConfigError: naming the block index and the unknown type, the unknown or
            missing key, or the bad value, with the valid choices.
    """
    where = f"blocks[{index}]"
    if not isinstance(spec, Mapping) or "type" not in spec:
        raise ConfigError(
            f"{where} must be a mapping with a 'type' key ({', '.join(BLOCK_TYPES)}), got {spec!r}"
        )
    kind = spec["type"]
    if not isinstance(kind, str) or kind not in BLOCK_TYPES:
        raise ConfigError(
            f"{where} has unknown type {kind!r}; valid types: {', '.join(BLOCK_TYPES)}"
        )
    params = _spec_params(kind)
    valid = list(params)
    kwargs = {str(k): v for k, v in spec.items() if k != "type"}
    unknown = sorted(set(kwargs) - set(valid))
    if unknown:
        raise ConfigError(
            f"{where} ({kind}) has unknown key {unknown[0]!r}; valid keys: {', '.join(valid)}"
        )
    for key in valid:
        if key not in kwargs and key in defaults:
            kwargs[key] = defaults[key]
    missing = [k for k in valid if k not in kwargs and params[k].default is params[k].empty]
    if missing:
        raise ConfigError(f"{where} ({kind}) needs {', '.join(repr(k) for k in missing)}")
    try:
        return BLOCK_TYPES[kind](in_channels, **kwargs)
    except ConfigError as exc:
        raise ConfigError(f"{where} ({kind}): {exc}") from None
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ConfigError(f"{where} ({kind}) has a bad value: {exc}") from None


# --------------------------------------------------------------------------- the net


class CNN(ZooNet):
    """A convolutional classifier: a stack of blocks, then a classifier head.

    Block types (``type`` key; other keys in brackets, ``*`` = required):

    - ``conv``: :class:`~dlzoo.layers.conv.ConvNormAct` (``channels*``, ``kernel_size``
      3, ``stride`` 1, ``padding`` "same", ``dilation`` 1, ``pool`` null/"max"/"avg",
      ``pool_size`` 2, ``dropout`` 0, ``activation``, ``batch_norm``); a 1x1 conv is
      ``kernel_size: 1`` (Lin et al. 2014).
    - ``vgg``: :class:`~dlzoo.layers.blocks.VGGBlock` (``channels*``, ``num_convs`` 2,
      ``pool`` "max", ``dropout`` 0, ...), halves H and W (Simonyan & Zisserman 2015).
    - ``inception``: :class:`~dlzoo.layers.blocks.InceptionBlock` (``ch1x1*``,
      ``ch3x3red*``, ``ch3x3*``, ``ch5x5red*``, ``ch5x5*``, ``pool_proj*``,
      ``double_3x3`` false, ...) (Szegedy et al. 2015).
    - ``residual``: :class:`~dlzoo.layers.blocks.ResidualBlock` (``channels*``,
      ``stride`` 1, ``se_reduction`` null, ...) (He et al. 2016).
    - ``se``: :class:`~dlzoo.layers.squeeze_excite.SqueezeExcite` (``reduction`` 16,
      ``activation``) (Hu et al. 2018).
    - ``pool``: ``mode`` "max"/"avg", ``size`` 2.

    ``activation`` and ``batch_norm`` in a block override the net-wide values.

    Args:
        in_channels: channels of the input images, from the datamodule.
        num_classes: number of output logits, from the datamodule.
        image_size: (H, W) of the input images, from the datamodule; used to check
            that no block shrinks the image below 1x1 and to size a ``flatten`` head.
        blocks: block specs, in order (see above).
        head: ``gap`` (global average pool), ``gmp`` (global max pool) or ``flatten``.
        head_hidden_sizes: widths of dense layers between the pooled features and the
            output layer.
        dropout: dropout probability in the head (on the pooled features and after
            every hidden head layer); blocks take their own ``dropout`` key.
        activation: activation name for every block and the head.
        batch_norm: ``BatchNorm2d`` after every convolution (and ``BatchNorm1d`` in
            hidden head layers).

    Raises:
        ConfigError: an unknown block type or key, a missing key, a bad value, or a
            stack that shrinks ``image_size`` below 1x1 (naming the block).

    Net API (see :mod:`dlzoo.models.base`): the features are the head's pooled (or
    flattened) feature map, before its dropout and dense layers; ``reset_head`` keeps
    the ``head_hidden_sizes`` layers and replaces the output layer. Registered as
    ``cnn``; ``vgg_small``, ``resnet_small`` and ``inception_small`` are the blocks of
    their ``conf/model`` YAMLs.

    Shapes:
        input (B, in_channels, H, W); output (B, num_classes); features
        (B, num_features), ``num_features`` = C' for ``gap``/``gmp``, C' * H' * W' for
        ``flatten``. A ``gap``/``gmp`` head accepts any H, W that survive the stack;
        ``flatten`` needs ``image_size``.
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        image_size: int | Sequence[int],
        blocks: Sequence[Mapping[str, Any]],
        head: str = "gap",
        head_hidden_sizes: Sequence[int] = (),
        dropout: float = 0.0,
        activation: ActivationLike = "relu",
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        resolve_activation(activation)  # fail on a bad name before building anything
        self.image_size = image_size_pair(image_size, "image_size")
        defaults = {"activation": activation, "batch_norm": batch_norm}
        # A dry run on one blank image gives each block's input channels and catches
        # an image that the stack shrinks away, with the block to blame.
        x = torch.zeros(1, in_channels, *self.image_size)
        layers: list[nn.Module] = []
        for i, spec in enumerate(blocks):
            block = build_block(i, spec, x.shape[1], defaults)
            x = self._probe(block, x, f"blocks[{i}] ({spec['type']})")
            layers.append(block)
        self.features = nn.Sequential(*layers)
        self.feature_shape: tuple[int, int, int] = tuple(x.shape[1:])  # type: ignore[assignment]
        channels, height, width = self.feature_shape
        self.head = ClassifierHead(
            channels * height * width if head == "flatten" else channels,
            num_classes,
            head,
            list(head_hidden_sizes),
            dropout,
            activation,
            batch_norm,
        )
        self.num_features = self.head.num_features

    def _probe(self, block: nn.Module, x: torch.Tensor, where: str) -> torch.Tensor:
        """Run ``block`` on the (1, C, h, w) probe ``x``, in eval mode so that batch
        norm accepts a single image."""
        height, width = x.shape[-2:]
        too_small = ConfigError(
            f"{where} makes the image smaller than 1x1 (its input is {height}x{width}); "
            f"image_size={self.image_size} is too small for this block stack"
        )
        block.eval()
        try:
            with torch.no_grad():
                y = block(x)
        except RuntimeError:
            raise too_small from None
        finally:
            block.train()
        if y.ndim != 4 or min(y.shape[-2:]) < 1:
            raise too_small
        return y

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.head.pool_features(self.features(x))  # (B, num_features)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head.classify(features)  # (B, num_classes)

    def reset_head(self, num_outputs: int) -> None:
        self.head.reset_output(num_outputs)

    @classmethod
    def example(cls, batch_size: int = 2) -> tuple[nn.Module, torch.Tensor]:
        """A small CNN with one block of every type and a matching (B, 1, 8, 8) input."""
        blocks = [
            {"type": "conv", "channels": 4, "pool": "max"},  # 4x4
            {
                "type": "inception",
                "ch1x1": 2,
                "ch3x3red": 2,
                "ch3x3": 3,
                "ch5x5red": 1,
                "ch5x5": 2,
                "pool_proj": 2,
                "double_3x3": True,
            },
            {"type": "residual", "channels": 6, "stride": 2, "se_reduction": 2},  # 2x2
            {"type": "se", "reduction": 2},
            {"type": "vgg", "channels": 4, "num_convs": 1},  # 1x1
            {"type": "conv", "channels": 4, "kernel_size": 1, "batch_norm": False},
        ]
        net = cls(1, 3, (8, 8), blocks, head="flatten", head_hidden_sizes=[5], dropout=0.1)
        return net, torch.randn(batch_size, 1, 8, 8)


# its presets (cnn, vgg_small, resnet_small, inception_small) are conf/model YAMLs
register_model("cnn")(CNN)
