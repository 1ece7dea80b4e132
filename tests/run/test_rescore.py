"""A trained run used again on another machine: overrides of the trainer and the data
loading on top of its saved config, one device by default, and one ``error:`` line for
what would change the model or cannot work here. A run trained with DDP is re-scored in
tests/run/test_ddp.py."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

import dlzoo.run.devices
from dlzoo.config.rescore import ALLOWED, apply_overrides
from dlzoo.errors import ConfigError
from dlzoo.run.artefacts import load_run_config
from dlzoo.run.devices import device_of, one_device
from dlzoo.run.evaluate import evaluate


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-epoch digits_cnn run on the CPU: its run directory."""
    import dlzoo

    logs = tmp_path_factory.mktemp("rescore")
    overrides = ("trainer=cpu", "trainer.max_epochs=1", "logger=none")
    return dlzoo.fit("digits_cnn", *overrides, paths={"log_dir": str(logs)}).run_dir


@pytest.fixture
def no_accelerator(monkeypatch: pytest.MonkeyPatch) -> None:
    """This machine as a laptop: no GPU, whatever the test machine has."""
    monkeypatch.setattr(
        dlzoo.run.devices, "available", lambda name: str(name).lower() in ("cpu", "auto")
    )


def _gpu_trained(run_dir: Path) -> None:
    """Make ``run_dir``'s saved config say it trained with ``trainer=gpu`` (the weights
    are the same on any device: a checkpoint is loaded onto the CPU)."""
    path = run_dir / ".hydra" / "config.yaml"
    cfg = OmegaConf.load(path)
    cfg.trainer.merge_with({"accelerator": "gpu", "precision": "bf16-mixed", "benchmark": True})
    OmegaConf.save(cfg, path)


def test_a_gpu_run_is_scored_on_the_cpu_by_default(
    digits_run: Path, no_accelerator: None, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    run_dir = tmp_path / "gpu_run"
    run_dir.mkdir()
    for part in (".hydra", "checkpoints"):  # the run, as copied from a GPU machine
        (run_dir / part).mkdir()
        for file in (digits_run / part).iterdir():
            (run_dir / part / file.name).write_bytes(file.read_bytes())
    _gpu_trained(run_dir)
    with caplog.at_level(logging.WARNING, logger="dlzoo.run.rebuild"):
        path = evaluate(run_dir, digits_run / "checkpoints" / "best.ckpt")
    (note,) = [r.getMessage() for r in caplog.records if r.name == "dlzoo.run.rebuild"]
    assert note.startswith("note: the run's trainer asks for accelerator=gpu (not on this")
    assert "precision=bf16-mixed" in note and "one cpu device" in note
    got = json.loads(path.read_text())
    want = json.loads((digits_run / "metrics.json").read_text())
    assert got["trainer"] == {"accelerator": "cpu", "devices": 1, "precision": "32-true"}
    assert got["test"] == pytest.approx(want["test"], abs=1e-6)
    # asked for by name, a GPU this machine lacks is one line naming the fix
    with pytest.raises(ConfigError, match="this machine has no gpu; use trainer=cpu"):
        evaluate(run_dir, overrides=["trainer.accelerator=gpu"])


def test_a_trainer_swap_keeps_what_the_run_scored(digits_run: Path) -> None:
    cfg = load_run_config(digits_run)
    cfg.trainer.limit_test_batches = 3
    chosen = apply_overrides(cfg, ["trainer=gpu", "trainer.precision=32-true"])
    assert cfg.trainer.accelerator == "gpu" and cfg.trainer.precision == "32-true"
    assert cfg.trainer.limit_test_batches == 3  # comparable with the run's metrics.json
    assert chosen["trainer.accelerator"] == "gpu" and chosen["trainer.precision"] == "32-true"
    chosen = apply_overrides(cfg, ["data.batch_size=7", "+trainer.strategy=auto"])
    assert cfg.data.batch_size == 7 and cfg.trainer.strategy == "auto"
    assert chosen == {"data.batch_size": 7, "trainer.strategy": "auto"}
    apply_overrides(cfg, ["~trainer.limit_test_batches", "paths.data_dir=/data/elsewhere"])
    assert "limit_test_batches" not in cfg.trainer and cfg.paths.data_dir == "/data/elsewhere"


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("model.dropout=0.5", "model.dropout cannot change for a trained run"),
        ("model=mlp", "model cannot change for a trained run"),
        ("task.label_smoothing=0.1", "task.label_smoothing cannot change"),
        ("data.name=other", "data.name cannot change"),
        ("data.val_fraction=0.3", "data.val_fraction cannot change"),
        ("trainr.devices=1", "unknown key 'trainr.devices'; a trained run takes"),
        ("trainer.devicez=1", "unknown key 'trainer.devicez': trainer has no such key"),
        ("data.num_workers=0", "the run's data has no 'num_workers'; it takes data.batch_size"),
        ("trainer=cpuu", "unknown trainer option 'cpuu': choose one of cpu, ddp, ddp_cpu"),
        ("trainer.devices=1,2", "is a sweep"),
    ],
)
def test_what_would_change_the_model_is_refused(
    digits_run: Path, override: str, expected: str
) -> None:
    with pytest.raises(ConfigError, match=expected) as caught:
        apply_overrides(load_run_config(digits_run), [override])
    message = str(caught.value)
    if "cannot change" in message or "trainr" in message:
        assert message.endswith(ALLOWED)
    if "devicez" in message:
        assert "devices" in message.split("valid keys: ")[1]


