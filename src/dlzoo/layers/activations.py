"""Activations by name: the one place a config's ``activation: gelu`` becomes a module.

Every block and net in dlzoo takes ``activation`` as a name (or an ``nn.Module``
subclass, for use from Python) and resolves it here, so the set of valid names and the
error for a bad one are the same everywhere.
"""

from __future__ import annotations

from torch import nn

from dlzoo.errors import ConfigError

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "silu": nn.SiLU,
}

ActivationLike = str | type[nn.Module]


def resolve_activation(name: ActivationLike | None) -> type[nn.Module]:
    """The activation class for a name.

    Args:
        name: one of ``relu``, ``leaky_relu``, ``elu``, ``gelu``, ``sigmoid``, ``tanh``,
            ``silu`` (case-insensitive); an ``nn.Module`` subclass, returned as is; or
            ``None`` for no activation (``nn.Identity``), e.g. before a residual sum.

    Raises:
        ConfigError: naming the bad value and listing the valid names.
    """
    if name is None:
        return nn.Identity
    if isinstance(name, type) and issubclass(name, nn.Module):
        return name
    cls = ACTIVATIONS.get(name.lower()) if isinstance(name, str) else None
    if cls is None:
        raise ConfigError(
            f"unknown activation {name!r}; valid activations: {', '.join(sorted(ACTIVATIONS))}"
        )
    return cls


def make_activation(name: ActivationLike | None) -> nn.Module:
    """A new activation module for a name (see :func:`resolve_activation`)."""
    return resolve_activation(name)()


def norm_act_dropout(
    norm: nn.Module | None, activation: ActivationLike | None, dropout: float = 0.0
) -> list[nn.Module]:
    """The layers that follow a linear map (conv or dense): optional norm, activation,
    optional dropout (a probability of 0 adds no layer)."""
    layers = [] if norm is None else [norm]
    layers.append(make_activation(activation))
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    return layers
