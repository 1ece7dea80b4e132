"""From a composed config to a trained, tested model and a ``metrics.json``.

``train(cfg)`` is the whole run, in the order a reader expects:

1. :func:`dlzoo.run.build.build`: validate the config, seed, make the datamodule, the net
   (shape arguments from the data), the task, callbacks, loggers and the Trainer, and
   check the net / datamodule pair on one real batch;
2. :func:`fit`: train (or resume from ``ckpt_path``);
3. :func:`score`: the best checkpoint on validation and test, and the baselines beside;
   then :func:`dlzoo.run.run_figures.write_figures`: ``figures/*.png``;
4. :func:`report`: ``metrics.json``, the split record, the hyperparameters with the
   final metrics, the result line; return ``cfg.optimized_metric``'s value.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig

from dlzoo.callbacks.checkpoints import last_checkpoint_path
from dlzoo.callbacks.progress import say
from dlzoo.config.checks import check_keys, validate_config
from dlzoo.config.instantiate import instantiate, instantiate_dict
from dlzoo.config.layout import METRICS_FILE
from dlzoo.run.artefacts import (
    check_checkpoint_fits,
    load_checkpoint,
    save_run_config,
    write_json_atomic,
)
from dlzoo.run.build import Run, build, check_pair
from dlzoo.run.interrupt import interruptible
from dlzoo.run.nets import build_net
from dlzoo.run.report import best_epoch, flat_hparams, result_line, run_status, scalars, stop_reason
from dlzoo.run.run_figures import write_figures
from dlzoo.run.threads import apply_threads

__all__ = [
    "METRICS_FILE",
    "Scores",
    "build",
    "build_net",
    "check_keys",
    "check_pair",
    "fit",
    "flat_hparams",
    "instantiate",
    "instantiate_dict",
    "report",
    "score",
    "train",
    "validate_config",
    "write_json_atomic",
]

log = logging.getLogger(__name__)


@dataclass
class Scores:
    """What :func:`score` measured: the best checkpoint's metrics and the baselines."""

    val: dict[str, float] = field(default_factory=dict)
    test: dict[str, float] = field(default_factory=dict)
    ckpt_path: str | None = None
    fit_seconds: float = 0.0
    # why fit ended early, read right after fit (scoring restores the callbacks' states)
    stop_reason: str | None = None


def fit(run: Run) -> float | None:
    """Train the run's task (resuming from ``cfg.ckpt_path`` when set).

    Returns:
        The fit time in seconds, 0 for a net with nothing to train, ``None`` when the
        run was interrupted.
    """
    cfg = run.cfg
    if not cfg.get("train", True):
        return 0.0
    if not any(p.requires_grad for p in run.net.parameters()):
        # e.g. the naive forecast: there is nothing to fit, only to score
        log.info("model '%s' has no parameters to train: scoring it as it is", run.model_name)
        return 0.0
    ckpt_path = cfg.get("ckpt_path")
    start = time.perf_counter()
    run.trainer.fit(run.task, datamodule=run.datamodule, ckpt_path=ckpt_path)
    if run.trainer.interrupted:
        log.warning("training was interrupted; no metrics.json written")
        return None
    return time.perf_counter() - start


class _ScalarsOff:
    """Keep the best checkpoint's re-validation out of the training curves: loggers
    skip scalars meanwhile (figures, written to the experiment directly, still go)."""

    def __init__(self, run: Run) -> None:
        self.loggers = list(run.trainer.loggers)

    def __enter__(self) -> None:
        for logger in self.loggers:
            logger.log_metrics = lambda *args, **kwargs: None

    def __exit__(self, *exc: object) -> None:
        for logger in self.loggers:
            vars(logger).pop("log_metrics", None)


