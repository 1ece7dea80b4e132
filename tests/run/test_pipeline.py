"""The pipeline end to end: experiments, metrics.json, checks, seeds, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from graph_files import write_planetoid
from omegaconf import OmegaConf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from dlzoo.config.compose import CONFIG_DIR, compose_config
from dlzoo.errors import ConfigError
from dlzoo.run.pipeline import build_net, train

EXPERIMENTS = sorted(p.stem for p in (CONFIG_DIR / "experiment").glob("*.yaml"))
METRICS_KEYS = {
    "val",
    "test",
    "best_ckpt_path",
    "last_ckpt_path",
    "best_epoch",
    "stopped_early",
    "epochs",
    "global_steps",
    "fit_seconds",
    "optimized_metric",
    "optimized_value",
    "data",
    "model",
    "seed",
    "status",
    "threads",
}


def read_metrics(cfg) -> dict:
    return json.loads((Path(cfg.paths.output_dir) / "metrics.json").read_text())


# what each kind of task reports, for the best checkpoint, on validation and test
CLASSIFICATION = {"acc", "loss", "f1", "precision", "recall"}
FORECAST = {"loss", "mae", "rmse", "mase", "naive_mase", "mase_vs_naive"}


def _train_source(cfg, tmp_path: Path) -> None:
    """A short run of the experiment that ``cfg.init_from`` names, where a transfer
    experiment will look for it (else it would train the source in full first)."""
    source = str(cfg.init_from)
    run_dir = tmp_path / source / "runs" / "source"
    overrides = [f"experiment={source}", "debug=limit", f"paths.log_dir={tmp_path}"]
    train(compose_config(overrides, run_dir))


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_runs_a_few_batches(make_cfg, tmp_path, experiment: str) -> None:
    cfg = make_cfg(f"experiment={experiment}", "debug=limit")
    if cfg.get("init_from"):
        _train_source(cfg, tmp_path)
    if cfg.data._target_.endswith("PlanetoidDataModule"):  # Cora downloads: a small copy
        write_planetoid(Path(cfg.data.root) / cfg.data.name / "raw", cfg.data.name.lower())
    if cfg.cv.folds > 1:  # two folds of a cross-validated experiment, and their summary
        cfg = make_cfg(f"experiment={experiment}", "debug=limit", "cv.folds=2")
        train(cfg)
        summary = read_metrics(cfg)
        assert summary["cv_folds"] == 2 and len(summary["folds"]) == 2
        cfg = OmegaConf.load(Path(cfg.paths.output_dir) / "fold_1" / ".hydra" / "config.yaml")
        value = summary["folds"][1]["val"][cfg.optimized_metric]
    else:
        value = train(cfg)
    metrics = read_metrics(cfg)
    assert set(metrics) == METRICS_KEYS
    assert metrics["optimized_value"] == value == metrics["val"][cfg.optimized_metric]
    target = cfg.task._target_
    forecast = target.endswith("ForecastTask")
    # representation tasks (autoencoders, siamese nets, JEPA) report their loss and are
    # probed on the labels they did not train with
    names = (
        FORECAST
        if forecast
        else CLASSIFICATION
        if target.endswith("ClassificationTask")
        else {"loss"}
    )
    assert {f"val/{n}" for n in names} <= set(metrics["val"])
    assert {f"test/{n}" for n in names} <= set(metrics["test"])
    if forecast:
        assert metrics["test"]["test/mase"] > 0 and metrics["test"]["test/naive_mase"] > 0
    elif "test/acc" in metrics["test"]:
        assert 0.0 <= metrics["test"]["test/acc"] <= 1.0
    else:
        assert 0.0 <= metrics["test"]["test/probe_acc"] <= 1.0
    run = Path(cfg.paths.output_dir)
    assert (run / "split.npz").is_file()
    if metrics["model"] == "naive":  # nothing to fit: scored as it is
        assert metrics["epochs"] == 0 and metrics["best_ckpt_path"] is None
        return
    # 3 batches x 2 epochs, or fewer where the training split has fewer batches
    assert metrics["epochs"] == 2 and 2 <= metrics["global_steps"] <= 6
    assert metrics["best_ckpt_path"] == str(run / "checkpoints" / "best.ckpt")
    assert (run / "checkpoints" / "best.ckpt").is_file()
    assert (run / "checkpoints" / "last.ckpt").is_file()
    assert metrics["best_epoch"] in (1, 2) and metrics["stopped_early"] is False


def test_tensorboard_gets_scalars_figures_and_hparams(make_cfg) -> None:
    cfg = make_cfg("debug=limit")
    train(cfg)
    events = EventAccumulator(str(Path(cfg.paths.output_dir) / "tensorboard")).Reload()
    tags = events.Tags()
    assert {"train/loss", "val/acc", "test/acc", "lr-Adam/decay"} <= set(tags["scalars"])
    assert {"val/confusion_matrix", "test/confusion_matrix"} <= set(tags["images"])
    plugins = events.PluginTagToContent("hparams")
    assert "_hparams_/experiment" in plugins and "_hparams_/session_start_info" in plugins


def test_forecasts_get_scalars_and_a_forecast_figure(make_cfg) -> None:
    cfg = make_cfg("experiment=sunspots_gru", "debug=limit")
    train(cfg)
    events = EventAccumulator(str(Path(cfg.paths.output_dir) / "tensorboard")).Reload()
    tags = events.Tags()
    assert {"train/loss", "val/mase", "val/naive_mase", "test/mase_vs_naive"} <= set(
        tags["scalars"]
    )
    assert {"val/forecast", "test/forecast"} <= set(tags["images"])
    assert "val/confusion_matrix" not in tags["images"]


def test_seed_is_honoured_including_zero(make_cfg, tmp_path: Path) -> None:
    results = []
    for i, seed in enumerate((0, 0, 1)):
        # a directory per run: one that holds another run's config is refused
        cfg = make_cfg(
            "debug=limit",
            f"seed={seed}",
            "callbacks=none",
            "logger=none",
            f"paths.output_dir={tmp_path / f'run{i}'}",
        )
        train(cfg)
        results.append(read_metrics(cfg)["test"])
    assert results[0] == results[1]
    assert results[0] != results[2]


def test_resume_from_last_checkpoint(make_cfg, tmp_path: Path) -> None:
    cfg = make_cfg("debug=limit", "logger=none")
    train(cfg)
    last = read_metrics(cfg)["last_ckpt_path"]
    cfg = make_cfg(
        "debug=limit",
        "logger=none",
        "trainer.max_epochs=3",
        f"ckpt_path={last}",
        f"paths.output_dir={tmp_path / 'resumed'}",
    )
    train(cfg)
    metrics = read_metrics(cfg)
    assert metrics["epochs"] == 3 and metrics["global_steps"] == 9


def test_fast_dev_run_scores_last_weights(make_cfg) -> None:
    cfg = make_cfg("debug=fast")
    train(cfg)
    metrics = read_metrics(cfg)
    assert metrics["best_ckpt_path"] is None and "test/acc" in metrics["test"]


def test_unknown_key_in_a_config_names_it(make_cfg) -> None:
    with pytest.raises(ConfigError, match=r"unknown key model\.hidden_layers: .*hidden_sizes"):
        train(make_cfg("model=mlp", "+model.hidden_layers=3"))
    with pytest.raises(ConfigError, match=r"unknown key optimizer\.momentun"):
        train(make_cfg("optimizer=sgd", "+optimizer.momentun=0.9"))


def test_incompatible_pair_fails_before_training(make_cfg) -> None:
    cfg = make_cfg(
        "model.blocks=[{type:vgg,channels:4},{type:vgg,channels:4},"
        "{type:vgg,channels:4},{type:vgg,channels:4}]"
    )
    with pytest.raises(ConfigError, match=r"model 'cnn' does not fit data 'digits'"):
        train(cfg)
    assert not (Path(cfg.paths.output_dir) / "metrics.json").exists()
    with pytest.raises(ConfigError, match=r"model 'cnn' sets image_size=\[28, 28\].*'digits'"):
        train(make_cfg("+model.image_size=[28,28]"))


class FakeSequenceData:
    """A datamodule that offers what a sequence net needs, and no image shape."""

    name = "fake_series"

    def net_kwargs(self) -> dict:
        return {"num_features": 3, "seq_len": 12}

    def val_dataloader(self):
        return [(torch.zeros(2, 12, 3), torch.zeros(2))]


def test_missing_shape_argument_names_model_and_data(make_cfg) -> None:
    cfg = make_cfg("model=mlp")
    with pytest.raises(ConfigError, match=r"'mlp' does not fit data 'fake_series'.*in_features"):
        build_net(cfg.model, FakeSequenceData())


def test_shape_arguments_come_from_the_data(make_cfg) -> None:
    cfg = make_cfg("data=mnist", "model=cnn")
    assert "in_channels" not in cfg.model and "num_classes" not in cfg.model
    from hydra.utils import instantiate

    dm = instantiate(cfg.data, _convert_="all")
    dm.prepare_data()
    dm.setup("fit")
    net = build_net(cfg.model, dm)
    assert net(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    assert OmegaConf.select(cfg, "model.image_size") is None  # config left untouched


def test_callbacks_none_means_no_checkpoints_and_no_bar(make_cfg, capsys) -> None:
    cfg = make_cfg("debug=limit", "callbacks=none", "logger=none")
    train(cfg)
    metrics = read_metrics(cfg)
    assert metrics["best_ckpt_path"] is None and metrics["last_ckpt_path"] is None
    assert not (Path(cfg.paths.output_dir) / "checkpoints").exists()
    assert not list(Path(cfg.paths.output_dir).rglob("*.ckpt"))
    assert "epoch 1/" not in capsys.readouterr().out


def test_overfit_debug_drives_training_loss_to_zero(make_cfg) -> None:
    cfg = make_cfg("debug=overfit", "logger=csv", "trainer.max_epochs=60")
    train(cfg)
    rows = (Path(cfg.paths.output_dir) / "csv" / "metrics.csv").read_text().splitlines()
    header = rows[0].split(",")
    losses = [float(r.split(",")[header.index("train/loss")]) for r in rows[1:]
              if r.split(",")[header.index("train/loss")]]  # fmt: skip
    assert len(losses) == 60
    assert losses[-1] < 0.05 < losses[0]
