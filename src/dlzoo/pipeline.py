"""From a composed config to a trained, tested model and a ``metrics.json``.

``train(cfg)`` is the whole run, in the order a reader expects:

1. validate every ``_target_`` node's keys against its class (unknown keys fail here);
2. seed; instantiate the datamodule and load it;
3. fill the net's shape arguments from the datamodule and build the net; check the
   net / datamodule pair on one real batch;
4. build the task, callbacks, loggers and the Trainer;
5. fit; score the best checkpoint on validation and test; write ``metrics.json``;
   log the hyperparameters with the final metrics; return ``cfg.optimized_metric``.
"""

from __future__ import annotations

import inspect
import json
import logging
import math
import os
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.errors import InstantiationException
from hydra.utils import get_class
from hydra.utils import instantiate as hydra_instantiate
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint, ProgressBar
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig, ListConfig, OmegaConf

from dlzoo.errors import ConfigError, DlzooError
from dlzoo.optim import SCHEDULER_STEPPING_KEYS

log = logging.getLogger(__name__)

# Keys Hydra's instantiate reads itself.
_HYDRA_KEYS = {"_target_", "_partial_", "_convert_", "_recursive_", "_args_"}
# Arguments the pipeline passes itself; a config must not set them.
_INJECTED = {
    "task": {"net", "optimizer", "scheduler"},
    "trainer": {"callbacks", "logger", "enable_checkpointing", "enable_progress_bar"},
}

METRICS_FILE = "metrics.json"

# Lightning warnings that do not apply to dlzoo: the task logs once per epoch, and the
# pytree notice concerns Lightning's own use of torch internals.
_QUIET = (".*smaller than the logging interval.*", ".*LeafSpec.*is deprecated.*")


# --------------------------------------------------------------------------- checks


def _signature(target: str, where: str) -> inspect.Signature:
    try:
        cls = get_class(target)
    except Exception as exc:
        raise ConfigError(f"{where}._target_={target!r} cannot be imported: {exc}") from None
    return inspect.signature(cls)


def check_keys(node: Any, where: str, extra: set[str] = frozenset()) -> None:
    """Fail on keys that the ``_target_`` class does not take, recursively.

    Args:
        node: a config node (any ``_target_`` nodes inside it are checked).
        where: the node's dotted path, for the message (e.g. ``model``).
        extra: keys that are allowed besides the constructor arguments.

    Raises:
        ConfigError: naming the unknown key, the class and the valid keys.
    """
    if isinstance(node, DictConfig | Mapping):
        target = node.get("_target_")
        if target is not None:
            params = _signature(str(target), where).parameters
            takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
            valid = {n for n, p in params.items() if p.kind is not p.VAR_POSITIONAL}
            unknown = sorted(set(node.keys()) - valid - _HYDRA_KEYS - extra)
            if unknown and not takes_any:
                raise ConfigError(
                    f"unknown key {where}.{unknown[0]}: {target} takes "
                    f"{', '.join(sorted(valid - {'self'}))}"
                )
        for key, value in node.items():
            check_keys(value, f"{where}.{key}")
    elif isinstance(node, ListConfig | list):
        for i, value in enumerate(node):
            check_keys(value, f"{where}[{i}]")


def validate_config(cfg: DictConfig) -> None:
    """Check the composed config before anything is built or loaded.

    Raises:
        ConfigError: unknown keys, keys the pipeline sets itself, or a missing
            ``optimized_metric``.
    """
    for group in ("data", "model", "task", "optimizer", "trainer"):
        if cfg.get(group) is None or "_target_" not in cfg[group]:
            raise ConfigError(f"config group '{group}' is missing or has no _target_")
        check_keys(cfg[group], group)
        clash = sorted(_INJECTED.get(group, set()) & set(cfg[group].keys()))
        if clash:
            raise ConfigError(f"{group}.{clash[0]} is set by the pipeline; remove it")
    if cfg.get("scheduler"):
        check_keys(cfg.scheduler, "scheduler", extra=set(SCHEDULER_STEPPING_KEYS))
    for group in ("callbacks", "logger"):
        for name, node in (cfg.get(group) or {}).items():
            if node is not None:
                check_keys(node, f"{group}.{name}")
    if not cfg.get("optimized_metric"):
        raise ConfigError("optimized_metric is not set (e.g. optimized_metric=val/acc)")
    if cfg.get("optimized_mode", "max") not in ("max", "min"):
        raise ConfigError(f"optimized_mode must be max or min, got {cfg.optimized_mode!r}")


