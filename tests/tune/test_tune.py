"""dlzoo-tune: bad input before Ray starts, the report callback's graceful stop (no Ray
processes), and a small real Ray Tune search with ASHA (slow)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dlzoo.config.compose import CONFIG_DIR
from dlzoo.errors import ConfigError
from dlzoo.tune.plan import make_plan


def test_plan_of_a_space_file_names_its_experiment(tmp_path: Path) -> None:
    plan = make_plan(["tune_space=motions_gru_asha", f"paths.log_dir={tmp_path}"])
    assert plan.overrides[:2] == ["experiment=motions_gru", "trainer.max_epochs=32"]
    assert plan.overrides[-1] == f"paths.log_dir={tmp_path.resolve()}"
    assert (plan.metric, plan.mode, plan.max_t) == ("val/loss", "min", 32)
    assert plan.tune_dir.parent == tmp_path.resolve() / "motions_gru" / "tunes"
    assert list(plan.space) == ["optimizer.lr", "model.hidden_size", "model.dropout"]
    assert plan.space["optimizer.lr"].log and plan.space["model.hidden_size"].kind == "categorical"


def test_command_line_wins_over_the_space_file(tmp_path: Path) -> None:
    plan = make_plan(
        [
            "tune_space=motions_gru_asha",
            "experiment=motions_lstm",  # the same space fits the LSTM
            "tune.num_samples=3",
            "tune.scheduler.max_t=4",
            "tune.metric=val/acc",
            f"paths.log_dir={tmp_path}",
        ]
    )
    assert plan.overrides[:2] == ["trainer.max_epochs=4", "experiment=motions_lstm"]
    assert plan.train_cfg.task_name == "motions_lstm"
    assert (plan.tune.num_samples, plan.max_t, plan.metric, plan.mode) == (3, 4, "val/acc", "min")


SPACES = sorted(p.stem for p in (CONFIG_DIR / "tune_space").glob("*.yaml"))


@pytest.mark.parametrize("space", SPACES)
def test_every_space_file_plans_and_builds(tmp_path: Path, space: str) -> None:
    """Each conf/tune_space file composes on conf/tune.yaml, its space parses and fits
    its experiment, and its scheduler and searcher build (tests/config/test_configs.py
    composes the other groups on train.yaml)."""
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, HyperBandScheduler
    from ray.tune.search import BasicVariantGenerator
    from ray.tune.search.optuna import OptunaSearch

    from dlzoo.tune.search import make_scheduler, make_searcher
    from dlzoo.tune.space import to_ray_space

    plan = make_plan([f"tune_space={space}", f"paths.log_dir={tmp_path}"])
    assert plan.space and list(to_ray_space(plan.space)) == list(plan.space)
    kinds = {"asha": ASHAScheduler, "hyperband": HyperBandScheduler, "fifo": FIFOScheduler}
    assert isinstance(make_scheduler(plan), kinds[plan.tune.scheduler.name])
    searchers = {"random": BasicVariantGenerator, "optuna": OptunaSearch}
    assert isinstance(make_searcher(plan), searchers[plan.tune.searcher])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["tune_space=nope"], r"unknown tune_space 'nope': choose one of .*motions_gru_asha"),
        ([], r"the search space is empty: pass tune_space=NAME"),
        (["tune_space=motions_gru_asha", "tune.nope=1"], r"unknown key 'tune.nope'.*num_samples"),
        (["tune_space=motions_gru_asha", "tune.scheduler.name=pbt"], r"choose asha\|hyperband"),
        (["tune_space=motions_gru_asha", "tune.searcher=grid"], r"choose random\|optuna"),
        (["tune_space=motions_gru_asha", "tune.num_samples=0"], r"at least 1 trial"),
        (["tune_space=motions_gru_asha", "tune.scheduler.grace_period=40"], r"1 to max_t \(32\)"),
        (["tune_space=digits_cnn_hyperband", "tune.scheduler.grace_period=2"], r"HyperBand has"),
        # the space's keys are checked against the trials' config
        (["tune_space=motions_gru_asha", "experiment=digits_cnn"], r"model has no 'hidden_size'"),
        (
            ["tune_space=motions_gru_asha", "tune.params={model.dropout: 'interval(0.5, 0.1)'}"],
            r"params.model.dropout: interval\(0.5, 0.1\) needs low < high",
        ),
    ],
)
def test_bad_input_is_one_line(tmp_path: Path, argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_plan([*argv, f"paths.log_dir={tmp_path}"])


def test_cli_bad_input_exits_2_with_one_error_line(tmp_path: Path) -> None:
    cli = Path(sys.executable).with_name("dlzoo-tune")
    done = subprocess.run(
        [str(cli), "tune_space=nope", f"paths.log_dir={tmp_path}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: unknown tune_space 'nope': choose one of digits_cnn_hyperband, motions_gru_asha"
    ]
    assert not list(tmp_path.iterdir())  # nothing written


def test_ray_not_installed_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from dlzoo.tune.search import import_ray

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    with pytest.raises(ConfigError, match=r"needs Ray Tune .*pip install -e '.\[tune\]'"):
        import_ray()


class FakeSession:
    """Ray's training session, as far as the callback uses it."""

    def __init__(self) -> None:
        self.paused = False

    def pause_reporting(self) -> None:
        self.paused = True