def score(run: Run, ckpt_path: str | None, fitted: bool, test: bool = True) -> Scores:
    """Validate and test ``ckpt_path`` (the last weights when ``None``), with baselines.

    Args:
        run: a built run.
        ckpt_path: the checkpoint to score.
        fitted: whether the task was fitted in this process (validation is then kept
            out of the training curves).
        test: also score the test split.
    """
    from dlzoo.run.baselines import baseline_metrics
    from dlzoo.run.probe import representation_metrics

    trainer, task, dm = run.trainer, run.task, run.datamodule
    if fitted:
        with _ScalarsOff(run):
            val = trainer.validate(task, datamodule=dm, ckpt_path=ckpt_path, verbose=False)
    else:
        val = trainer.validate(task, datamodule=dm, ckpt_path=ckpt_path, verbose=False)
    scores = Scores(val=scalars(val[0], "val/"), ckpt_path=ckpt_path)
    if test:
        tested = trainer.test(task, datamodule=dm, ckpt_path=ckpt_path, verbose=False)
        scores.test = scalars(tested[0], "test/")
        scores.test.update(baseline_metrics(task, dm))
        seed = int(run.cfg.get("seed") or 0)
        scores.test.update(representation_metrics(task, dm, seed))
    return scores


def report(run: Run, scores: Scores) -> float | None:
    """Write ``metrics.json`` and the split record, log the hyperparameters with the
    final metrics, log the result line; return the optimised metric's value."""
    cfg, trainer = run.cfg, run.trainer
    everything = {**scores.val, **scores.test}
    name = str(cfg.optimized_metric)
    value = everything.get(name)
    if value is None:
        log.warning("optimized_metric %s was not logged; have: %s", name, ", ".join(everything))
    if not trainer.is_global_zero:
        return value
    payload = {
        "val": scores.val,
        "test": scores.test,
        "best_ckpt_path": scores.ckpt_path,
        "last_ckpt_path": _last_checkpoint(run),
        "best_epoch": best_epoch(scores.ckpt_path),
        "stopped_early": scores.stop_reason is not None,
        "epochs": int(trainer.current_epoch),
        "global_steps": int(trainer.global_step),
        "fit_seconds": round(scores.fit_seconds, 3),
        "optimized_metric": name,
        "optimized_value": value,
        "data": run.data_name,
        "model": run.model_name,
        "seed": cfg.get("seed"),
        "threads": torch.get_num_threads(),
        "status": run_status(trainer),  # ok, or pruned by an Optuna sweep
    }
    output_dir = run.output_dir
    if hasattr(run.datamodule, "save_split"):  # splits are recorded with the run
        run.datamodule.save_split(output_dir / "split.npz")
    write_json_atomic(output_dir / METRICS_FILE, payload)
    _log_hparams(run, everything)
    if scores.stop_reason:
        say(scores.stop_reason)
    say(result_line(payload))
    say(f"run directory: {output_dir.resolve()}")
    return value


def _log_hparams(run: Run, metrics: dict[str, float]) -> None:
    from lightning.pytorch.core.saving import save_hparams_to_yaml

    hparams = flat_hparams(run.cfg)
    hparam_metrics = {f"hparams/{k}": v for k, v in metrics.items() if math.isfinite(v)}
    for logger in run.trainer.loggers:
        if isinstance(logger, TensorBoardLogger):  # pairs them in the HPARAMS tab
            logger.log_hyperparams(hparams, metrics=hparam_metrics)
            # Lightning writes hparams.yaml once, at the start, when it is still empty
            Path(logger.log_dir).mkdir(parents=True, exist_ok=True)
            save_hparams_to_yaml(Path(logger.log_dir) / logger.NAME_HPARAMS_FILE, hparams)
        else:
            logger.log_hyperparams(hparams)
            logger.log_metrics(hparam_metrics, step=run.trainer.global_step)
        logger.finalize("success")


def _last_checkpoint(run: Run) -> str | None:
    path = last_checkpoint_path(run.trainer)
    return str(path) if path is not None and path.is_file() else None


