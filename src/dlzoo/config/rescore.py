"""What a trained run takes when it is scored or used again on another machine:
``dlzoo-eval run_dir=RUN trainer=cpu data.batch_size=64``.

Hydra-style overrides go on top of the run's saved config, but only of what runs the
model, never of what the model is: the trainer (a group swap ``trainer=NAME``, or
``trainer.KEY=VALUE``, ``+trainer.KEY=VALUE``, ``~trainer.KEY``), how batches are
loaded (``data.batch_size``, ``data.eval_batch_size``, ``data.num_workers`` where the
data has it) and where the data lives (``paths.data_dir``). The net, the task, the
data's name, split and preprocessing made the checkpoint, so ``model.*``, ``task.*``
and the other ``data.*`` keys are refused with one line naming what may change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from omegaconf import DictConfig, OmegaConf

from dlzoo.config.compose import CONFIG_DIR
from dlzoo.errors import ConfigError

# how batches are read: the same samples, the same numbers, another pace
LOADING = ("batch_size", "eval_batch_size", "num_workers")
ALLOWED = (
    "trainer=NAME, trainer.KEY=VALUE, data.batch_size=N, data.eval_batch_size=N, "
    "data.num_workers=N, paths.data_dir=DIR"
)
# what a saved run keeps through a trainer swap: how many batches it scored, so the
# numbers stay comparable with its metrics.json
SCORED = ("limit_val_batches", "limit_test_batches", "fast_dev_run", "overfit_batches")


def _parse(overrides: Sequence[str]) -> list[Any]:
    """Hydra's parse of ``overrides``; a syntax error or a sweep as one line."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    from dlzoo.config.overrides import syntax_error

    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
    except OverrideParseException as exc:
        raise syntax_error(list(overrides), exc) from None
    for override in parsed:
        if override.is_sweep_override():
            raise ConfigError(
                f"{override.input_line} is a sweep: a trained run is scored with one "
                "config; give one value"
            )
    return parsed


def trainer_option(name: str, saved: DictConfig) -> DictConfig:
    """``conf/trainer/NAME.yaml`` as Hydra composes it, keeping what ``saved`` scored.

    Args:
        name: an option of the trainer group (``cpu``, ``gpu``, ``ddp_cpu``...).
        saved: the run's own trainer node (its ``SCORED`` limits are kept).

    Raises:
        ConfigError: an unknown option, listing the valid ones.
    """
    from dlzoo.config.compose import compose_plain, hydra_state_kept

    names = sorted(p.stem for p in (CONFIG_DIR / "trainer").glob("*.yaml"))
    if name not in names:
        raise ConfigError(f"unknown trainer option '{name}': choose one of {', '.join(names)}")
    # composed by Hydra (the option's defaults list), outside any Hydra state a caller holds
    with hydra_state_kept():
        from hydra.core.global_hydra import GlobalHydra

        GlobalHydra.instance().clear()
        node = compose_plain([f"trainer={name}"]).trainer
    for key in SCORED:
        if key in saved:
            node[key] = saved[key]
    return node


def _refusal(key: str, cfg: DictConfig) -> ConfigError:
    """Why ``key`` may not change: it makes the model (or it is not a key at all)."""
    root = key.split(".")[0]
    if root not in cfg:
        return ConfigError(f"unknown key '{key}'; a trained run takes {ALLOWED}")
    return ConfigError(
        f"{key} cannot change for a trained run: its checkpoint is what its config "
        f"trained (train again to change it); a trained run takes {ALLOWED}"
    )


def _check_data_key(key: str, cfg: DictConfig) -> None:
    """``data.KEY`` must be a loading key that the run's data has."""
    leaf = key.removeprefix("data.")
    if leaf not in LOADING:
        raise _refusal(key, cfg)
    if leaf not in cfg.data:
        has = ", ".join(f"data.{k}" for k in LOADING if k in cfg.data)
        raise ConfigError(f"unknown key '{key}': the run's data has no '{leaf}'; it takes {has}")


def _set(cfg: DictConfig, override: Any) -> None:
    """Apply one ``trainer.*`` / ``data.*`` / ``paths.*`` override to ``cfg``.

    Raises:
        ConfigError: an unknown key without ``+`` (listing the keys of its parent).
    """
    key = override.key_or_group
    parent, _, leaf = key.rpartition(".")
    node = OmegaConf.select(cfg, parent)
    adds = override.is_add() or override.is_force_add()
    if not isinstance(node, DictConfig) or (leaf not in node and not adds):
        # the deepest part of the key that exists names the keys to choose from
        while not isinstance(OmegaConf.select(cfg, parent), DictConfig):
            parent = parent.rpartition(".")[0]
        have = OmegaConf.select(cfg, parent)
        valid = ", ".join(sorted(str(k) for k in have if not str(k).startswith("_")))
        plus = "" if override.is_delete() else f" (+{key}=... adds it)"
        raise ConfigError(
            f"unknown key '{key}': {parent} has no such key{plus}; valid keys: {valid}"
        )
    if override.is_delete():
        del node[leaf]
    else:
        OmegaConf.update(cfg, key, override.value(), merge=False, force_add=True)


def apply_overrides(cfg: DictConfig, overrides: Sequence[str]) -> dict[str, Any]:
    """Put ``overrides`` on top of a trained run's saved config, in place.

    Args:
        cfg: the run's config (``load_run_config``).
        overrides: Hydra-style overrides from the command line.

    Returns:
        What the overrides chose, by dotted key (``trainer.devices``: 1; a deleted key:
        ``None``); a swapped-in trainer option chooses every key of its file. Defaults
        that this machine cannot give may fall back; choices may not.

    Raises:
        ConfigError: a syntax error, a sweep, an unknown key or trainer option (listing
            the valid ones), or a key that makes the model (naming what may change).
    """
    parsed = _parse(overrides)
    chosen: dict[str, Any] = {}
    for override in parsed:  # a swap first, so that trainer.KEY goes on top of it
        if override.key_or_group == "trainer" and not override.is_delete():
            cfg.trainer = trainer_option(str(override.value()), cfg.trainer)
            chosen.update({f"trainer.{k}": v for k, v in cfg.trainer.items()})
    for override in parsed:
        key = override.key_or_group
        if key == "trainer":
            if override.is_delete():
                raise _refusal(key, cfg)
            continue
        if key.startswith("data."):
            _check_data_key(key, cfg)
        elif not key.startswith("trainer.") and key != "paths.data_dir":
            raise _refusal(key, cfg)
        _set(cfg, override)
        chosen[key] = None if override.is_delete() else override.value()
    return chosen
