"""Forecasting baselines: the (seasonal) naive forecast and a linear autoregression.

Every forecasting net should beat both: the naive forecast costs nothing, and the
linear model is what a deep net's extra capacity has to improve on. The input window
holds the target series first (``x[..., :output_size]``) and any covariates after them.
"""

from __future__ import annotations

import torch
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.models.registry import register_model


def _check_positive(**sizes: int) -> None:
    for name, value in sizes.items():
        if value < 1:
            raise ConfigError(f"{name} must be >= 1, got {value}")


@register_model("naive")
class NaiveForecast(nn.Module):
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

    Shapes:
        input (B, T, F) with ``T >= period`` and ``F >= output_size``; output
        (B, horizon, output_size).
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
        # step h (0-based) repeats step h % period of the last observed season
        self.register_buffer("season_step", torch.arange(horizon) % period, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 3 or x.shape[1] < self.period or x.shape[2] < self.output_size:
            raise ValueError(
                f"the naive forecast needs (B, T >= period={self.period}, "
                f"F >= output_size={self.output_size}), got {tuple(x.shape)}"
            )
        season = x[:, -self.period :, : self.output_size]  # (B, period, output_size)
        return season[:, self.season_step]  # (B, horizon, output_size)

    @classmethod
    def example(cls, batch_size: int = 2) -> tuple[nn.Module, torch.Tensor]:
        """A seasonal naive forecaster (period 3, horizon 5) and a (B, 6, 3) input."""
        net = cls(window=6, horizon=5, output_size=2, period=3)
        return net, torch.randn(batch_size, 6, 3)


@register_model("linear")
class LinearForecast(nn.Module):
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

    Shapes:
        input (B, window, input_size); output (B, horizon, output_size).
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
        self.linear = nn.Linear(window * input_size, horizon * output_size, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1:] != (self.window, self.input_size):
            raise ValueError(
                f"the linear forecast needs (B, window={self.window}, "
                f"input_size={self.input_size}), got {tuple(x.shape)}"
            )
        out = self.linear(x.flatten(1))  # (B, horizon * output_size)
        return out.view(-1, self.horizon, self.output_size)  # (B, horizon, output_size)

    @classmethod
    def example(cls, batch_size: int = 2) -> tuple[nn.Module, torch.Tensor]:
        """A small linear forecaster and a matching (B, 4, 3) input."""
        net = cls(window=4, input_size=3, horizon=2, output_size=2)
        return net, torch.randn(batch_size, 4, 3)
