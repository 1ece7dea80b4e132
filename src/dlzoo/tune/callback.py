"""The Lightning callback that feeds Ray Tune's schedulers, and lets them stop a trial
as a run that ends early rather than as a killed process.

``TuneReport`` is Ray's ``TuneReportCheckpointCallback`` (``ray.tune.integration.
pytorch_lightning``, the callback for a plain Trainer inside a Tune trial; Ray Train's
``RayTrainReportCallback`` only works inside a ``TorchTrainer``) with three changes:

- it reports once per epoch, at its end (after the epoch's validation), and while
  fitting only;
- each report carries ``epoch`` (1, 2, ..; what the schedulers count) beside every
  logged scalar (``val/loss``, ``val/acc``, ..) and a Lightning checkpoint, from which
  a paused trial resumes, and ``node``: the Ray node that trained it (on a cluster,
  which machine ran which trial);
- when the scheduler stops or pauses the trial, Ray's ``report`` raises ``SystemExit``
  inside the training thread; here that ends fit after this epoch instead, so the run
  goes on to score its best checkpoint and write ``metrics.json`` like any run.
  :class:`dlzoo.tune.trial.DlzooTrial` waits for that before Ray ends the trial.
  Stopped before ``max_t`` epochs, the run is ``pruned`` (``pruned`` and
  :meth:`stop_reason`, the protocol of :mod:`dlzoo.sweeps.pruning`, put
  ``"status": "pruned"`` in its ``metrics.json``).

It comes into a trial's config as ``+callbacks.tune_report._target_=dlzoo.tune.callback.
TuneReport`` (extra callbacks come through the config, never by patching a Trainer).
"""

from __future__ import annotations

import lightning.pytorch as pl
import ray
from lightning.pytorch.trainer.states import TrainerFn

# private, and kept: Ray exposes no public handle on the running trial's session, whose
# state (stopped by the scheduler, training finished) the report needs
from ray.train._internal.session import get_session
from ray.tune.integration.pytorch_lightning import TuneReportCheckpointCallback

__all__ = ["TuneReport"]


class TuneReport(TuneReportCheckpointCallback):
    """Report each epoch's scalars and a checkpoint to Ray Tune; end fit when told to.

    Args:
        max_t: the epochs the scheduler lets a trial train; a stop before that is a
            pruned trial (``None``: every stop is one).
        scheduler: the scheduler's name, for the stop line.
        save_checkpoints: also report a checkpoint each epoch (paused trials resume
            from it; without one, a paused trial starts again from scratch).
    """

    def __init__(
        self, max_t: int | None = None, scheduler: str = "ray", save_checkpoints: bool = True
    ) -> None:
        # at the epoch's end, after its validation: a checkpoint taken there resumes at
        # the next epoch (one taken at validation end would resume inside this one)
        super().__init__(metrics=None, save_checkpoints=save_checkpoints, on="train_epoch_end")
        self.max_t, self.scheduler = max_t, scheduler
        self.stopped_at_epoch: int | None = None

    @property
    def pruned(self) -> bool:
        """Whether the scheduler stopped (or paused) the trial before ``max_t`` epochs."""
        epoch = self.stopped_at_epoch
        return epoch is not None and (self.max_t is None or epoch < self.max_t)

    def stop_reason(self) -> str | None:
        """A line saying the scheduler stopped the trial early, or ``None``."""
        if not self.pruned:
            return None
        return f"stopped by {self.scheduler} after epoch {self.stopped_at_epoch} of {self.max_t}"

    def _get_report_dict(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> dict:
        scalars = {
            name: float(value.item())
            for name, value in trainer.callback_metrics.items()
            if value.numel() == 1
        }
        report = {**scalars, "epoch": int(trainer.current_epoch) + 1}
        if ray.is_initialized():  # always, in a trial; asking outside one starts Ray
            report["node"] = ray.get_runtime_context().get_node_id()
        return report

    def _handle(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        fitting = trainer.state.fn == TrainerFn.FITTING
        if not fitting or trainer.sanity_checking or self.stopped_at_epoch is not None:
            return
        try:
            super()._handle(trainer, pl_module)
        except SystemExit as exc:  # Ray's stop signal (code 0); anything else goes on up
            if exc.code not in (0, None):
                raise
            self.stopped_at_epoch = int(trainer.current_epoch) + 1
            trainer.should_stop = True
            # the trial function's closing report would wait for a go-ahead that never
            # comes; Ray's own switch makes it (and any later report) return at once
            get_session().pause_reporting()
