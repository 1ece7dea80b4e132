"""``train.yaml`` composed as the command line composes it, outside a Hydra run.

The config tree ships inside the package (``dlzoo/conf``), so a wheel, an editable
install and ``scripts/train.py`` read the same folder. From Python, a run is
``pipeline.train(compose_config([...]))``.

A net of a user's own registered in the process (``@register_model("tiny")`` on a class
in a notebook) is an option of the ``model`` group there, as if it had a YAML:
``model=tiny`` composes its ``__init__``'s defaults (:func:`store_own_models`).
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

# the config tree ships inside the package, so a wheel, an editable install and
# scripts/train.py all read the same folder
CONFIG_DIR = Path(__file__).resolve().parent.parent / "conf"


def _plain_default(value: Any) -> bool:
    """Whether a constructor default can stand in a YAML (a number, a string, a list)."""
    if isinstance(value, list | tuple):
        return all(_plain_default(v) for v in value)
    return value is None or isinstance(value, bool | int | float | str)


def own_model_node(cls: type) -> dict[str, Any]:
    """The model config of a net class as its YAML would be: ``_target_`` and every
    ``__init__`` argument with a plain default (the data's shapes have none: the
    pipeline fills them)."""
    params = inspect.signature(cls).parameters.values()
    values = {p.name: p.default for p in params if p.default is not p.empty}
    node = {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}
    plain = {k: v for k, v in node.items() if _plain_default(v)}
    return {"_target_": f"{cls.__module__}.{cls.__qualname__}", **plain}


def store_own_models() -> None:
    """Make each net registered from outside dlzoo an option of the ``model`` group.

    ``register_model`` lives below the config layer and knows no Hydra; here, before
    each composition, Hydra's ConfigStore gets a node per such class
    (:func:`own_model_node`). A name that dlzoo's ``conf/model`` has stays its preset.
    """
    # a class registered in this process means the registry is loaded: no registry
    # loaded, nothing to store, and no model zoo imported just to look
    registry = sys.modules.get("dlzoo.models.registry")
    if registry is None:
        return
    from hydra.core.config_store import ConfigStore

    for name, cls in registry.registered_classes().items():
        own = not cls.__module__.startswith("dlzoo.")
        if own and not (CONFIG_DIR / "model" / f"{name}.yaml").is_file():
            ConfigStore.instance().store(group="model", name=name, node=own_model_node(cls))


@contextmanager
def hydra_state_kept() -> Iterator[None]:
    """Give Hydra's global state back as it was after the block.

    A run composed inside another run (a transfer run training its source first)
    replaces Hydra's global config; the outer run goes on reading its own after it.
    """
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig

    held, config = GlobalHydra.instance().hydra, HydraConfig.instance().cfg
    try:
        yield
    finally:
        GlobalHydra.instance().hydra = held
        HydraConfig.instance().cfg = config


def compose_config(overrides: list[str], run_dir: str | Path | None = None) -> DictConfig:
    """Compose ``train.yaml`` as the command line would, outside a Hydra run.

    For notebooks, tests and benchmarks: ``pipeline.train(compose_config([...]))``
    is a run without the CLI. ``${hydra:...}`` interpolations resolve as in a run.

    Args:
        overrides: command-line style overrides, e.g. ``["experiment=digits_cnn"]``.
        run_dir: the run directory; by default the one the command line would make
            (``hydra.run.dir``).
    """
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig

    from dlzoo.config.run_claim import forget_claims

    forget_claims()  # each composition is another run: its hydra.run.dir is a new one
    store_own_models()
    GlobalHydra.instance().clear()
    given = [f"paths.output_dir={run_dir}"] if run_dir is not None else []
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=[*given, *overrides], return_hydra_config=True)
    if run_dir is None:
        cfg.paths.output_dir = str(cfg.hydra.run.dir)
    HydraConfig.instance().set_config(cfg)
    return cfg


def first_values(overrides: list[str]) -> list[str] | None:
    """Overrides with every sweep replaced by its first value (None: can't tell)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    out = []
    for override in OverridesParser.create().parse_overrides(overrides):
        key = override.get_key_element()
        # Hydra's own settings do not change the task's config; its search path does
        # (a search file in another folder)
        if key.lstrip("+~").startswith("hydra") and key != "hydra.searchpath":
            continue
        if override.is_sweep_override():
            try:
                out.append(f"{key}={next(iter(override.sweep_string_iterator()))}")
            except Exception:
                return None
        else:
            out.append(override.input_line)
    return out


def compose_plain(overrides: list[str]) -> DictConfig:
    """``train.yaml`` composed with ``overrides``, without Hydra's own config."""
    from hydra import compose, initialize_config_dir

    store_own_models()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose(config_name="train", overrides=overrides)