# --------------------------------------------------------------------------- building


def instantiate(node: Any, **kwargs: Any) -> Any:
    """``hydra.utils.instantiate`` that lets dlzoo's own errors through unwrapped.

    Hydra wraps whatever a constructor raises in ``InstantiationException``; a
    :class:`DlzooError` is a message for the user and must reach them as it is.
    """
    try:
        return hydra_instantiate(node, **kwargs)
    except InstantiationException as exc:
        if isinstance(exc.__cause__, DlzooError):
            raise exc.__cause__ from None
        raise


def _choice(group: str, fallback: str) -> str:
    """The option name Hydra chose for ``group`` (e.g. ``cnn``), outside Hydra the class."""
    try:
        from hydra.core.hydra_config import HydraConfig

        return str(HydraConfig.get().runtime.choices.get(group) or fallback)
    except Exception:
        return fallback


def build_net(model_cfg: DictConfig, datamodule: L.LightningDataModule) -> torch.nn.Module:
    """Instantiate the net, filling its shape arguments from the datamodule.

    Every argument the net's ``__init__`` declares and the datamodule's ``net_kwargs()``
    provides is filled in, unless the config sets it; a config value that contradicts
    the data is an error, and so is a required argument that neither gives.

    Args:
        model_cfg: the ``model`` config node.
        datamodule: a set-up dlzoo datamodule.

    Raises:
        ConfigError: naming both the model and the data and what does not match.
    """
    target = str(model_cfg._target_)
    model_name = _choice("model", target.rsplit(".", 1)[-1])
    data_name = getattr(datamodule, "name", None) or _choice("data", type(datamodule).__name__)
    provided: dict[str, Any] = datamodule.net_kwargs()
    params = _signature(target, "model").parameters
    fill: dict[str, Any] = {}
    for key, value in provided.items():
        if key not in params:
            continue
        configured = model_cfg.get(key)
        if configured is None:
            fill[key] = value
        elif _normalise(configured) != _normalise(value):
            raise ConfigError(
                f"model '{model_name}' sets {key}={_normalise(configured)} but data "
                f"'{data_name}' has {key}={_normalise(value)}; remove model.{key}"
            )
    missing = [
        n
        for n, p in params.items()
        if p.default is p.empty
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        and n not in fill
        and model_cfg.get(n) is None
    ]
    if missing:
        raise ConfigError(
            f"model '{model_name}' does not fit data '{data_name}': the model needs "
            f"{', '.join(missing)}, the data provides {', '.join(provided) or 'nothing'}"
        )
    try:
        net = instantiate(model_cfg, _convert_="all", **fill)
    except ConfigError as exc:
        raise ConfigError(f"model '{model_name}' does not fit data '{data_name}': {exc}") from None
    check_pair(net, datamodule, model_name, data_name)
    return net


def _normalise(value: Any) -> Any:
    if isinstance(value, DictConfig | ListConfig):
        value = OmegaConf.to_container(value, resolve=True)
    return list(value) if isinstance(value, tuple | list) else value


