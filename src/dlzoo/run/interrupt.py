"""A run stopped by SIGINT (Ctrl-C) or SIGTERM (SLURM, Kubernetes, ``timeout``) stops so
that ``resume=true`` continues it.

Lightning alone ends a run on SIGTERM with exit status 0 and no word of it (a scheduler
believes that the job succeeded), and on Ctrl-C with status 1. Under
:func:`interruptible` (``pipeline.train``) either signal, while the run trains:

1. lets the training step in progress finish (Lightning's own stopping point for
   SIGTERM; a validation in progress finishes first, so that the checkpoint never holds
   half of one) and writes ``checkpoints/last.ckpt`` there, atomically as every
   checkpoint; resumed from it, the run trains the rest of that epoch's batches (see
   :class:`dlzoo.data.loaders.TensorBatchLoader`) and ends as an uninterrupted one;
2. writes ``interrupted.json`` into the run directory (``dlzoo-runs`` lists the run as
   ``interrupted``; a run is finished only with its ``metrics.json``);
3. prints one line: where it stopped, the run directory and the command that continues
   it (``resume=true hydra.run.dir=RUN``: the task's newest run may be another one);
4. exits with 128 + the signal's number, as a shell reports a process that the signal
   ended: 130 for SIGINT, 143 for SIGTERM. In a multirun the sweep stops with it.

Outside training (loading data, scoring the best checkpoint) and on a second signal the
run stops at once, without a new checkpoint. From Python (a notebook), ``pipeline.train``
raises :class:`Interrupted` after the same. Under SLURM, Lightning's automatic requeue
keeps SIGTERM (only Ctrl-C is handled here). Signals reach the main thread only: a run
in another thread (a Ray trial) is left to its runner.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shlex
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

from lightning.pytorch.callbacks import Callback
from omegaconf import DictConfig

from dlzoo.callbacks.checkpoints import last_checkpoint_path
from dlzoo.config.layout import LAST_CHECKPOINT
from dlzoo.config.run_names import is_rank_zero_process
from dlzoo.run.artefacts import write_json_atomic
from dlzoo.run.status import INTERRUPTED_FILE

__all__ = ["Interrupted", "StopOnSignal", "interruptible", "resume_command", "stop_on_signal"]

T = TypeVar("T")


class Interrupted(SystemExit):
    """A run stopped by a signal; its exit status is 128 + the signal's number.

    A ``SystemExit``, so that it ends a command-line run or a multirun with that status
    and without a traceback, and Lightning passes it on after its clean-up (it turns a
    ``KeyboardInterrupt`` into exit status 1).

    Args:
        signum: the signal.
        graceful: raised between training steps (a checkpoint may be written there),
            not in the middle of one.
    """

    def __init__(self, signum: int, graceful: bool = False) -> None:
        super().__init__(128 + int(signum))
        self.signum = int(signum)
        self.graceful = graceful


@dataclass
class _Watch:
    """What the signal handler and :class:`StopOnSignal` share (one per process)."""

    pid: int = 0  # the process that installed the handler (a forked worker inherits it)
    depth: int = 0  # stop_on_signal blocks open: cross-validation's folds are runs inside
    signum: int | None = None  # the first signal received
    trainer: Any = None  # the Trainer while its training loop runs
    stopped: dict[str, Any] | None = None  # where training stopped


_WATCH = _Watch()


def _default_action(signum: int, frame: FrameType | None) -> None:
    """What the signal does without a handler (in a forked DataLoader worker, which the
    training process stops itself)."""
    if signum == signal.SIGINT:
        signal.default_int_handler(signum, frame)  # raises KeyboardInterrupt
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    """Training: stop after the step in progress. Otherwise, or a second time: now."""
    if os.getpid() != _WATCH.pid:
        _default_action(signum, frame)
        return
    first, trainer = _WATCH.signum is None, _WATCH.trainer
    if first:
        _WATCH.signum = signum
    if not first or trainer is None:
        raise Interrupted(signum)
    # Lightning ends training after the step in progress on its SIGTERM flag (set for
    # SIGTERM by its own handler, which calls this one); inside a validation it would
    # end mid-loop, so there the flag waits for the validation's end
    trainer._signal_connector.received_sigterm = not trainer.validating


def _install() -> dict[int, Any]:
    """Handle SIGINT and SIGTERM with :func:`_on_signal`; return their handlers before."""
    from lightning.fabric.plugins.environments import SLURMEnvironment

    signums = [signal.SIGINT]
    if not SLURMEnvironment.detect():  # SLURM: Lightning's requeue handling keeps SIGTERM
        signums.append(signal.SIGTERM)
    previous = {signum: signal.getsignal(signum) for signum in signums}
    for signum in signums:
        signal.signal(signum, _on_signal)
    return previous


def _last_checkpoint(trainer: Any) -> Path:
    return last_checkpoint_path(trainer) or Path(trainer.default_root_dir) / LAST_CHECKPOINT


class StopOnSignal(Callback):
    """The Trainer's side of :func:`stop_on_signal`: a signal ends training between two
    steps, where ``last.ckpt`` is written. dlzoo adds it to every run's Trainer; it acts
    only on a signal that :func:`stop_on_signal`'s handler received."""

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        _WATCH.trainer = trainer
        # A mid-epoch checkpoint resumes exactly only where the training loader goes on
        # from its saved place. Lightning hands the loader its state when it builds the
        # loader, but a task with a scheduler builds it earlier, in
        # configure_optimizers (estimated_stepping_batches), before the checkpoint's
        # loop state is read: hand it over now (a no-op where it was, or for a new run).
        # (private: Lightning has no public call that hands a loader its saved state)
        trainer.fit_loop._load_combined_loader_states()

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if _WATCH.trainer is trainer and _WATCH.signum is not None:
            trainer._signal_connector.received_sigterm = True  # held back until now

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        _WATCH.trainer = None
        if _WATCH.signum is not None:  # it came after Lightning last looked at its flag
            raise Interrupted(_WATCH.signum, graceful=True)

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        from lightning.pytorch.trainer.states import TrainerFn
        from lightning.pytorch.utilities.exceptions import SIGTERMException

        _WATCH.trainer = None
        if _WATCH.signum is None:
            return  # an error, or a SIGTERM that Lightning handles itself
        graceful = isinstance(exception, SIGTERMException) or (
            isinstance(exception, Interrupted) and exception.graceful
        )
        written = graceful and trainer.state.fn == TrainerFn.FITTING
        if written:
            # on every rank: the write is collective
            trainer.save_checkpoint(_last_checkpoint(trainer), weights_only=False)
        _WATCH.stopped = {
            "stage": str(trainer.state.fn.value),  # fit, or validate / test: scoring
            "epoch": int(trainer.current_epoch),
            "max_epochs": trainer.max_epochs,
            "global_steps": int(trainer.global_step),
            "checkpoint_written": written,
        }


