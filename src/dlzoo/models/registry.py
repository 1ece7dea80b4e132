"""A timm-style registry of nets: ``@register_model("cnn")`` on a class, then
``create_model("cnn", **kwargs)`` and ``list_models()``.

A registered class must be an ``nn.Module``, implement the net API of
:class:`~dlzoo.models.base.ZooNet` (``forward_features``, ``forward_head``,
``reset_head``, ``num_features``) and define a classmethod ``example(batch_size=2) ->
(net, input)`` that returns a small instance and an input it accepts; the zoo-wide
test builds every registered net from it, so a new family (rnn, gnn, ...) only has to
register itself to be covered.

One source per preset, the YAML: ``register_model`` registers a class and nothing else,
and every ``conf/model/<name>.yaml`` (in :func:`model_config_dir`) is a name as well.
``create_model(name, **kwargs)`` reads that YAML with OmegaConf and builds its
``_target_`` with the YAML's values, the keyword arguments winning, so
``create_model("gru", input_size=3, num_classes=2)`` builds what ``model=gru`` builds.
Its nested net nodes (an autoencoder's ``encoder:`` / ``decoder:``, a video net's
``backbone:``) are built as well, and its interpolations (``${..latent_size}``) see the
keyword arguments; a keyword argument that the outer class does not take (a data shape
such as ``in_channels``) goes to the nested nets that take it and leave it unset, as
the pipeline fills them from the data. A registered name without a YAML (``recurrent``)
builds its class from the keyword arguments alone.
"""

from __future__ import annotations

import contextlib
import fnmatch
import inspect
import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException
from torch import nn

from dlzoo.errors import ConfigError

ModelT = TypeVar("ModelT", bound=type[nn.Module])

# what every registered net implements besides example() (see dlzoo.models.base)
NET_API = ("forward_features", "forward_head", "reset_head")

_MODELS: dict[str, type[nn.Module]] = {}


def model_config_dir() -> Path:
    """The folder of the model presets, the dlzoo package's ``conf/model``.

    Found from this file, so that the models need nothing above them; the one place
    that knows where the presets are.
    """
    return Path(__file__).resolve().parent.parent / "conf" / "model"


def register_model(name: str) -> Callable[[ModelT], ModelT]:
    """Class decorator that registers a net class under ``name``.

    The values of a preset live in its ``conf/model/<name>.yaml`` only; a class is
    registered once, and its ``model_name`` is that name.

    Args:
        name: the registry name (``create_model(name)``, ``list_models()``).

    Raises:
        TypeError: the class is not an ``nn.Module``, lacks ``example()`` or a method
            of the net API.
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


def registered_classes() -> dict[str, type[nn.Module]]:
    """Every class registered by name, dlzoo's and those of a user's own code (a copy)."""
    return dict(_MODELS)


def list_models(pattern: str = "*") -> list[str]:
    """Sorted names of every net :func:`create_model` builds: each
    ``conf/model/<name>.yaml`` and each registered class.

    Args:
        pattern: a glob that the names must match (``"text_*"``).
    """
    names = set(_MODELS) | {p.stem for p in model_config_dir().glob("*.yaml")}
    return sorted(n for n in names if fnmatch.fnmatchcase(n, pattern))


def get_model_class(name: str) -> Any:
    """What ``create_model(name)`` calls: its YAML's ``_target_`` (a class), else the
    class registered under ``name``.

    Args:
        name: a name of :func:`list_models`.

    Raises:
        ConfigError: naming the unknown model and listing the valid ones.
    """
    path = _preset_path(name)
    if path is None:
        return _registered(name)
    return _locate(str(_load(path)._target_), _where(path))


def get_model_defaults(name: str) -> dict[str, Any]:
    """The values of the preset ``name`` as its YAML writes them (interpolations
    unresolved, nested net nodes included), without ``_target_``; empty for a
    registered class without a YAML. ``name`` and the error: as for
    :func:`get_model_class`.
    """
    path = _preset_path(name)
    if path is None:
        _registered(name)
        return {}
    values = OmegaConf.to_container(_load(path), resolve=False)
    values.pop("_target_")
    return values


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build the net ``name``: its ``conf/model/<name>.yaml``'s ``_target_`` with the
    YAML's values as defaults (see the module doc), or the registered class.

    Args:
        name: a name of :func:`list_models`.
        **kwargs: arguments of the net, winning over the YAML's values (and seen by its
            interpolations); those the outer class does not take, such as the data's
            shapes, fill the nested net nodes that take them and leave them unset.

    Raises:
        ConfigError: an unknown name (listing the valid ones), a YAML without a
            ``_target_`` or with a key its class does not take, an interpolation that
            cannot be resolved, a missing argument, or a keyword argument that no net
            of the preset takes or that contradicts a nested net's value (and whatever
            the net raises for bad values).
    """
    path = _preset_path(name)
    if path is None:
        cls = _registered(name)
        return _call(cls, dict(kwargs), f"create_model({name!r})", set(kwargs))
    where = _where(path)
    node = _load(path)
    params = _parameters(_locate(str(node._target_), where))
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    own = {k: v for k, v in kwargs.items() if takes_any or k in params}
    stored = set()
    for key, value in own.items():
        # before resolving, so that ${..key} sees it; what is no config value (a built
        # net) is set after resolving
        with contextlib.suppress(OmegaConfBaseException):
            node[key] = value
            stored.add(key)
    try:
        tree = OmegaConf.to_container(node, resolve=True, throw_on_missing=True)
    except OmegaConfBaseException as exc:
        key = str(getattr(exc, "full_key", "") or "")
        first = key.split(".")[0].split("[")[0] or "it"
        fix = f"{first}=..." if first == key else f"{first}={{...}}"
        raise ConfigError(
            f"{where}: {key or 'a value'} cannot be resolved outside a run "
            f"({str(exc).splitlines()[0]}); pass {fix} to create_model"
        ) from None
    for key, value in own.items():
        if key not in stored or not isinstance(value, dict):
            tree[key] = value  # as given (a tuple stays a tuple, a net a net)
    down = {k: v for k, v in kwargs.items() if k not in own}
    used = _fill_nested(tree, down, where)
    unused = sorted(set(down) - used)
    if unused:
        raise ConfigError(
            f"create_model({name!r}): no net of {where} takes {', '.join(unused)}; "
            f"{_name(_locate(str(tree['_target_']), where))} takes {', '.join(params)}"
        )
    return _build(tree, where, set(own))


