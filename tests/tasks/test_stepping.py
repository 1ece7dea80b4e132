"""Manual optimisation keeps what the Trainer's automatic loop offered: gradient
accumulation, gradient clipping, and schedulers stepped by interval and frequency."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from lightning.pytorch.callbacks import Callback

from dlzoo.run.build import build
from dlzoo.run.pipeline import fit, train


class GradNorms(Callback):
    """The total gradient norm seen just before each optimizer step."""

    def __init__(self) -> None:
        self.norms: list[float] = []

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        grads = [p.grad.flatten() for p in pl_module.parameters() if p.grad is not None]
        self.norms.append(float(torch.cat(grads).norm()))


def _steps(cfg) -> int:
    return json.loads((Path(cfg.paths.output_dir) / "metrics.json").read_text())["global_steps"]


def test_accumulation_steps_once_per_k_batches_and_at_epoch_end(make_cfg) -> None:
    # debug=limit: 3 batches a epoch, 2 epochs; with 2 batches per step: steps after
    # batch 2 and after batch 3 (the epoch's last) of each epoch
    cfg = make_cfg("debug=limit", "logger=none", "trainer.accumulate_grad_batches=2")
    train(cfg)
    assert _steps(cfg) == 4


def test_gradients_are_clipped_before_each_step(make_cfg) -> None:
    cfg = make_cfg("debug=limit", "logger=none", "trainer.gradient_clip_val=0.001")
    run = build(cfg)
    norms = GradNorms()
    run.trainer.callbacks.append(norms)
    fit(run)
    assert len(norms.norms) == 6 and max(norms.norms) <= 0.001 * 1.0001


def test_unclipped_gradients_are_larger(make_cfg) -> None:
    run = build(make_cfg("debug=limit", "logger=none"))
    norms = GradNorms()
    run.trainer.callbacks.append(norms)
    fit(run)
    assert min(norms.norms) > 0.01


@pytest.mark.parametrize(
    ("overrides", "factor"),
    [
        # epoch interval, every epoch: two epochs halve the rate twice
        (["scheduler=step", "scheduler.step_size=1", "scheduler.gamma=0.5"], 0.25),
        # step interval: 6 optimizer steps
        (["scheduler=exponential", "scheduler.gamma=0.9", "scheduler.interval=step"], 0.9**6),
        # a plateau on the train loss that never improves enough: halved after each epoch
        (
            [
                "scheduler=plateau",
                "scheduler.patience=0",
                "scheduler.factor=0.5",
                "+scheduler.threshold=10",
                "scheduler.monitor=train/loss",
                "scheduler.mode=min",
            ],
            0.25,
        ),
    ],
    ids=["epoch", "step", "plateau"],
)
def test_schedulers_step_by_their_interval(make_cfg, overrides: list[str], factor: float) -> None:
    run = build(make_cfg("debug=limit", "logger=none", "optimizer.lr=0.01", *overrides))
    fit(run)
    (optimizer,) = run.trainer.optimizers
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.01 * factor)
