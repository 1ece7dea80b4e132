"""A stopped reproduction goes on: a protocol finished in the same ``dir=`` with the same
config is read back, not trained again; one that stopped before its summary is
trained; a folder of another config (a budget run) is refused. Shipped protocol files
are found by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dlzoo.errors import ConfigError
from dlzoo.reproduce import runner
from dlzoo.reproduce.protocols import (
    PROTOCOLS_FILE,
    Protocol,
    load_protocols,
    page_title,
    protocol_file,
)

PROTOCOL = Protocol(
    name="p", title="P", experiment="gunpoint_fcn", seeds=2, budget=["trainer.max_epochs=3"]
)


def _finished(run_dir: Path, seconds: float = 42.0) -> None:
    run_dir.mkdir(parents=True)
    payload = {"test": {"test/acc": 0.9, "test/baseline_logreg_acc": 0.8}, "seeds": [{}, {}]}
    (run_dir / "metrics.json").write_text(json.dumps(payload))
    record = {"seconds": seconds}
    (run_dir / runner.RECORD_FILE).write_text(json.dumps(record))


def test_a_finished_protocol_is_read_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _finished(tmp_path / "p")

    def no_training(*args: object) -> float:
        raise AssertionError("a finished protocol was trained again")

    monkeypatch.setattr(runner, "run_protocol", no_training)
    (outcome,) = runner.reproduce([PROTOCOL], tmp_path, budget=False)
    assert (outcome.mean, outcome.runs, outcome.seconds) == (0.9, 2, 42.0)


def test_a_stopped_protocol_is_trained_and_a_budget_run_refused(tmp_path: Path) -> None:
    from omegaconf import OmegaConf

    from dlzoo.config.compose import compose_config
    from dlzoo.config.layout import CONFIG_FILE

    run_dir = tmp_path / "p"
    _finished(run_dir)
    assert runner.finished_seconds(run_dir) == 42.0
    (run_dir / CONFIG_FILE).parent.mkdir()
    OmegaConf.save(compose_config(PROTOCOL.command(budget=False), run_dir), run_dir / CONFIG_FILE)
    # the budget run is another config: its shorter epochs are not the full protocol's
    with pytest.raises(ConfigError, match=r"another config \(trainer.max_epochs="):
        runner.refuse_changed(PROTOCOL, run_dir, budget=True)
    runner.refuse_changed(PROTOCOL, run_dir, budget=False)  # the same: no error
    (run_dir / "metrics.json").unlink()  # stopped before its summary
    assert runner.finished_seconds(run_dir) is None
    assert runner.finished_seconds(tmp_path / "none") is None


def test_shipped_protocol_files_by_name(tmp_path: Path) -> None:
    assert protocol_file("reproduce") == PROTOCOLS_FILE
    zoo = load_protocols("zoo")
    assert protocol_file("zoo").parent == PROTOCOLS_FILE.parent and len(zoo) >= 20
    assert all(p.published is None for p in zoo)  # judged against baselines only
    assert page_title("zoo") == "Every net against its baselines"
    assert page_title("reproduce") == "Reproduction"
    own = tmp_path / "zoo"
    own.write_text("protocols: []\n")
    assert protocol_file(own) == own  # a path wins over a shipped name
    for bad in ("nope", "conf/zoo", "zoo.yml"):
        with pytest.raises(ConfigError, match=f"no protocol file {bad}: give protocols=PATH"):
            protocol_file(bad)


def test_a_folder_of_another_config_is_refused_before_anything_trains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from omegaconf import OmegaConf

    from dlzoo.config.compose import compose_config
    from dlzoo.config.layout import CONFIG_FILE

    run_dir = tmp_path / "p"
    _finished(run_dir)
    (run_dir / CONFIG_FILE).parent.mkdir()
    # the same command, composed when the experiment trained for 7 epochs
    earlier = compose_config([*PROTOCOL.command(budget=False), "trainer.max_epochs=7"], run_dir)
    OmegaConf.save(earlier, run_dir / CONFIG_FILE)
    monkeypatch.setattr(runner, "run_protocol", lambda *a: pytest.fail("trained"))
    with pytest.raises(ConfigError, match=r"protocol p: .* another config \(trainer.max_epochs=7"):
        runner.reproduce([PROTOCOL], tmp_path, budget=False)
    # composed as now: read back
    OmegaConf.save(compose_config(PROTOCOL.command(budget=False), run_dir), run_dir / CONFIG_FILE)
    (outcome,) = runner.reproduce([PROTOCOL], tmp_path, budget=False)
    assert outcome.seconds == 42.0
