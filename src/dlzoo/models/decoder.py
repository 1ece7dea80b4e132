"""Decoders: a latent vector back to an image, dense or convolutional.

The second half of an autoencoder (:mod:`dlzoo.models.autoencoder`), and a net of its
own: a trained decoder is a generator from latent points. Both decoders take the image
shape (``in_channels``, ``image_size``) from the datamodule, as an encoder does, and a
``latent_size`` that the autoencoder's config shares with its encoder.

Net API (see :mod:`dlzoo.models.base`), as for a classifier: the features are what the
output layer takes (the last hidden layer, or the last upsampled feature map flattened)
and the head is the output layer alone. ``reset_head(n)`` replaces that output layer by
a fresh ``Linear(num_features, n)``, so the decoder's body becomes the trunk of an
n-class classifier of latent vectors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.layers.activations import ActivationLike, norm_act_dropout, resolve_activation
from dlzoo.layers.dense import DenseStack, fresh_linear
from dlzoo.layers.shapes import image_size_pair
from dlzoo.models.base import ZooNet
from dlzoo.models.registry import register_model


def new_classifier(in_features: int, num_outputs: int, like: nn.Module) -> nn.Linear:
    """A fresh ``Linear(in_features, num_outputs)`` on ``like``'s device and dtype: the
    output layer that ``reset_head`` puts where a decoder was.

    Raises:
        ConfigError: ``num_outputs`` is not a positive int.
    """
    reference = next(like.parameters())
    # fresh_linear checks num_outputs and copies device and dtype; the template only
    # carries the input width
    template = nn.Linear(in_features, 1, device=reference.device, dtype=reference.dtype)
    return fresh_linear(template, num_outputs)


@register_model("dense_decoder")
class DenseDecoder(ZooNet):
    """A dense decoder: hidden ``Linear -> [BatchNorm1d] -> activation -> [Dropout]``
    layers from the latent vector, then a ``Linear`` to ``C * H * W`` values reshaped to
    an image (the decoder of Hinton & Salakhutdinov 2006).

    The output is unbounded: logits for a ``bce`` reconstruction loss (the task applies
    the sigmoid), pixel values for ``mse``.

    Args:
        latent_size: width of the latent vector (the autoencoder's).
        in_channels: channels of the images, from the datamodule.
        image_size: (H, W) of the images, from the datamodule.
        hidden_sizes: width of each hidden layer, from the latent side.
        activation: activation name of the hidden layers.
        batch_norm: ``BatchNorm1d`` after every hidden linear map.
        dropout: dropout probability after every hidden layer.

    Net API: features are the last hidden layer's output (the latent vector without
    hidden layers); the head is the output layer and the reshape.

    Shapes:
        input (B, latent_size); output (B, in_channels, H, W), or (B, n) after
        ``reset_head(n)``; features (B, hidden_sizes[-1] or latent_size).
    """

    def __init__(
        self,
        latent_size: int,
        in_channels: int,
        image_size: int | Sequence[int],
        hidden_sizes: Sequence[int] = (256,),
        activation: ActivationLike = "relu",
        batch_norm: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.latent_size = int(latent_size)
        height, width = image_size_pair(image_size, "image_size")
        self.image_shape = (int(in_channels), height, width)
        self.layers = DenseStack(
            self.latent_size,
            list(hidden_sizes),
            math.prod(self.image_shape),
            activation,
            batch_norm,
            dropout,
        )
        self.num_features = self.layers.hidden_features
        # after reset_head the output is class logits, not an image to reshape
        self.is_classifier = False

    def forward_features(self, z: torch.Tensor) -> torch.Tensor:
        return self.layers.forward_hidden(z)  # (B, num_features)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        out = self.layers.forward_output(features)  # (B, C * H * W) or (B, n)
        return out if self.is_classifier else out.view(len(out), *self.image_shape)

    def reset_head(self, num_outputs: int) -> None:
        self.layers.reset_output(num_outputs)
        self.is_classifier = True

    @classmethod
    def example(cls, batch_size: int = 2) -> tuple[nn.Module, torch.Tensor]:
        """A small dense decoder to 1x4x4 images and a (B, 3) latent batch."""
        net = cls(3, 1, (4, 4), hidden_sizes=[8], batch_norm=True, dropout=0.1)
        return net, torch.randn(batch_size, 3)


@register_model("conv_decoder")
class ConvDecoder(ZooNet):
    """A convolutional decoder: a ``Linear`` from the latent vector to a small feature
    map, upsampling stages that each double H and W, and a 3x3 convolution to the
    image's channels (the decoder of a convolutional autoencoder, Masci et al. 2011;
    transposed convolutions as in DCGAN, Radford et al. 2016).

    With ``n = len(channels)`` stages, the first map is ``ceil(H / 2**n) x ceil(W /
    2**n)``; after the stages it is at least H x W and the output is its centre crop
    (28x28 MNIST with two stages: 7 -> 14 -> 28; 8x8 digits: 2 -> 4 -> 8; 28x28 with
    three stages: 4 -> 32, cropped to 28).

    A stage is ``ConvTranspose2d(kernel 4, stride 2, padding 1) -> [BatchNorm2d] ->
    activation -> [Dropout]``; the output convolution has no norm or activation, so the
    output is logits for ``bce`` or values for ``mse``.

    Args:
        latent_size: width of the latent vector (the autoencoder's).
        in_channels: channels of the images, from the datamodule.
        image_size: (H, W) of the images, from the datamodule.
        channels: output channels of each upsampling stage; the first map has
            ``channels[0]`` channels too.
        activation: activation name after the projection and every stage.
        batch_norm: ``BatchNorm2d`` after every transposed convolution.
        dropout: dropout probability after every stage.

    Raises:
        ConfigError: an empty ``channels`` list.

    Net API: features are the last stage's map flattened (before the output
    convolution); the head is the output convolution and the crop.

    Shapes:
        input (B, latent_size); output (B, in_channels, H, W), or (B, n) after
        ``reset_head(n)``; features (B, channels[-1] * H' * W') with
        ``H' = ceil(H / 2**n) * 2**n``.
    """

    def __init__(
        self,
        latent_size: int,
        in_channels: int,
        image_size: int | Sequence[int],
        channels: Sequence[int] = (32, 16),
        activation: ActivationLike = "relu",
        batch_norm: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if not channels:
            raise ConfigError("conv_decoder needs at least one upsampling stage in channels")
        resolve_activation(activation)  # fail on a bad name before building anything
        self.latent_size = int(latent_size)
        self.image_size = image_size_pair(image_size, "image_size")
        scale = 2 ** len(channels)
        self.start_shape = (int(channels[0]), *(math.ceil(s / scale) for s in self.image_size))
        self.project = nn.Sequential(
            nn.Linear(self.latent_size, math.prod(self.start_shape)),
            *norm_act_dropout(None, activation),
        )
        stages: list[nn.Module] = []
        for c_in, c_out in zip([channels[0], *channels[:-1]], channels, strict=True):
            norm = nn.BatchNorm2d(c_out) if batch_norm else None
            stages += [
                nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, bias=not batch_norm),
                *norm_act_dropout(norm, activation, dropout),
            ]
        self.stages = nn.Sequential(*stages)
        self.map_shape = (int(channels[-1]), *(s * scale for s in self.start_shape[1:]))
        self.output: nn.Conv2d | None = nn.Conv2d(self.map_shape[0], int(in_channels), 3, padding=1)
        self.num_features = math.prod(self.map_shape)
        self.classifier: nn.Linear | None = None  # set by reset_head

    def forward_features(self, z: torch.Tensor) -> torch.Tensor:
        x = self.project(z).view(len(z), *self.start_shape)  # (B, c0, h0, w0)
        return self.stages(x).flatten(1)  # (B, num_features)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        if self.classifier is not None:
            return self.classifier(features)  # (B, n)
        x = self.output(features.view(len(features), *self.map_shape))  # (B, C, H', W')
        (height, width), (big_h, big_w) = self.image_size, self.map_shape[1:]
        top, left = (big_h - height) // 2, (big_w - width) // 2
        return x[:, :, top : top + height, left : left + width]  # (B, C, H, W)

    def reset_head(self, num_outputs: int) -> None:
        self.classifier = new_classifier(self.num_features, num_outputs, self)
        self.output = None  # the image layer goes, as a classifier's old output layer

    @classmethod
    def example(cls, batch_size: int = 2) -> tuple[nn.Module, torch.Tensor]:
        """A small conv decoder to 1x6x6 images (2 -> 4 -> 8, cropped) and a (B, 3)
        latent batch."""
        net = cls(3, 1, (6, 6), channels=[4, 2], dropout=0.1)
        return net, torch.randn(batch_size, 3)
