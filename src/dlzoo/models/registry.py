"""A timm-style registry of nets: ``@register_model("cnn")`` on a class, then
``create_model("cnn", **kwargs)`` and ``list_models()``.

A registered class must be an ``nn.Module``, implement the net API of
:class:`~dlzoo.models.base.ZooNet` (``forward_features``, ``forward_head``,
``reset_head``, ``num_features``) and define a classmethod ``example(batch_size=2) ->
(net, input)`` that returns a small instance and an input it accepts; the zoo-wide
test builds every registered net from it, so a new family (rnn, gnn, ...) only has to
register itself to be covered.

One name per net: every ``conf/model/<name>.yaml`` is registered under ``<name>`` as a
preset, the class with the YAML's values as defaults
(``@register_model("gru", cell="gru")``), so ``create_model("gru", input_size=3,
num_classes=2)`` builds what ``model=gru`` builds (tests/models/test_presets.py
checks that they agree).
"""

from __future__ import annotations

import copy
import fnmatch
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from torch import nn

from dlzoo.errors import ConfigError

ModelT = TypeVar("ModelT", bound=type[nn.Module])

# what every registered net implements besides example() (see dlzoo.models.base)
NET_API = ("forward_features", "forward_head", "reset_head")


@dataclass(frozen=True)
class _Entry:
    cls: type[nn.Module]
    defaults: dict[str, Any]


_MODELS: dict[str, _Entry] = {}


def register_model(name: str, **defaults: Any) -> Callable[[ModelT], ModelT]:
    """Class decorator that registers a net under ``name``, with ``defaults`` for
    :func:`create_model` (a preset; the keyword arguments of ``create_model`` win).

    A class may be registered under several names; its ``model_name`` is the first.

    Raises:
        TypeError: the class is not an ``nn.Module``, lacks ``example()`` or a method
            of the net API, or ``defaults`` names an argument it does not take.
        ValueError: another class already holds ``name``.
    """

    def decorator(cls: ModelT) -> ModelT:
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
            raise TypeError(f"register_model({name!r}): {cls!r} is not an nn.Module subclass")
        if not callable(getattr(cls, "example", None)):
            raise TypeError(
                f"register_model({name!r}): {cls.__name__} has no example() classmethod"
            )
        held = _MODELS.get(name)
        # the same class may come back when its module is reloaded
        if held is not None and held.cls.__qualname__ != cls.__qualname__:
            raise ValueError(
                f"model name {name!r} is already registered to {held.cls.__qualname__}"
            )
        _check_net_api(name, cls)
        try:
            inspect.signature(cls).bind_partial(**defaults)
        except TypeError as exc:
            raise TypeError(f"register_model({name!r}): bad defaults: {exc}") from None
        _MODELS[name] = _Entry(cls, copy.deepcopy(defaults))
        if "model_name" not in vars(cls):
            cls.model_name = name  # type: ignore[attr-defined]
        return cls

    return decorator


def _check_net_api(name: str, cls: type[nn.Module]) -> None:
    missing = [m for m in NET_API if not callable(getattr(cls, m, None))]
    missing += sorted(getattr(cls, "__abstractmethods__", ()))
    if missing:
        raise TypeError(
            f"register_model({name!r}): {cls.__name__} does not implement "
            f"{', '.join(sorted(set(missing)))} (subclass dlzoo.models.base.ZooNet)"
        )


def list_models(pattern: str = "*") -> list[str]:
    """Sorted names of the registered nets, optionally filtered by a glob ``pattern``."""
    return sorted(n for n in _MODELS if fnmatch.fnmatchcase(n, pattern))


def get_model_class(name: str) -> type[nn.Module]:
    """The class registered under ``name``.

    Raises:
        ConfigError: naming the unknown model and listing the registered ones.
    """
    return _entry(name).cls


def get_model_defaults(name: str) -> dict[str, Any]:
    """A copy of the preset arguments registered with ``name`` (empty for a plain
    class registration).

    Raises:
        ConfigError: naming the unknown model and listing the registered ones.
    """
    return copy.deepcopy(_entry(name).defaults)


def _entry(name: str) -> _Entry:
    try:
        return _MODELS[name]
    except KeyError:
        raise ConfigError(
            f"unknown model {name!r}; registered models: {', '.join(list_models())}"
        ) from None


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build the net registered under ``name``: its preset defaults, overridden by
    ``kwargs``.

    Raises:
        ConfigError: for an unknown name (and whatever the net raises for bad values).
    """
    entry = _entry(name)
    # a copy, so that a net that keeps a default list cannot change the preset
    return entry.cls(**{**copy.deepcopy(entry.defaults), **kwargs})
