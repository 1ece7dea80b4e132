"""A search space in hydra-optuna-sweeper's ``params:`` syntax, engine-free.

Each entry of a sweeper's ``params:`` is a Hydra override value, read through Hydra's
own override grammar, so lightning-hydra-template's search files mean here what they
meant with hydra-optuna-sweeper:

==============================  ==============================================
``interval(1e-4, 1e-1)``        float in [low, high]
``int(interval(8, 64))``        int in [low, high]
``tag(log, interval(a, b))``    the same, sampled on a log scale
``range(16, 128, 16)``          int from low to high in steps (high included,
                                as Optuna's ``IntDistribution`` and the
                                original sweeper); floats give a float range
``choice(a, b)`` / ``a,b``      categorical
``0.1``                         a fixed value (one-choice categorical)
==============================  ==============================================

The Optuna sweeper (``hydra_plugins.dlzoo_optuna_sweeper``) and the Ray Tune searcher
(``dlzoo.tune``) convert the same :class:`Dimension` to their own distributions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from dlzoo.errors import ConfigError

__all__ = ["Dimension", "override_value", "parse_space"]

GRAMMAR = "interval(a, b), int(interval(a, b)), range(a, b[, step]), choice(x, y), x,y"


@dataclass(frozen=True)
class Dimension:
    """One swept config key and the values it may take.

    Args:
        name: the config key (``optimizer.lr``).
        kind: ``float`` or ``int`` (``low`` .. ``high`` inclusive, ``step`` when
            discrete, ``log`` for a log scale) or ``categorical`` (``choices``).
    """

    name: str
    kind: Literal["float", "int", "categorical"]
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()


def override_value(value: Any) -> str:
    """``value`` as it goes back onto a command line (``None`` -> ``null``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _as_override(key: str, value: Any) -> str:
    if isinstance(value, list | tuple):  # a YAML list: its items are the choices
        return f"{key}=choice({','.join(override_value(v) for v in value)})"
    return f"{key}={override_value(value)}"


def _range(key: str, value: Any, log: bool) -> Dimension:
    start, stop, step = value.start, value.stop, value.step
    if step <= 0 or stop < start:
        raise ConfigError(
            f"params.{key}: range({start}, {stop}, {step}) is empty; "
            "write range(low, high[, step]) with low <= high and a step above 0"
        )
    if any(isinstance(v, float) for v in (start, stop, step)):
        return Dimension(key, "float", float(start), float(stop), float(step), log)
    return Dimension(key, "int", int(start), int(stop), int(step), log)


def _interval(key: str, value: Any, log: bool) -> Dimension:
    low, high = value.start, value.end
    if not low < high or (log and low <= 0):
        need = "0 < low < high (a log scale)" if log else "low < high"
        raise ConfigError(f"params.{key}: interval({low}, {high}) needs {need}")
    if isinstance(low, int) and isinstance(high, int):  # int(interval(a, b))
        return Dimension(key, "int", low, high, None, log)
    return Dimension(key, "float", float(low), float(high), None, log)


def _dimension(override: Any) -> Dimension:
    from hydra.core.override_parser.types import Transformer

    key = override.get_key_element()
    if not override.is_sweep_override():
        value = Transformer.encode(override.value())
        return Dimension(key, "categorical", choices=(value,))
    value = override.value()
    log = "log" in value.tags
    if override.is_interval_sweep():
        return _interval(key, value, log)
    if override.is_range_sweep() and not value.shuffle:
        return _range(key, value, log)
    choices = tuple(override.sweep_iterator(transformer=Transformer.encode))
    return Dimension(key, "categorical", choices=choices)


def parse_space(params: Mapping[str, Any]) -> dict[str, Dimension]:
    """The dimensions of a sweeper's ``params:`` mapping, in its order.

    Args:
        params: config key -> override value (a string such as ``interval(0, 1)``,
            a number, or a list of choices).

    Returns:
        key -> :class:`Dimension`.

    Raises:
        ConfigError: a value the override grammar cannot read, an empty range or
            interval; the message names the key and the syntax to use.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    if not isinstance(params, Mapping):
        raise ConfigError(
            f"the search space must map config keys to values, got {type(params).__name__}"
        )
    parser = OverridesParser.create()
    space: dict[str, Dimension] = {}
    for key, value in params.items():
        line = _as_override(str(key), value)
        try:
            (override,) = parser.parse_overrides([line])
        except (HydraException, ValueError) as exc:
            # Hydra's first line repeats the override; the second says what is wrong
            lines = [*str(exc).strip().splitlines(), type(exc).__name__]
            reason = lines[1] if lines[0].startswith("Error parsing") else lines[0]
            raise ConfigError(
                f"params.{key}: cannot read {override_value(value)!r} ({reason}); "
                f"write one of {GRAMMAR}"
            ) from None
        space[str(key)] = _dimension(override)
    return space