def _train_source(cfg: DictConfig) -> None:
    """``init_from=EXPERIMENT`` without a finished run: train that experiment first, in
    this process and into the same log folder, with this run's seed."""
    from dlzoo.config.compose import compose_config, hydra_state_kept
    from dlzoo.run.transfer import source_to_train

    name = source_to_train(cfg)
    if name is None:
        return
    log_dir = cfg.paths.log_dir
    say(f"init_from={name}: no finished run under {log_dir}; training experiment={name} first")
    seed = cfg.get("seed")
    overrides = [f"experiment={name}", f"paths.log_dir={log_dir}"]
    overrides.append(f"seed={'null' if seed is None else seed}")
    with hydra_state_kept():
        train(compose_config(overrides))


def _repeats(cfg: DictConfig) -> Callable[[DictConfig, Any], float | None] | None:
    """What trains a run of several runs: one per seed (``seeds``, the outer loop), one
    per fold (``cv.folds``); ``None`` for a single run. Checks both settings."""
    from dlzoo.run.cross_validation import check_cv, cross_validate
    from dlzoo.run.seeds import check_seeds, repeat_seeds

    folds, fold = check_cv(cfg)
    if check_seeds(cfg):
        return repeat_seeds
    return cross_validate if folds > 1 and fold is None else None


@interruptible  # SIGINT / SIGTERM: last.ckpt, interrupted.json, exit 130 / 143
def train(cfg: DictConfig) -> float | None:
    """Run one experiment from a composed config; see the module docstring.

    Args:
        cfg: the composed ``train.yaml`` config.

    With ``seeds=N`` it trains N runs, one per seed, and with ``cv.folds=K`` (K >= 2) K
    runs, one per fold (each seed's run a whole cross-validation when both are set), and
    returns the mean (see :mod:`dlzoo.run.seeds`, :mod:`dlzoo.run.cross_validation`).

    Returns:
        The value of ``cfg.optimized_metric`` (best checkpoint, validation or test
        split), or ``None`` when the run did not produce it.
    """
    from dlzoo.config.run_claim import refuse_other_run
    from dlzoo.config.run_names import is_rank_zero_process
    from dlzoo.run.logs import quiet_other_ranks
    from dlzoo.run.lost_rank import report_lost_rank

    # before any work: a directory that holds another run is refused in one line
    refuse_other_run(cfg.paths.output_dir, cfg)
    quiet_other_ranks(cfg.paths.output_dir)  # the run's log file is rank zero's
    apply_threads(cfg)  # before any tensor work: parallel trials share the cores
    _train_source(cfg)
    repeated = _repeats(cfg)
    if repeated is not None:  # a run per seed or fold, and their summary
        if is_rank_zero_process():  # the parent's config, as Hydra writes it for the CLI
            save_run_config(cfg, cfg.paths.output_dir)
        return repeated(cfg, train)
    run = build(cfg)
    if run.trainer.is_global_zero:
        save_run_config(cfg, run.output_dir)
    ckpt_path = cfg.get("ckpt_path")
    if ckpt_path:  # one clear line for a missing, broken or foreign checkpoint
        check_checkpoint_fits(load_checkpoint(ckpt_path), ckpt_path, run.net, run.model_name)
    with report_lost_rank(run):  # DDP: a dead rank is one line, not gloo's traceback
        seconds = fit(run)
        if seconds is None:
            return None
        fitted = seconds > 0.0
        stopped = stop_reason(run.trainer)
        callback = run.trainer.checkpoint_callback
        best = (callback.best_model_path or None) if (fitted and callback) else None
        if not fitted:
            best = cfg.get("ckpt_path") or None
        # Without a checkpoint (fast_dev_run, callbacks=none) the last weights are scored.
        scores = score(run, best, fitted, test=cfg.get("test", True))
    scores.fit_seconds, scores.stop_reason = seconds, stopped
    # once, for the best checkpoint; before report, whose finalize ends an MLflow run
    write_figures(run)
    return report(run, scores)
