"""Forecasting baselines: the (seasonal) naive forecast and a linear autoregression.

Every forecasting net should beat both: the naive forecast costs nothing, and the
linear model is what a deep net's extra capacity has to improve on. The input window
holds the target series first (``x[..., :output_size]``) and any covariates after them.
"""

from __future__ import annotations

import torch
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.layers.dense import fresh_linear
from dlzoo.models.base import ZooNet
from dlzoo.models.registry import register_model


def _check_positive(**sizes: int) -> None:
    for name, value in sizes.items():
        if value < 1:
            raise ConfigError(f"{name} must be >= 1, got {value}")


@register_model("naive")
class NaiveForecast(ZooNet):
    """The seasonal naive forecast: every future step repeats the value observed one
    season earlier (Hyndman & Athanasopoulos, "Forecasting: Principles and Practice",
    section 5.2).

    .. math::
        \\hat y_{t+h} = y_{t + h - m \\lceil h / m \\rceil}, \\quad h = 1, \\dots, H

    where ``t`` is the last step of the window and ``m = period``. ``period=1`` repeats
    the last value. The net has no parameters; it is a forecaster only (it takes no
    ``num_classes``, so the pipeline refuses to pair it with classification data).

    Args:
        window: input steps, from the datamodule; must cover one season.
        horizon: forecast steps, from the datamodule.
        output_size: target series, the first columns of the input, from the datamodule.
        period: season length ``m`` in steps.

    Raises:
        ConfigError: a size below 1, or ``period`` longer than ``window``.

    Net API (see :mod:`dlzoo.models.base`): the features are the flattened window as
    far as the forecast reads it, the target series over the last season (the net
    accepts any ``T >= period`` and ignores covariates, so only that part has a fixed
    width); the head repeats it. There is no trainable head: ``reset_head`` raises.

    Shapes:
        input (B, T, F) with ``T >= period`` and ``F >= output_size``; output
        (B, horizon, output_size); features (B, period * output_size).
    """

    def __init__(self, window: int, horizon: int, output_size: int, period: int = 1) -> None:
        super().__init__()
        _check_positive(window=window, horizon=horizon, output_size=output_size, period=period)
        if period > window:
            raise ConfigError(
                f"period={period} is longer than the input window={window}; "
                "lower the period or lengthen the window"
            )
        self.output_size = output_size
        self.period = period
        self.num_features = period * output_size
        # step h (0-based) repeats step h % period of the last observed season
        self.register_buffer("season_step", torch.arange(horizon) % period, persistent=False)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 3 or x.shape[1] < self.period or x.shape[2] < self.output_size:
            raise ValueError(
                f"the naive forecast needs (B, T >= period={self.period}, "
                f"F >= output_size={self.output_size}), got {tuple(x.shape)}"
            )
        return x[:, -self.period :, : self.output_size].flatten(1)  # (B, num_features)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        season = features.view(-1, self.period, self.output_size)  # (B, period, output_size)
        return season[:, self.season_step]  # (B, horizon, output_size)

    def reset_head(self, num_outputs: int) -> None:
        raise ConfigError(
            "the naive forecast has no trainable head to reset (it repeats the last "
            "season); for a trainable baseline on the same window use model=linear"
        )

    @classmethod
    def example(cls, batch_size: int = 2) -> tuple[nn.Module, torch.Tensor]:
        """A seasonal naive forecaster (period 3, horizon 5) and a (B, 6, 3) input."""
        net = cls(window=6, horizon=5, output_size=2, period=3)
        return net, torch.randn(batch_size, 6, 3)


@register_model("linear")
class LinearForecast(ZooNet):
    """A linear autoregression: every forecast value is a weighted sum of every input
    value of the window (all series, targets and covariates), plus a bias.

    The window is flattened step-major (input value ``x[t, f]`` is feature
    ``t * input_size + f``) and one ``Linear`` maps it to the ``horizon * output_size``
    outputs, read back step-major as (horizon, output_size). This is the direct
    multi-output linear model that Zeng et al. 2023 ("Are Transformers Effective for
    Time Series Forecasting?") found hard to beat.

    Args:
        window: input steps, from the datamodule.
        input_size: features per step, from the datamodule.
        horizon: forecast steps, from the datamodule.
        output_size: target series, from the datamodule.
        bias: learn an intercept per output.

    Raises:
        ConfigError: a size below 1.

    Net API (see :mod:`dlzoo.models.base`): the features are the flattened window;
    the head is the one ``Linear``. ``reset_head(k)`` makes it a linear classifier of
    the window with ``k`` logits (``num_classes`` is then ``k``).

    Shapes:
        input (B, window, input_size); output (B, horizon, output_size), or
        (B, num_classes) after ``reset_head``; features (B, window * input_size).
    """

    def __init__(
        self, window: int, input_size: int, horizon: int, output_size: int, bias: bool = True
    ) -> None:
        super().__init__()
        _check_positive(
            window=window, input_size=input_size, horizon=horizon, output_size=output_size
        )
        self.window = window
        self.input_size = input_size
        self.horizon = horizon
        self.output_size = output_size
        self.num_classes: int | None = None  # set by reset_head
        self.num_features = window * input_size
        self.linear = nn.Linear(self.num_features, horizon * output_size, bias=bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1:] != (self.window, self.input_size):
            raise ValueError(
                f"the linear forecast needs (B, window={self.window}, "
                f"input_size={self.input_size}), got {tuple(x.shape)}"
            )
        return x.flatten(1)  # (B, window * input_size), step-major

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        out = self.linear(features)  # (B, horizon * output_size) or (B, num_classes)
        if self.num_classes is not None:
            return out
        return out.view(-1, self.horizon, self.output_size)  # (B, horizon, output_size)

    def reset_head(self, num_outputs: int) -> None:
        self.linear = fresh_linear(self.linear, num_outputs)
        self.num_classes = self.linear.out_features

    @classmethod
    def example(cls, batch_size: int = 2) -> tuple[nn.Module, torch.Tensor]:
        """A small linear forecaster and a matching (B, 4, 3) input."""
        net = cls(window=4, input_size=3, horizon=2, output_size=2)
        return net, torch.randn(batch_size, 4, 3)
