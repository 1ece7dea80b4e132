"""One build for every entry point: a composed config to a :class:`Run`.

``build(cfg)`` makes the datamodule, the net (its shape arguments filled from the
datamodule), the task, the callbacks, the loggers and the Trainer, and checks the net /
datamodule pair on one real batch. Train, evaluate, predict, export and tune all start
here; :func:`dlzoo.run.rebuild.rebuild` gives the same ``Run`` from a run directory.
``build(cfg, trainer=False)`` stops at the task: predicting and exporting call the task
directly and need no Trainer, callbacks or loggers.

With ``fitted`` (the fitted preprocessing saved in a checkpoint) the datamodule is not
set up: what the net and the task need comes from the saved state, so predicting and
exporting never read the training data.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.utils import get_class
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint, ProgressBar
from omegaconf import DictConfig, OmegaConf

from dlzoo.config.checks import INJECTED, signature, validate_config
from dlzoo.config.instantiate import instantiate, instantiate_dict
from dlzoo.errors import ConfigError
from dlzoo.run.nets import build_net, choice, data_name, plain

# Lightning warnings that do not apply to dlzoo: the task logs once per epoch, and the
# pytree notice concerns Lightning's own use of torch internals.
_QUIET = (".*smaller than the logging interval.*", ".*LeafSpec.*is deprecated.*")


@dataclass
class Run:
    """Everything one run is made of; ``build`` makes it, the entry points use it."""

    cfg: DictConfig
    datamodule: L.LightningDataModule
    net: torch.nn.Module
    task: L.LightningModule
    trainer: L.Trainer | None  # None: built with trainer=False
    callbacks: list[Any] = field(default_factory=list)
    loggers: list[Any] = field(default_factory=list)
    net_kwargs: dict[str, Any] = field(default_factory=dict)
    model_name: str = ""
    data_name: str = ""
    checkpoint_path: str | None = None
    # a rebuilt run: what the command line chose on top of its config, by dotted key
    chosen: dict[str, Any] = field(default_factory=dict)

    @property
    def output_dir(self) -> Path:
        return Path(self.cfg.paths.output_dir)


def check_pair(task: Any, datamodule: Any, model_name: str, data_name: str) -> None:
    """Run the task's net on two samples of a real validation batch before training.

    The batch is split by the task (:meth:`dlzoo.tasks.base.Task.split_batch`), so any
    batch layout a task understands is checked the same way.

    Raises:
        ConfigError: when the forward pass fails, naming the model and the data.
    """
    batch = next(iter(datamodule.val_dataloader()))
    inputs, _ = task.split_batch(batch)
    tensors = [t for t in inputs if isinstance(t, torch.Tensor)]
    if len(tensors) == len(inputs) and len({len(t) for t in tensors}) == 1:
        inputs = tuple(t[:2] for t in inputs)
    was_training = task.training
    task.eval()
    try:
        with torch.no_grad():
            task(*inputs)
    except (RuntimeError, ValueError, IndexError, TypeError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(
            f"model '{model_name}' does not fit data '{data_name}': {reason}"
        ) from None
    finally:
        task.train(was_training)


def task_kwargs(task_cfg: DictConfig, datamodule: Any) -> dict[str, Any]:
    """Datamodule facts that the task's ``__init__`` asks for: from ``net_kwargs()``
    (e.g. ``num_classes``) and ``task_kwargs()`` (e.g. a forecast's target scaling)."""
    target = str(task_cfg._target_)
    params = signature(target, "task").parameters
    provided = dict(datamodule.net_kwargs())
    if hasattr(datamodule, "task_kwargs"):
        provided.update(datamodule.task_kwargs())
    fill = {k: v for k, v in provided.items() if k in params and task_cfg.get(k) is None}
    for key in sorted(set(provided) & set(params) - set(fill)):
        if plain(task_cfg[key]) != plain(provided[key]):  # e.g. labels out of range
            raise ConfigError(
                f"task sets {key}={plain(task_cfg[key])} but data '{data_name(datamodule)}' "
                f"has {key}={plain(provided[key])}; remove task.{key}"
            )
    injected = INJECTED["task"] | set(fill) | set(task_cfg.keys())
    missing = [n for n, p in params.items() if p.default is p.empty and n not in injected]
    if missing:
        task_name = choice("task", target.rsplit(".", 1)[-1])
        raise ConfigError(
            f"task '{task_name}' does not fit data '{data_name(datamodule)}': the task needs "
            f"{', '.join(missing)}, the data provides {', '.join(provided) or 'nothing'}"
        )
    return fill


def _optimizer(cfg: DictConfig, net: torch.nn.Module) -> Any:
    """The optimizer partial, tried once on the net so a bad value fails before fit."""
    from dlzoo.optim import build_optimizer

    factory = instantiate(cfg.optimizer)
    if not any(p.requires_grad for p in net.parameters()):
        return factory  # nothing to optimise (e.g. the naive forecast): never called
    try:
        build_optimizer(factory, net)
    except (TypeError, ValueError) as exc:
        values = ", ".join(
            f"optimizer.{k}={v!r}" for k, v in cfg.optimizer.items() if not k.startswith("_")
        )
        raise ConfigError(f"the optimizer rejects {values}: {exc}") from None
    return factory


def _stepping(trainer: DictConfig) -> Any:
    """The trainer config's clipping and accumulation, for the task's manual stepping."""
    from dlzoo.tasks.stepping import Stepping

    accumulate = trainer.get("accumulate_grad_batches") or 1
    if isinstance(accumulate, bool) or int(accumulate) != accumulate or accumulate < 1:
        raise ConfigError(f"trainer.accumulate_grad_batches={accumulate} must be an integer >= 1")
    clip = trainer.get("gradient_clip_val")
    algorithm = trainer.get("gradient_clip_algorithm") or "norm"
    if algorithm not in ("norm", "value"):
        raise ConfigError(f"trainer.gradient_clip_algorithm={algorithm}; valid: norm, value")
    return Stepping(int(accumulate), None if clip is None else float(clip), str(algorithm))


def _task(cfg: DictConfig, net: torch.nn.Module, datamodule: Any) -> L.LightningModule:
    scheduler = (
        OmegaConf.to_container(cfg.scheduler, resolve=True) if cfg.get("scheduler") else None
    )
    # not through instantiate: Hydra would build the scheduler dict's _target_ itself
    args = OmegaConf.to_container(cfg.task, resolve=True)
    return get_class(args.pop("_target_"))(
        net=net,
        optimizer=_optimizer(cfg, net),
        scheduler=scheduler,
        **args,
        **task_kwargs(cfg.task, datamodule),
    )


def _trainer(cfg: DictConfig, callbacks: list[Any], loggers: list[Any]) -> L.Trainer:
    if not loggers:  # Lightning refuses a learning-rate monitor with nowhere to log
        callbacks = [c for c in callbacks if not isinstance(c, LearningRateMonitor)]
    # checkpoints and a progress bar only where configured (Lightning adds its own otherwise);
    # clipping and accumulation are the task's (manual optimisation, see _stepping)
    return instantiate(
        cfg.trainer,
        gradient_clip_val=None,
        accumulate_grad_batches=1,
        callbacks=callbacks,
        logger=loggers or False,
        enable_checkpointing=any(isinstance(c, ModelCheckpoint) for c in callbacks),
        enable_progress_bar=any(isinstance(c, ProgressBar) for c in callbacks),
    )


def _check_batch_size(datamodule: Any) -> None:
    """A batch larger than the training split would train on one short batch an epoch."""
    train = (getattr(datamodule, "tensors", None) or {}).get("train")
    batch_size = getattr(datamodule, "batch_size", None)
    if train and batch_size and len(train[0]) < batch_size:
        raise ConfigError(
            f"data.batch_size={batch_size} is larger than the training split of data "
            f"'{data_name(datamodule)}' ({len(train[0])} samples): set "
            f"data.batch_size={min(64, len(train[0]))} or smaller"
        )


def _use_fold(cfg: DictConfig, datamodule: Any) -> None:
    """Split the data as ``cv.fold`` of ``cv.folds`` (a cross-validation fold's run)."""
    from dlzoo.run.cross_validation import check_cv

    folds, fold = check_cv(cfg)
    if fold is None:
        return
    if not hasattr(datamodule, "use_fold"):
        raise ConfigError(
            f"data '{data_name(datamodule)}' cannot be cross-validated: cv.folds works with "
            "the labelled in-memory datamodules (images, UCR, text, graphs, video); "
            "remove cv.folds"
        )
    datamodule.use_fold(fold, folds)


def _fit_parts(
    cfg: DictConfig, model_name: str, net_kwargs: dict[str, Any], transfer: Any = None
) -> tuple[list[Any], list[Any], L.Trainer]:
    """The callbacks (the configured ones, a transfer run's freezing and dlzoo's own:
    checkpoint contents, DDP statistics and ranks, ``history.csv``, ``figures/``, signals),
    the loggers and the Trainer."""
    from dlzoo.callbacks.ddp import SyncNormStats
    from dlzoo.callbacks.figure_files import FigureFiles
    from dlzoo.callbacks.history import EpochHistory
    from dlzoo.callbacks.ranks import RankRecord
    from dlzoo.callbacks.run_state import RunState
    from dlzoo.config.layout import FIGURES_DIR, HISTORY_FILE
    from dlzoo.run.interrupt import StopOnSignal

    callbacks = [
        *instantiate_dict(cfg.get("callbacks")),
        *(transfer.callbacks if transfer else []),
        RunState(model_name, net_kwargs, transfer.spec if transfer else None),
        SyncNormStats(),  # DDP: every rank evaluates (and saves) the same statistics
        RankRecord(cfg.paths.output_dir),  # DDP: a lost rank can be named by the others
        # history.csv is part of every run directory, whatever callbacks are configured;
        # before StopOnSignal, whose on_train_end raises on a signal
        EpochHistory(Path(cfg.paths.output_dir) / HISTORY_FILE),
        # keeps the best checkpoint's figures for figures/*.png (the pipeline writes them)
        FigureFiles(Path(cfg.paths.output_dir) / FIGURES_DIR),
        StopOnSignal(),  # SIGINT / SIGTERM end training between steps, with a last.ckpt
    ]
    loggers = instantiate_dict(cfg.get("logger"))
    return callbacks, loggers, _trainer(cfg, callbacks, loggers)


def build(cfg: DictConfig, fitted: dict[str, Any] | None = None, *, trainer: bool = True) -> Run:
    """Build every part of a run from a composed config; see the module docstring.

    Args:
        cfg: the composed ``train.yaml`` config.
        fitted: a datamodule's fitted state (from a checkpoint) to restore instead of
            setting the datamodule up from its data.
        trainer: also build the callbacks, the loggers and the Trainer (``False``: the
            run's ``trainer`` is ``None`` and its ``callbacks`` and ``loggers`` empty).

    Raises:
        ConfigError, DataError: bad input, before anything is trained or written.
    """
    validate_config(cfg)
    for message in _QUIET:
        warnings.filterwarnings("ignore", message=message)
    if cfg.get("seed") is not None:
        L.seed_everything(int(cfg.seed), workers=True, verbose=False)
    datamodule = instantiate(cfg.data, _convert_="all")
    _use_fold(cfg, datamodule)
    if fitted is None:
        datamodule.prepare_data()
        datamodule.setup("fit")
        _check_batch_size(datamodule)
    else:
        datamodule.load_fitted_state(fitted)
    transfer = None
    if cfg.get("init_from"):  # the net of another run, with a new head
        from dlzoo.run.transfer import attach, build_transfer_net

        transfer = build_transfer_net(cfg, datamodule, fitted is not None)
        net = transfer.net
    else:
        net = build_net(cfg.model, datamodule)
    task = _task(cfg, net, datamodule)
    task.stepping = _stepping(cfg.trainer)
    model_name = choice("model", str(cfg.model._target_).rsplit(".", 1)[-1])
    if transfer is not None:
        model_name = transfer.spec["model_name"] or model_name
        transfer.callbacks = attach(transfer, task, cfg.transfer)
    if fitted is None:
        check_pair(task, datamodule, model_name, data_name(datamodule))
    net_kwargs = {k: plain(v) for k, v in datamodule.net_kwargs().items()}
    run = Run(
        cfg,
        datamodule,
        net,
        task,
        None,
        net_kwargs=net_kwargs,
        model_name=model_name,
        data_name=data_name(datamodule),
    )
    if trainer:
        run.callbacks, run.loggers, run.trainer = _fit_parts(cfg, model_name, net_kwargs, transfer)
    return run
