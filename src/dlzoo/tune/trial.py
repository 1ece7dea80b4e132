"""One Ray Tune trial = one dlzoo run directory (contract 4).

A trial composes ``train.yaml`` with :func:`dlzoo.config.compose.compose_config` from the
search's overrides and its own sampled values, plus ``threads=<its CPUs>`` (contract 1)
and the :class:`~dlzoo.tune.callback.TuneReport` callback (``+callbacks.tune_report``,
contract 3), and calls :func:`dlzoo.run.pipeline.train`. Its run directory is
``<tune dir>/<trial name>``: config, overrides, TensorBoard events, checkpoints and
``metrics.json`` like any run, so ``dlzoo-runs``, ``dlzoo-eval`` and ``dlzoo-predict``
work on it. A trial that Tune paused (HyperBand) resumes in the same directory from
the checkpoint it last reported (``ray.tune.get_checkpoint()``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlzoo.sweeps.space import Dimension
from dlzoo.tune.space import trial_overrides

__all__ = ["TrialPlan", "make_trainable", "run_trial", "trial_command"]

CALLBACK = "dlzoo.tune.callback.TuneReport"
# how long Ray may wait for a stopped trial to finish its epoch, score and write its
# metrics.json (Ray itself force-kills a trial's process after 600 s)
FINISH_TIMEOUT_S = 500.0


@dataclass(frozen=True)
class TrialPlan:
    """What every trial of a search shares (sent to each trial's process).

    Args:
        tune_dir: the search's directory; trial run directories go inside.
        overrides: the trials' common overrides (experiment, the command line's).
        space: the search space the trial's values come from.
        threads: torch threads per trial (its CPUs).
        max_t: the epochs the scheduler lets a trial train.
        scheduler: the scheduler's name (for the stop line of pruned trials).
    """

    tune_dir: str
    overrides: tuple[str, ...]
    space: dict[str, Dimension] = field(default_factory=dict)
    threads: int = 1
    max_t: int | None = None
    scheduler: str = "asha"


def trial_command(plan: TrialPlan, config: dict[str, Any]) -> list[str]:
    """The overrides a trial is typed as (what ``dlzoo-train`` would run it with)."""
    return [*plan.overrides, *trial_overrides(config, plan.space)]


def _internal(plan: TrialPlan, ckpt_path: str | None) -> list[str]:
    """Overrides only a Tune trial needs: its threads, the report callback, a resume."""
    out = [
        f"threads={plan.threads}",
        f"+callbacks.tune_report._target_={CALLBACK}",
        f"+callbacks.tune_report.scheduler={plan.scheduler}",
    ]
    if plan.max_t is not None:
        out.append(f"+callbacks.tune_report.max_t={plan.max_t}")
    if ckpt_path:  # quoted: Ray's paths may hold '=' and ','
        quoted = ckpt_path.replace("'", "\\'")
        out.append(f"ckpt_path='{quoted}'")
    return out


def _write_overrides(run_dir: Path, overrides: list[str]) -> None:
    """``.hydra/overrides.yaml`` as Hydra writes it, for dlzoo-runs and resume."""
    from omegaconf import OmegaConf

    from dlzoo.config.layout import OVERRIDES_FILE

    path = run_dir / OVERRIDES_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(OmegaConf.create(overrides), path)


def run_trial(config: dict[str, Any], plan: TrialPlan) -> None:
    """Train one trial in its run directory (the function Ray runs).

    Args:
        config: the values Ray sampled for this trial (config key -> value).
        plan: what the search's trials share.
    """
    from ray import tune

    from dlzoo.config.compose import compose_config
    from dlzoo.run.pipeline import train
    from dlzoo.run.status import record_failure

    run_dir = Path(plan.tune_dir) / tune.get_context().get_trial_name()
    command = trial_command(plan, config)
    _write_overrides(run_dir, command)
    checkpoint = tune.get_checkpoint()
    with checkpoint.as_directory() if checkpoint else contextlib.nullcontext() as ckpt_dir:
        ckpt_path = str(Path(ckpt_dir) / "checkpoint") if ckpt_dir else None
        cfg = compose_config([*command, *_internal(plan, ckpt_path)], run_dir)
        try:
            train(cfg)
        except Exception as exc:  # error.json for dlzoo-runs; Ray marks the trial failed
            record_failure(cfg, exc)
            raise


def _finish_training_thread() -> None:
    """Let a stopped trial's training thread end its epoch, score and return.

    Ray ends a function trial by raising ``SystemExit`` at its next report and then
    tears the process down (or hands it to the next trial) within moments; here Ray's
    own ``finish`` releases that report and waits for the thread, so the run writes
    its ``metrics.json`` (see :class:`dlzoo.tune.callback.TuneReport`).
    """
    # private, and kept: finishing the session is not in Ray's public API
    from ray.train._internal.session import get_session

    session = get_session()
    if session is not None and session.training_started:
        session.finish(timeout=FINISH_TIMEOUT_S)


def make_trainable(plan: TrialPlan) -> type:
    """The Ray trainable class of a search: :func:`run_trial` with ``plan``, ending
    stopped trials gracefully (Ray's function trainable with two hooks)."""
    from ray.tune.trainable.function_trainable import wrap_function

    def dlzoo_trial(config: dict[str, Any]) -> None:
        run_trial(config, plan)

    base = wrap_function(dlzoo_trial)

    class DlzooTrial(base):  # type: ignore[misc, valid-type]
        def cleanup(self) -> None:
            _finish_training_thread()
            super().cleanup()

        def reset_config(self, new_config: dict[str, Any]) -> bool:
            _finish_training_thread()
            return super().reset_config(new_config)

    DlzooTrial.__name__ = DlzooTrial._name = "dlzoo"
    return DlzooTrial
