"""A search space as Ray Tune's sampling domains, and a trial's values as overrides.

The space is parsed once, by :func:`dlzoo.sweeps.space.parse_space` (the Hydra
sweeper's ``params:`` syntax); this module only maps each
:class:`~dlzoo.sweeps.space.Dimension` onto the Ray domain that samples the same set:

==========================================  =========================================
``interval(a, b)``                          ``tune.uniform(a, b)``
``tag(log, interval(a, b))``                ``tune.loguniform(a, b)``
``range(a, b, s)`` (floats)                 ``tune.quniform(a, b, s)``
``int(interval(a, b))``                     ``tune.randint(a, b + 1)`` (Ray's upper
                                            bound is exclusive)
``range(a, b, s)`` (ints, s > 1)            ``tune.qrandint(a, b, s)``
``tag(log, int(interval(a, b)))``           ``tune.lograndint(a, b + 1)``
``choice(x, y)``                            ``tune.choice([x, y])``
``x`` (one value)                           ``x`` (passed to every trial as it is)
==========================================  =========================================

Ray quantises to multiples of the step counted from 0, not from the range's start, so a
stepped range whose bounds are not multiples of its step is sampled as a ``choice`` of
its values (what Hydra's basic sweeper would run). A log scale with a step is refused,
as Optuna refuses it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from dlzoo.errors import ConfigError
from dlzoo.sweeps.space import Dimension, override_value

__all__ = ["to_ray", "to_ray_space", "trial_overrides"]


def _on_grid(value: float, step: float) -> bool:
    """Whether ``value`` is a whole multiple of ``step`` (up to float rounding)."""
    ratio = value / step
    return math.isclose(ratio, round(ratio), abs_tol=1e-9)


def _grid(dim: Dimension) -> list[Any]:
    """Every value of a stepped range, ``low`` to ``high`` inclusive."""
    count = math.floor((dim.high - dim.low) / dim.step + 1e-9) + 1
    values = [dim.low + i * dim.step for i in range(count)]
    return [int(v) for v in values] if dim.kind == "int" else [round(v, 12) for v in values]


def _numeric(dim: Dimension, tune: Any) -> Any:
    """The Ray domain of an ``int`` or ``float`` dimension."""
    stepped = dim.step is not None and not (dim.kind == "int" and dim.step == 1)
    if dim.log and stepped:
        raise ConfigError(
            f"params.{dim.name}: a log scale takes no step (Optuna refuses it too); "
            "write tag(log, interval(a, b)) or a range without log"
        )
    if stepped and not (_on_grid(dim.low, dim.step) and _on_grid(dim.high, dim.step)):
        return tune.choice(_grid(dim))
    if dim.kind == "float":
        if stepped:
            return tune.quniform(dim.low, dim.high, dim.step)
        return tune.loguniform(dim.low, dim.high) if dim.log else tune.uniform(dim.low, dim.high)
    low, high = int(dim.low), int(dim.high)
    if stepped:
        return tune.qrandint(low, high, int(dim.step))
    return tune.lograndint(low, high + 1) if dim.log else tune.randint(low, high + 1)


def to_ray(dim: Dimension) -> Any:
    """The Ray Tune domain that samples ``dim``'s values (a constant for one value).

    Raises:
        ConfigError: a log scale with a step.
    """
    from ray import tune

    if dim.kind == "categorical":
        return dim.choices[0] if len(dim.choices) == 1 else tune.choice(list(dim.choices))
    return _numeric(dim, tune)


def to_ray_space(space: Mapping[str, Dimension]) -> dict[str, Any]:
    """``param_space`` for ``ray.tune.Tuner``: config key -> domain, in the space's order."""
    return {name: to_ray(dim) for name, dim in space.items()}


def trial_overrides(config: Mapping[str, Any], space: Mapping[str, Dimension]) -> list[str]:
    """A trial's sampled values as ``key=value`` overrides, in the space's order.

    Args:
        config: the trial's config from Ray (config key -> sampled value).
        space: the search space it was sampled from.
    """
    out = []
    for name in space:
        value = config[name]
        if hasattr(value, "item"):  # numpy scalars from Ray's samplers
            value = value.item()
        out.append(f"{name}={override_value(value)}")
    return out
