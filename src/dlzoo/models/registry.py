"""A timm-style registry of nets: ``@register_model("cnn")`` on a class, then
``create_model("cnn", **kwargs)`` and ``list_models()``.

A registered class must be an ``nn.Module``, implement the net API of
:class:`~dlzoo.models.base.ZooNet` (``forward_features``, ``forward_head``,
``reset_head``, ``num_features``) and define a classmethod ``example(batch_size=2) ->
(net, input)`` that returns a small instance and an input it accepts; the zoo-wide
test builds every registered net from it, so a new family (rnn, gnn, ...) only has to
register itself to be covered.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from typing import Any, TypeVar

from torch import nn

from dlzoo.errors import ConfigError

ModelT = TypeVar("ModelT", bound=type[nn.Module])

# what every registered net implements besides example() (see dlzoo.models.base)
NET_API = ("forward_features", "forward_head", "reset_head")

_MODELS: dict[str, type[nn.Module]] = {}


def register_model(name: str) -> Callable[[ModelT], ModelT]:
    """Class decorator that registers a net under ``name``.

    Raises:
        TypeError: the class is not an ``nn.Module``, or lacks ``example()`` or a
            method of the net API.
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
        if held is not None and held.__qualname__ != cls.__qualname__:
            raise ValueError(f"model name {name!r} is already registered to {held.__qualname__}")
        _check_net_api(name, cls)
        _MODELS[name] = cls
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
    try:
        return _MODELS[name]
    except KeyError:
        raise ConfigError(
            f"unknown model {name!r}; registered models: {', '.join(list_models())}"
        ) from None


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build the net registered under ``name`` with ``kwargs`` as its arguments."""
    return get_model_class(name)(**kwargs)