def check_pair(
    net: torch.nn.Module, datamodule: L.LightningDataModule, model_name: str, data_name: str
) -> None:
    """Run the net on two samples of real data before training starts.

    Raises:
        ConfigError: when the forward pass fails, naming the model and the data.
    """
    batch = next(iter(datamodule.val_dataloader()))
    batch = tuple(batch) if isinstance(batch, list | tuple) else (batch,)
    # the net takes x and whatever follows the target (e.g. sequence lengths)
    inputs = [t[:2] if isinstance(t, torch.Tensor) else t for t in (batch[0], *batch[2:])]
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            net(*inputs)
    except (RuntimeError, ValueError, IndexError, TypeError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(
            f"model '{model_name}' does not fit data '{data_name}': {reason}"
        ) from None
    finally:
        net.train(was_training)


def instantiate_dict(node: DictConfig | None) -> list[Any]:
    """Instantiate every non-null ``_target_`` entry of a name -> config mapping."""
    if not node:
        return []
    return [instantiate(v) for v in node.values() if v is not None and "_target_" in v]


def _task_kwargs(task_cfg: DictConfig, datamodule: L.LightningDataModule) -> dict[str, Any]:
    """Datamodule facts that the task's ``__init__`` asks for: from ``net_kwargs()``
    (e.g. ``num_classes``) and, where the datamodule has one, ``task_kwargs()`` (e.g. a
    forecast's target scaling)."""
    target = str(task_cfg._target_)
    params = _signature(target, "task").parameters
    provided = dict(datamodule.net_kwargs())
    if hasattr(datamodule, "task_kwargs"):
        provided.update(datamodule.task_kwargs())
    fill = {k: v for k, v in provided.items() if k in params and task_cfg.get(k) is None}
    injected = _INJECTED["task"] | set(fill) | set(task_cfg.keys())
    missing = [n for n, p in params.items() if p.default is p.empty and n not in injected]
    if missing:
        task_name = _choice("task", target.rsplit(".", 1)[-1])
        data_name = getattr(datamodule, "name", None) or _choice("data", "")
        raise ConfigError(
            f"task '{task_name}' does not fit data '{data_name}': the task needs "
            f"{', '.join(missing)}, the data provides {', '.join(provided) or 'nothing'}"
        )
    return fill


# --------------------------------------------------------------------------- running


def _scalars(metrics: Mapping[str, Any], prefix: str) -> dict[str, float]:
    out = {}
    for key, value in metrics.items():
        if key.startswith(prefix):
            out[key] = float(value.item() if hasattr(value, "item") else value)
    return dict(sorted(out.items()))


def write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    """Write JSON through a temporary file, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def flat_hparams(cfg: DictConfig) -> dict[str, Any]:
    """The config flattened to ``a/b/c: scalar`` for TensorBoard's HPARAMS tab."""
    out: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if not str(k).startswith("_"):
                    walk(v, f"{prefix}/{k}" if prefix else str(k))
        elif isinstance(node, bool | int | float | str) or node is None:
            out[prefix] = "null" if node is None else node
        else:
            out[prefix] = str(node)

    for group in ("data", "model", "task", "optimizer", "scheduler"):
        node = cfg.get(group)
        walk(OmegaConf.to_container(node, resolve=True) if node is not None else None, group)
    out["trainer/max_epochs"] = cfg.trainer.max_epochs
    out["seed"] = "null" if cfg.get("seed") is None else cfg.seed
    return out


def train(cfg: DictConfig) -> float | None:
    """Run one experiment from a composed config; see the module docstring.

    Args:
        cfg: the composed ``train.yaml`` config.

    Returns:
        The value of ``cfg.optimized_metric`` (best checkpoint, validation or test
        split), or ``None`` when the run did not produce it.
    """
    validate_config(cfg)
    for message in _QUIET:
        warnings.filterwarnings("ignore", message=message)
    if cfg.get("seed") is not None:
        L.seed_everything(int(cfg.seed), workers=True, verbose=False)
    output_dir = Path(cfg.paths.output_dir)

    datamodule = instantiate(cfg.data, _convert_="all")
    datamodule.prepare_data()
    datamodule.setup("fit")
    net = build_net(cfg.model, datamodule)
    scheduler = (
        OmegaConf.to_container(cfg.scheduler, resolve=True) if cfg.get("scheduler") else None
    )
    # not through instantiate: Hydra would build the scheduler dict's _target_ itself
    task_args = OmegaConf.to_container(cfg.task, resolve=True)
    task = get_class(task_args.pop("_target_"))(
        net=net,
        optimizer=instantiate(cfg.optimizer),
        scheduler=scheduler,
        **task_args,
        **_task_kwargs(cfg.task, datamodule),
    )
    callbacks = instantiate_dict(cfg.get("callbacks"))
    loggers = instantiate_dict(cfg.get("logger"))
    if not loggers:  # Lightning refuses a learning-rate monitor with nowhere to log
        callbacks = [c for c in callbacks if not isinstance(c, LearningRateMonitor)]
    # checkpoints and a progress bar only where configured (Lightning adds its own otherwise)
    trainer: L.Trainer = instantiate(
        cfg.trainer,
        callbacks=callbacks,
        logger=loggers or False,
        enable_checkpointing=any(isinstance(c, ModelCheckpoint) for c in callbacks),
        enable_progress_bar=any(isinstance(c, ProgressBar) for c in callbacks),
    )

    fit_seconds = 0.0
    fit = cfg.get("train", True)
    if fit and not any(p.requires_grad for p in net.parameters()):
        # e.g. the naive forecast: there is nothing to fit, only to score
        log.info(
            "model '%s' has no parameters to train: scoring it as it is",
            _choice("model", type(net).__name__),
        )
        fit = False
    if fit:
        start = time.perf_counter()
        trainer.fit(task, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
        fit_seconds = time.perf_counter() - start
        if trainer.interrupted:
            log.warning("training was interrupted; no metrics.json written")
            return None

    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    if not fit:
        best = cfg.get("ckpt_path") or ""
    # Without a checkpoint (fast_dev_run, callbacks=none) the last weights are scored.
    ckpt = best or None
    val_metrics = _scalars(
        trainer.validate(task, datamodule=datamodule, ckpt_path=ckpt, verbose=False)[0], "val/"
    )
    test_metrics: dict[str, float] = {}
    if cfg.get("test", True):
        test_metrics = _scalars(
            trainer.test(task, datamodule=datamodule, ckpt_path=ckpt, verbose=False)[0], "test/"
        )

    everything = {**val_metrics, **test_metrics}
    name = str(cfg.optimized_metric)
    value = everything.get(name)
    if value is None:
        log.warning("optimized_metric %s was not logged; have: %s", name, ", ".join(everything))

    if trainer.is_global_zero:
        payload = {
            "val": val_metrics,
            "test": test_metrics,
            "best_ckpt_path": best or None,
            "last_ckpt_path": _last_checkpoint(trainer),
            "epochs": int(trainer.current_epoch),
            "global_steps": int(trainer.global_step),
            "fit_seconds": round(fit_seconds, 3),
            "optimized_metric": name,
            "optimized_value": value,
            "data": _choice("data", str(cfg.data._target_)),
            "model": _choice("model", str(cfg.model._target_)),
            "seed": cfg.get("seed"),
        }
        if hasattr(datamodule, "save_split"):  # splits are recorded with the run
            datamodule.save_split(output_dir / "split.npz")
        write_json_atomic(output_dir / METRICS_FILE, payload)
        hparam_metrics = {f"hparams/{k}": v for k, v in everything.items() if math.isfinite(v)}
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):  # pairs them in the HPARAMS tab
                logger.log_hyperparams(flat_hparams(cfg), metrics=hparam_metrics)
            else:
                logger.log_hyperparams(flat_hparams(cfg))
                logger.log_metrics(hparam_metrics, step=trainer.global_step)
            logger.finalize("success")
        print(f"run directory: {output_dir.resolve()}")
    return value


def _last_checkpoint(trainer: L.Trainer) -> str | None:
    callback = trainer.checkpoint_callback
    path = getattr(callback, "last_model_path", "") if callback else ""
    return path or None