def test_stopped_trial_is_pruned_and_resumes_from_its_checkpoint(
    make_cfg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ray stops (or pauses) a trial by raising SystemExit in its report: the run still
    scores its best checkpoint and writes metrics.json, status pruned; started again
    from the checkpoint it reported (a paused HyperBand trial), it goes on at the next
    epoch. No Ray processes here: Ray's report and session are stand-ins."""
    import shutil

    import ray.tune

    import dlzoo.tune.callback as callback
    from dlzoo.run.pipeline import train

    reports: list[dict[str, Any]] = []
    saved = tmp_path / "reported.ckpt"

    def report(metrics: dict[str, Any], checkpoint: Any = None) -> None:
        reports.append(metrics)
        shutil.copy(Path(checkpoint.path) / "checkpoint", saved)  # Ray keeps it so
        if len(reports) == 2:  # the scheduler's STOP, as Ray delivers it
            raise SystemExit(0)

    session = FakeSession()
    monkeypatch.setattr(ray.tune, "report", report)
    monkeypatch.setattr(callback, "get_session", lambda: session)
    overrides = [
        "experiment=digits_cnn",
        "trainer.max_epochs=4",
        "trainer.limit_train_batches=2",
        "logger=none",
        "+callbacks.tune_report._target_=dlzoo.tune.callback.TuneReport",
        "+callbacks.tune_report.max_t=4",
        "+callbacks.tune_report.scheduler=ASHA",
    ]
    cfg = make_cfg(*overrides)
    train(cfg)
    # fit's epochs only: the best checkpoint's validation and test after fit report nothing
    assert [r["epoch"] for r in reports] == [1, 2]
    assert {"val/acc", "val/loss"} <= set(reports[0])
    assert session.paused
    metrics_file = Path(cfg.paths.output_dir) / "metrics.json"
    metrics = json.loads(metrics_file.read_text())
    assert (metrics["status"], metrics["epochs"]) == ("pruned", 2)
    assert "test/acc" in metrics["test"] and Path(metrics["best_ckpt_path"]).is_file()

    train(make_cfg(*overrides, f"ckpt_path={saved}"))  # resumed: epochs 3 and 4
    assert [r["epoch"] for r in reports] == [1, 2, 3, 4]
    metrics = json.loads(metrics_file.read_text())
    assert (metrics["status"], metrics["epochs"]) == ("ok", 4)


@pytest.fixture
def no_ray_left():
    """Shut Ray down after the test, whatever happened, and check nothing is left."""
    import ray

    yield
    if ray.is_initialized():
        ray.shutdown()
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert "raylet" not in ps and "gcs_server" not in ps


@pytest.mark.slow
def test_small_asha_search_runs_locally(tmp_path: Path, capsys, no_ray_left) -> None:
    """4 trials of the BasicMotions GRU, 3 epochs at most, ASHA from epoch 1, one at a
    time (so the seeded search and ASHA's decisions are the same on every run)."""
    from dlzoo.run.rebuild import rebuild
    from dlzoo.tune.search import tune

    summary = tune(
        [
            "tune_space=motions_gru_asha",
            "tune.num_samples=4",
            "tune.max_concurrent=1",
            "tune.scheduler.max_t=3",
            "tune.scheduler.grace_period=1",
            "tune.verbose=0",
            f"paths.log_dir={tmp_path}",
        ]
    )
    out = capsys.readouterr().out
    assert len(summary.trials) == 4 and not summary.errors
    for name, (status, payload) in summary.trials.items():
        run_dir = summary.plan.tune_dir / name
        assert (run_dir / "metrics.json").is_file() and (run_dir / ".hydra/config.yaml").is_file()
        # pruned exactly when ASHA stopped it before max_t
        assert (status == "pruned") == (payload["epochs"] < 3), name
    assert summary.stopped >= 1
    assert f"ASHA stopped {summary.stopped} of 4 trials early" in out
    best = summary.best_record()
    assert f"best trial: {best['trial']}" in out and Path(best["checkpoint"]).is_file()
    values = [payload["optimized_value"] for _, payload in summary.trials.values()]
    assert best["value"] == min(values)  # val/loss: the lowest
    run = rebuild(best["run_dir"], trainer=False)  # what dlzoo-eval / dlzoo-predict load
    assert run.checkpoint_path == best["checkpoint"]
    assert (summary.plan.tune_dir / "summary.md").is_file()
    assert (summary.plan.tune_dir / "best.yaml").is_file()
