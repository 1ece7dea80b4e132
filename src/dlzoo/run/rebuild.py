"""A run rebuilt from its directory alone (``.hydra/config.yaml`` plus a checkpoint),
from any working directory: what evaluate, predict, export, probe and generate use.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from dlzoo.run.artefacts import (
    check_checkpoint_fits,
    fitted_state,
    load_checkpoint,
    load_run_config,
    run_checkpoint,
)

log = logging.getLogger(__name__)


def rebuild(
    run_dir: str | Path,
    ckpt_path: str | Path | None = None,
    *,
    setup_data: bool = False,
    output_dir: str | Path | None = None,
    trainer: bool = True,
    overrides: Sequence[str] = (),
) -> Any:
    """The run that ``run_dir`` holds, with the checkpoint's weights loaded.

    Args:
        run_dir: a run directory (what dlzoo-train printed).
        ckpt_path: a checkpoint; by default the run's best (or last) one.
        setup_data: set the datamodule up from its data (to evaluate); otherwise the
            checkpoint's fitted preprocessing is restored and no data is read.
        output_dir: where the rebuilt run writes (default: ``run_dir``).
        trainer: build a Trainer (to validate or test); predicting and exporting call
            the task directly and pass ``False`` (the run's ``trainer`` is then ``None``).
        overrides: Hydra-style overrides of what runs the model, on top of the run's
            config (:func:`dlzoo.config.rescore.apply_overrides`): ``trainer=cpu``,
            ``trainer.devices=1``, ``data.batch_size=64``. The trainer runs on one device
            of this machine (:func:`dlzoo.run.devices.one_device`); without a Trainer,
            the task goes to the device that a chosen ``trainer.accelerator`` names
            (the CPU by default).

    Returns:
        A :class:`dlzoo.run.build.Run` without loggers or configured callbacks, in eval
        mode; its ``chosen`` holds what the overrides chose.

    Raises:
        ConfigError, DataError: not a run directory, a missing or bad checkpoint, an
            override that is not allowed or cannot work on this machine.
    """
    from dlzoo.config.rescore import apply_overrides
    from dlzoo.run.build import build
    from dlzoo.run.devices import device_of, one_device

    cfg = load_run_config(run_dir)
    chosen = apply_overrides(cfg, overrides)
    note = one_device(cfg.trainer, chosen)
    if note and trainer:  # without a Trainer, its devices and strategy are unused
        log.warning("note: %s", note)
    path = run_checkpoint(run_dir, ckpt_path)
    checkpoint = load_checkpoint(path)
    section = checkpoint["dlzoo"]
    if output_dir is not None:
        cfg.paths.output_dir = str(Path(output_dir).resolve())
    cfg.callbacks, cfg.logger = None, None
    if section.get("transfer"):  # a reused net: its architecture, without the source run
        OmegaConf.update(cfg, "transfer.source", section["transfer"], force_add=True)
    fitted = None if setup_data else fitted_state(checkpoint, cfg, path)
    run = build(cfg, fitted=fitted, trainer=trainer)
    run.model_name = str(section.get("model") or run.model_name)
    check_checkpoint_fits(checkpoint, path, run.net, run.model_name)
    run.task.load_state_dict(checkpoint["state_dict"])
    run.task.eval()
    if not trainer and "trainer.accelerator" in chosen:
        run.task.to(device_of(cfg.trainer))
    run.checkpoint_path = str(path)
    run.chosen = chosen
    return run
