"""A run directory that holds another run's config is refused, unless the run continues
that one (resume=true, ckpt_path=); the same config may run there again."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from dlzoo.config.compose import compose_plain
from dlzoo.config.run_claim import refuse_other_run
from dlzoo.errors import ConfigError


def test_only_another_runs_config_is_refused(tmp_path: Path) -> None:
    run = tmp_path / "run"
    held = compose_plain(["seed=0"])
    held.paths.output_dir = str(run)  # as a run from Python saves it
    (run / ".hydra").mkdir(parents=True)
    OmegaConf.save(held, run / ".hydra" / "config.yaml")
    refuse_other_run(run, compose_plain(["seed=0"]))  # the same run again
    refuse_other_run(tmp_path / "new", compose_plain(["seed=1"]))  # nothing there yet
    for continued in ("resume=true", f"ckpt_path={run}/checkpoints/last.ckpt"):
        refuse_other_run(run, compose_plain(["seed=1", continued]))
    with pytest.raises(ConfigError) as info:
        refuse_other_run(run, compose_plain(["seed=1"]))
    message = str(info.value)
    assert message.startswith(f"run directory {run} holds another run")
    assert "seed=0, this run seed=1" in message and "resume=true" in message
    with pytest.raises(ConfigError, match=r"model\._target_=dlzoo\.models\.cnn\.CNN"):
        refuse_other_run(run, compose_plain(["seed=0", "model=mlp"]))