def test_one_device_of_this_machine(no_accelerator: None, monkeypatch: pytest.MonkeyPatch) -> None:
    ddp_gpu = {"accelerator": "gpu", "devices": -1, "num_nodes": 2, "strategy": "ddp"}
    trainer = OmegaConf.create({**ddp_gpu, "precision": "16-mixed", "sync_batchnorm": True})
    note = one_device(trainer, set())
    assert note and "devices=-1, num_nodes=2, strategy=ddp" in note
    assert OmegaConf.to_container(trainer) == {
        "accelerator": "cpu",
        "devices": 1,
        "num_nodes": 1,
        "strategy": "auto",
        "precision": "32-true",
        "sync_batchnorm": False,
    }
    assert one_device(trainer, set()) is None  # already one device of this machine
    # a choice of the command line is kept or refused, never changed
    with pytest.raises(ConfigError, match=r"trainer.devices=2: .* set trainer.devices=1"):
        one_device(OmegaConf.create({"devices": 2}), {"trainer.devices"})
    chosen = OmegaConf.create({"accelerator": "cpu", "devices": [0], "strategy": "ddp"})
    assert one_device(chosen, {"trainer.strategy"}) is None
    # on a machine with the run's GPU, the run's own trainer (one device of it) is kept
    monkeypatch.setattr(dlzoo.run.devices, "available", lambda name: True)
    trainer = OmegaConf.create({"accelerator": "gpu", "devices": 1, "precision": "bf16-mixed"})
    assert one_device(trainer, set()) is None and trainer.precision == "bf16-mixed"
    assert device_of(OmegaConf.create({"accelerator": "cpu"})).type == "cpu"


def _cli(module: str, args: list[str], monkeypatch: pytest.MonkeyPatch, capsys) -> list[str]:
    """Run a console script in this process; its ``error:`` lines (it must exit 2)."""
    import importlib

    monkeypatch.setattr(sys, "argv", [module, *args])
    with pytest.raises(SystemExit) as done:
        importlib.import_module(f"dlzoo.cli.{module}").main()
    assert done.value.code == 2
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]


def test_the_commands_refuse_in_one_line(
    digits_run: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    run = f"run_dir={digits_run}"
    (line,) = _cli("evaluate", [run, "model.dropout=0.5"], monkeypatch, capsys)
    assert "model.dropout cannot change" in line and "trainer=NAME" in line
    (line,) = _cli("predict", [run, "input=x.png", "optimizer.lr=1"], monkeypatch, capsys)
    assert "optimizer.lr cannot change" in line
    (line,) = _cli("evaluate", [run, "seed=1"], monkeypatch, capsys)
    assert "unknown key 'seed'; valid keys: ckpt_path, run_dir, test; and the config" in line