def _preset_path(name: str) -> Path | None:
    """``conf/model/<name>.yaml``, or ``None`` where there is none."""
    if not name or Path(name).name != name or name.startswith("."):
        return None
    path = model_config_dir() / f"{name}.yaml"
    return path if path.is_file() else None


def _where(path: Path) -> str:
    return f"conf/model/{path.name}"


def _registered(name: str) -> type[nn.Module]:
    try:
        return _MODELS[name]
    except KeyError:
        raise ConfigError(
            f"unknown model {name!r}; valid models: {', '.join(list_models())}"
        ) from None


def _load(path: Path) -> DictConfig:
    node = OmegaConf.load(path)
    if not isinstance(node, DictConfig) or "_target_" not in node:
        raise ConfigError(f"{_where(path)} has no _target_ (the net's class)")
    return node


def _locate(dotted: str, where: str) -> Any:
    """The object at ``dotted`` (``pkg.module.Class`` or ``pkg.module.Class.method``).

    Raises:
        ConfigError: nothing of that name can be imported.
    """
    try:
        return pkgutil.resolve_name(dotted)
    except (ImportError, AttributeError, ValueError) as exc:
        # a missing dependency of an existing module is that module's error
        if isinstance(exc, ModuleNotFoundError) and exc.name and not dotted.startswith(exc.name):
            raise
        raise ConfigError(
            f"{where}: _target_ {dotted!r} names nothing that can be imported"
        ) from None


def _name(target: Any) -> str:
    return getattr(target, "__qualname__", None) or repr(target)


def _parameters(target: Any) -> dict[str, inspect.Parameter]:
    try:
        return dict(inspect.signature(target).parameters)
    except (TypeError, ValueError):  # no signature to read: take anything
        return {"kwargs": inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD)}


def _nested(node: dict[str, Any]) -> list[str]:
    """The keys of ``node`` that hold a net node of their own (a dict with a ``_target_``)."""
    return [k for k, v in node.items() if isinstance(v, dict) and "_target_" in v]


def _fill_nested(node: dict[str, Any], given: dict[str, Any], where: str) -> set[str]:
    """Fill ``given`` into the nested net nodes of ``node`` (recursively) whose target
    takes them and which leave them unset; return the keys some node took.

    Raises:
        ConfigError: a nested node sets a given key to another value.
    """
    used: set[str] = set()
    for key in _nested(node):
        # a copy: a node may be a dict the caller passed
        node[key] = child = dict(node[key])
        child_where = f"{where}, {key}"
        params = _parameters(_locate(str(child["_target_"]), child_where))
        for name, value in given.items():
            if name not in params:
                continue
            used.add(name)
            if not fill_unset(child, name, value):
                raise ConfigError(
                    f"{child_where} sets {name}={child[name]}, not {name}={value}: "
                    f"pass {key}={{...}} to create_model to change that net"
                )
        used |= _fill_nested(child, given, child_where)
    return used


def fill_unset(node: dict[str, Any], key: str, value: Any) -> bool:
    """Set ``node[key] = value`` where the node leaves it unset (``None`` or absent).

    Returns:
        Whether ``node`` now holds ``value`` there (``False``: it sets another value;
        a tuple and a list of the same items are the same value).
    """
    if node.get(key) is None:
        node[key] = value
        return True
    return _plain(node[key]) == _plain(value)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple | list) else value


def _build(value: Any, where: str, given: set[str] | None = None) -> Any:
    """Instantiate every node with a ``_target_`` in ``value``, the nested ones first
    (the order Hydra's ``instantiate`` builds them in, so a seed gives the same
    weights); other dicts and lists come back as plain containers."""
    if isinstance(value, list):
        return [_build(v, where) for v in value]
    if not isinstance(value, dict):
        return value
    args = {
        k: _build(v, f"{where}, {k}" if k in _nested(value) else where)
        for k, v in value.items()
        if k != "_target_"
    }
    if "_target_" not in value:
        return args
    return _call(_locate(str(value["_target_"]), where), args, where, given or set())


def _call(target: Any, args: dict[str, Any], where: str, given: set[str]) -> Any:
    """``target(**args)``, an unknown or a missing argument reported as a ConfigError
    that says where it comes from (``given``: the keys passed to ``create_model``)."""
    params = _parameters(target)
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(args) - set(params))
        if unknown:
            source = "create_model" if set(unknown) <= given else where
            raise ConfigError(
                f"{source}: {_name(target)} takes no argument {', '.join(unknown)}; "
                f"it takes {', '.join(params)}"
            )
    missing = [
        n
        for n, p in params.items()
        if p.default is p.empty
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        and n not in args
    ]
    if missing:
        raise ConfigError(
            f"{where}: {_name(target)} needs {', '.join(missing)}; pass "
            f"{', '.join(f'{n}=...' for n in missing)} to create_model"
        )
    return target(**args)
