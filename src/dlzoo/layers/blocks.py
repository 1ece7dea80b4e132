"""Convolutional blocks from the classic image-classification papers, each composed
of :class:`~dlzoo.layers.conv.ConvNormAct` units."""

from __future__ import annotations

import torch
from torch import nn

from dlzoo.layers.activations import ActivationLike, make_activation
from dlzoo.layers.conv import ConvNormAct
from dlzoo.layers.pooling import make_pool2d
from dlzoo.layers.squeeze_excite import SqueezeExcite


class VGGBlock(nn.Sequential):
    """A VGG stage from Simonyan & Zisserman, "Very Deep Convolutional Networks for
    Large-Scale Image Recognition" (ICLR 2015): 3x3 convolutions that keep the size,
    then a 2x2 pool that halves it.

    Stacking two 3x3 convolutions sees a 5x5 window with fewer weights and one more
    non-linearity than a single 5x5 convolution, which is the paper's argument.

    Args:
        in_channels: channels of the input.
        out_channels: channels of every convolution in the block.
        num_convs: number of 3x3 convolutions (the paper uses 2 to 4).
        activation: activation name.
        batch_norm: ``BatchNorm2d`` after each convolution (not in the original
            paper, but it makes small VGGs train fast and reliably).
        dropout: dropout probability after the pool (0 adds no layer).
        pool: ``max`` (the paper's) or ``avg``.

    Shapes:
        input (B, in_channels, H, W); output (B, out_channels, H // 2, W // 2).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_convs: int = 2,
        activation: ActivationLike = "relu",
        batch_norm: bool = True,
        dropout: float = 0.0,
        pool: str = "max",
    ) -> None:
        layers: list[nn.Module] = [
            ConvNormAct(
                in_channels if i == 0 else out_channels,
                out_channels,
                3,
                activation=activation,
                batch_norm=batch_norm,
            )
            for i in range(num_convs)
        ]
        layers.append(make_pool2d(pool, 2))
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        super().__init__(*layers)
        self.out_channels = out_channels


class InceptionBlock(nn.Module):
    """The GoogLeNet Inception module from Szegedy et al., "Going Deeper with
    Convolutions" (CVPR 2015).

    Four parallel branches see the same input at different receptive fields and are
    concatenated along the channels:

    1. 1x1 convolution (``ch1x1``);
    2. 1x1 reduction (``ch3x3red``) then 3x3 (``ch3x3``);
    3. 1x1 reduction (``ch5x5red``) then 5x5 (``ch5x5``), or two 3x3 with
       ``double_3x3`` (the factorisation of Inception v2/v3, same receptive field);
    4. 3x3 max pool (stride 1) then 1x1 projection (``pool_proj``).

    The 1x1 reductions are what make the module cheap: they shrink the channels
    before the expensive larger kernels. Names follow Table 1 of the paper.

    Args:
        in_channels: channels of the input.
        ch1x1: output channels of branch 1.
        ch3x3red: reduction channels of branch 2.
        ch3x3: output channels of branch 2.
        ch5x5red: reduction channels of branch 3.
        ch5x5: output channels of branch 3.
        pool_proj: output channels of branch 4.
        double_3x3: replace branch 3's 5x5 by two 3x3 convolutions.
        activation: activation name.
        batch_norm: ``BatchNorm2d`` after each convolution.

    Shapes:
        input (B, in_channels, H, W); output (B, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W).
    """

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch3x3red: int,
        ch3x3: int,
        ch5x5red: int,
        ch5x5: int,
        pool_proj: int,
        double_3x3: bool = False,
        activation: ActivationLike = "relu",
        batch_norm: bool = True,
    ) -> None:
        super().__init__()

        def conv(c_in: int, c_out: int, k: int) -> ConvNormAct:
            return ConvNormAct(c_in, c_out, k, activation=activation, batch_norm=batch_norm)

        wide = (
            [conv(ch5x5red, ch5x5, 3), conv(ch5x5, ch5x5, 3)]
            if double_3x3
            else [conv(ch5x5red, ch5x5, 5)]
        )
        self.branch1 = conv(in_channels, ch1x1, 1)
        self.branch2 = nn.Sequential(conv(in_channels, ch3x3red, 1), conv(ch3x3red, ch3x3, 3))
        self.branch3 = nn.Sequential(conv(in_channels, ch5x5red, 1), *wide)
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1), conv(in_channels, pool_proj, 1)
        )
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [self.branch1, self.branch2, self.branch3, self.branch4]
        outs = [branch(x) for branch in branches]  # each (B, C_i, H, W)
        return torch.cat(outs, dim=1)  # (B, sum C_i, H, W)


class ResidualBlock(nn.Module):
    r"""The basic residual block of He et al., "Deep Residual Learning for Image
    Recognition" (CVPR 2016), optionally with squeeze-and-excitation (Hu et al. 2018).

    .. math::
        y = \mathrm{act}(F(x) + S(x)), \qquad
        F = \mathrm{conv_{3x3}} \circ \mathrm{act} \circ \mathrm{conv_{3x3}}

    The shortcut :math:`S` is the identity when the shape is kept, and a 1x1 strided
    convolution (projection shortcut, option B of the paper) when the channels or the
    stride change. With ``se_reduction`` the residual :math:`F(x)` is rescaled by
    :class:`~dlzoo.layers.squeeze_excite.SqueezeExcite` before the sum, as in SE-ResNet.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output.
        stride: stride of the first 3x3 convolution (2 halves H and W).
        activation: activation name.
        batch_norm: ``BatchNorm2d`` after each convolution.
        se_reduction: squeeze-and-excitation reduction ratio; ``None`` for none.

    Shapes:
        input (B, in_channels, H, W); output (B, out_channels, ceil(H / stride),
        ceil(W / stride)).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        activation: ActivationLike = "relu",
        batch_norm: bool = True,
        se_reduction: int | None = None,
    ) -> None:
        super().__init__()
        self.conv1 = ConvNormAct(
            in_channels, out_channels, 3, stride, activation=activation, batch_norm=batch_norm
        )
        # linear before the sum: the activation comes after adding the shortcut
        self.conv2 = ConvNormAct(
            out_channels, out_channels, 3, activation=None, batch_norm=batch_norm
        )
        self.se = SqueezeExcite(out_channels, se_reduction, activation) if se_reduction else None
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = ConvNormAct(
                in_channels, out_channels, 1, stride, activation=None, batch_norm=batch_norm
            )
        self.act = make_activation(activation)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.conv2(self.conv1(x))  # (B, C_out, H', W')
        if self.se is not None:
            residual = self.se(residual)  # (B, C_out, H', W'), channels rescaled
        return self.act(residual + self.shortcut(x))  # (B, C_out, H', W')