def resume_command(run_dir: Path) -> str:
    """The command that continues the run in ``run_dir``: ``resume=true`` takes the
    run's own overrides from it (and, without ``hydra.run.dir``, the task's newest run,
    which may be another one)."""
    return shlex.join(["dlzoo-train", "resume=true", f"hydra.run.dir={run_dir}"])


def _where(stopped: dict[str, Any] | None) -> str:
    """``at step 45 (epoch 3/4)``: where the run stopped, for the line."""
    if not stopped:
        return "before training"
    step, epoch, of = stopped["global_steps"], stopped["epoch"] + 1, stopped["max_epochs"]
    if stopped["stage"] != "fit":
        return f"while scoring, after step {step}"
    if of and of > 0:  # the epoch in progress (after the last one: that one)
        return f"at step {step} (epoch {min(epoch, of)}/{of})"
    return f"at step {step} (epoch {epoch})"


def _report(run_dir: Path, stop: Interrupted) -> None:
    """``interrupted.json`` and the one line."""
    name = signal.Signals(stop.signum).name
    stopped = _WATCH.stopped
    ckpt = run_dir / LAST_CHECKPOINT
    command = resume_command(run_dir) if ckpt.is_file() else None
    payload = {
        "status": "interrupted",
        "signal": name,
        **(stopped or {}),
        "last_ckpt_path": str(ckpt) if command else None,
        "resume_command": command,
    }
    write_json_atomic(run_dir / INTERRUPTED_FILE, payload)
    line = f"interrupted by {name} {_where(stopped)} in run {run_dir}: "
    if command is None:
        line += f"no {LAST_CHECKPOINT} to continue from; start the run again"
    else:
        state = "written now" if stopped and stopped["checkpoint_written"] else "kept from before"
        line += f"{LAST_CHECKPOINT} {state}; continue with: {command}"
    print(line, file=sys.stderr, flush=True)


def _as_interrupted(exc: BaseException) -> Interrupted | None:
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    if isinstance(exc, Interrupted):
        return exc
    if isinstance(exc, SIGTERMException) and _WATCH.signum is not None:
        return Interrupted(_WATCH.signum, graceful=True)
    return None  # an error, or Lightning's own SIGTERM handling under SLURM


@contextlib.contextmanager
def stop_on_signal(cfg: DictConfig) -> Iterator[None]:
    """Run a training with SIGINT / SIGTERM stopping it resumably; see the module doc.

    Args:
        cfg: the run's config (its ``paths.output_dir`` gets ``interrupted.json``).

    Raises:
        Interrupted: after a signal, once ``interrupted.json`` and the line are out.
    """
    # only the main thread receives signals (a Ray trial runs in another); a run inside
    # a run (a cross-validation's fold) is reported by the outer one, which resume=true
    # would continue
    if threading.current_thread() is not threading.main_thread() or _WATCH.depth:
        yield
        return
    try:
        run_dir: Path | None = Path(cfg.paths.output_dir).resolve()
    except Exception:  # a config too broken to name its directory fails on its own
        run_dir = None
    rank_zero = is_rank_zero_process()
    if run_dir is not None and rank_zero:
        (run_dir / INTERRUPTED_FILE).unlink(missing_ok=True)  # continued: no longer
    previous = _install()
    _WATCH.pid, _WATCH.signum, _WATCH.trainer, _WATCH.stopped = os.getpid(), None, None, None
    _WATCH.depth += 1
    try:
        yield
    except BaseException as exc:
        stop = _as_interrupted(exc)
        if stop is None:
            raise
        if run_dir is not None and rank_zero:
            _report(run_dir, stop)
        raise stop from None
    finally:
        _WATCH.depth -= 1
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def interruptible(train: Callable[[DictConfig], T]) -> Callable[[DictConfig], T]:
    """``train(cfg)`` under :func:`stop_on_signal`."""

    @functools.wraps(train)
    def wrapper(cfg: DictConfig) -> T:
        with stop_on_signal(cfg):
            return train(cfg)

    return wrapper
