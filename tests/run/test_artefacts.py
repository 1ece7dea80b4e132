"""A run directory as an artefact: safe checkpoints, a rebuild from the directory alone,
evaluate, predict and export that agree with the model trained in memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from dlzoo.run.artefacts import save_run_config
from dlzoo.run.build import build
from dlzoo.run.export import export
from dlzoo.run.pipeline import fit, report, score, train
from dlzoo.run.predict import predict
from dlzoo.run.rebuild import rebuild


def _metrics(cfg) -> dict:
    return json.loads((Path(cfg.paths.output_dir) / "metrics.json").read_text())


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """A one-epoch digits_cnn run (best = last weights), kept in memory too."""
    from dlzoo.config.compose import compose_config

    root = tmp_path_factory.mktemp("digits")
    cfg = compose_config(
        [f"paths.log_dir={root}", "trainer.max_epochs=1", "logger=none"], run_dir=root / "run"
    )
    run = build(cfg)
    save_run_config(cfg, run.output_dir)
    seconds = fit(run)
    scores = score(run, run.trainer.checkpoint_callback.best_model_path, fitted=True)
    scores.fit_seconds = seconds
    report(run, scores)
    return root / "run", run


def test_checkpoints_load_with_weights_only_and_carry_the_run(digits_run) -> None:
    run_dir, _ = digits_run
    for name in ("best.ckpt", "last.ckpt"):
        checkpoint = torch.load(run_dir / "checkpoints" / name, weights_only=True)
        section = checkpoint["dlzoo"]
        assert section["model"] == "cnn" and section["net_kwargs"]["in_channels"] == 1
        fitted = checkpoint["DigitsDataModule"]["fitted"]  # Lightning's datamodule entry
        assert fitted["class_names"] == [str(i) for i in range(10)]
        assert {"python", "numpy", "torch"} <= set(section["rng"])


def test_last_checkpoint_is_the_last_epoch_not_a_copy_of_the_best(make_cfg) -> None:
    # lr 0 from epoch 2 on (and no batch norm): val/acc cannot improve after epoch 1
    cfg = make_cfg(
        "model=mlp",
        "trainer.max_epochs=3",
        "logger=none",
        "scheduler=step",
        "scheduler.step_size=1",
        "scheduler.gamma=0.0",
    )
    train(cfg)
    checkpoints = Path(cfg.paths.output_dir) / "checkpoints"
    best = torch.load(checkpoints / "best.ckpt", weights_only=True)
    last = torch.load(checkpoints / "last.ckpt", weights_only=True)
    assert best["epoch"] == 0 and last["epoch"] == 2
    assert _metrics(cfg)["best_epoch"] == 1


def test_rebuild_from_the_run_directory_alone_scores_the_same(digits_run, tmp_path) -> None:
    run_dir, _ = digits_run
    want = json.loads((run_dir / "metrics.json").read_text())
    os.chdir(tmp_path)  # any working directory
    rebuilt = rebuild(run_dir, setup_data=True, output_dir=tmp_path / "eval")
    scores = score(rebuilt, None, fitted=False)
    assert scores.test == pytest.approx(want["test"], rel=1e-6)
    assert scores.val == pytest.approx(want["val"], rel=1e-6)


def test_eval_cli_writes_metrics_into_a_new_directory(digits_run, tmp_path) -> None:
    run_dir, _ = digits_run
    proc = subprocess.run(
        [sys.executable, "-m", "dlzoo.cli.evaluate", f"run_dir={run_dir}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    (path,) = (run_dir / "evals").glob("*/metrics.json")
    assert f"evaluation: {path}" in proc.stdout
    got = json.loads(path.read_text())
    want = json.loads((run_dir / "metrics.json").read_text())
    assert got["test"] == pytest.approx(want["test"], rel=1e-6)


def _digit_pngs(folder: Path, count: int = 12) -> np.ndarray:
    """PNGs of digits; returns the pixels as a PNG reader sees them, (N, 1, 8, 8) in [0, 1]."""
    from PIL import Image
    from sklearn.datasets import load_digits

    folder.mkdir()
    digits = load_digits()
    pixels = np.round(digits.images[:count] * 255 / 16).astype(np.uint8)
    for i, image in enumerate(pixels):
        Image.fromarray(image).save(folder / f"{i:02d}.png")
    return pixels[:, None].astype(np.float32) / 255


def test_predict_equals_the_model_in_memory(digits_run, tmp_path) -> None:
    run_dir, trained = digits_run
    pixels = _digit_pngs(tmp_path / "images")
    out = predict(run_dir, tmp_path / "images", tmp_path / "out.csv")
    rows = (tmp_path / "out.csv").read_text().splitlines()
    assert rows[0].split(",")[:3] == ["input", "class", "p_0"] and len(rows) == 13
    trained.task.eval()
    with torch.no_grad():
        x = trained.datamodule.input_transform()(torch.from_numpy(pixels))
        want = trained.task.infer(x)
    assert torch.allclose(out["predictions"], want, atol=1e-6)
    classes = [int(r.split(",")[1]) for r in rows[1:]]
    assert classes == want.argmax(dim=1).tolist()


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_export_matches_pytorch_with_its_preprocessing(digits_run, tmp_path, fmt) -> None:
    run_dir, trained = digits_run
    out = export(run_dir, fmt, tmp_path / f"model.{fmt}")
    assert out["max_abs_diff"] <= 1e-4
    pixels = torch.rand(5, 1, 8, 8, generator=torch.Generator().manual_seed(3))
    trained.task.eval()
    with torch.no_grad():
        want = trained.task.infer(trained.datamodule.input_transform()(pixels))
    if fmt == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(str(out["path"]), providers=["CPUExecutionProvider"])
        got = torch.from_numpy(session.run(None, {"input": pixels.numpy()})[0])
    else:
        got = torch.jit.load(str(out["path"]))(pixels)
    assert got.shape == (5, 10)  # another batch size than the export's
    assert (got - want).abs().max() <= 1e-4


def test_predict_and_export_build_no_trainer(digits_run, tmp_path, monkeypatch) -> None:
    import dlzoo.run.build

    def no_trainer(*args, **kwargs):
        raise AssertionError("predict and export call the task; they need no Trainer")

    run_dir, _ = digits_run
    assert rebuild(run_dir, trainer=False).trainer is None
    monkeypatch.setattr(dlzoo.run.build, "_fit_parts", no_trainer)
    _digit_pngs(tmp_path / "images", count=2)
    assert predict(run_dir, tmp_path / "images", tmp_path / "out.csv")["rows"] == 2
    assert export(run_dir, "torchscript", tmp_path / "model.pt")["max_abs_diff"] <= 1e-4


def test_predict_cli_on_one_image_loads_no_training_machinery(digits_run, tmp_path) -> None:
    """One PNG through dlzoo-predict: no scikit-learn (the digits data, the baseline), no
    pandas, no logger packages; the answer is the model's."""
    run_dir, _ = digits_run
    _digit_pngs(tmp_path / "images", count=1)
    lazy = ("sklearn", "pandas", "tensorboard", "onnx", "onnxruntime", "statsmodels", "sktime")
    code = (
        "import sys\nfrom dlzoo.cli.predict import main\n"
        f"sys.argv = ['dlzoo-predict', 'run_dir={run_dir}', 'input={tmp_path / 'images'}', "
        f"'output={tmp_path / 'one.csv'}']\nmain()\n"
        f"print('LOADED', sorted({{m.split('.')[0] for m in sys.modules}} & set({lazy!r})))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "LOADED []" in proc.stdout
    assert len((tmp_path / "one.csv").read_text().splitlines()) == 2


def test_deterministic_mode_gives_identical_metrics(make_cfg, tmp_path) -> None:
    results = []
    for i in range(2):
        cfg = make_cfg(
            "debug=limit",
            "logger=none",
            "trainer.deterministic=true",
            "seed=3",
            f"paths.output_dir={tmp_path / str(i)}",
        )
        train(cfg)
        results.append(_metrics(cfg))
    assert results[0]["test"] == results[1]["test"] and results[0]["val"] == results[1]["val"]


def test_best_checkpoint_revalidation_stays_out_of_the_training_curves(make_cfg) -> None:
    cfg = make_cfg("trainer.max_epochs=3")
    train(cfg)
    events = EventAccumulator(str(Path(cfg.paths.output_dir) / "tensorboard")).Reload()
    assert len(events.Scalars("val/acc")) == 3  # one per epoch, no point added at the end
    assert len(events.Scalars("test/acc")) == 1


def test_early_stopping_says_so(make_cfg, capsys) -> None:
    cfg = make_cfg(
        "model=mlp",
        "trainer.max_epochs=20",
        "logger=none",
        "optimizer.lr=0",
        "callbacks.early_stopping.patience=1",
    )
    train(cfg)
    metrics = _metrics(cfg)
    assert metrics["stopped_early"] is True and metrics["epochs"] < 20
    assert metrics["best_epoch"] <= metrics["epochs"]
    assert "early stopping after epoch" in capsys.readouterr().out


def test_checkpoint_writes_are_atomic(tmp_path, monkeypatch) -> None:
    from dlzoo.callbacks.checkpoints import AtomicCheckpointIO

    path = tmp_path / "last.ckpt"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"epoch": 1}, path)

    def killed(obj, f):  # the process dies halfway through writing the next one
        Path(f).write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", killed)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"epoch": 2}, path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=True) == {"epoch": 1}  # the whole old file


def test_a_nan_loss_stops_the_run_naming_epoch_and_step(make_cfg) -> None:
    from dlzoo.errors import TrainingError

    cfg = make_cfg("debug=limit", "logger=none", "optimizer.lr=1e30", "model.batch_norm=false")
    with pytest.raises(TrainingError, match=r"NaN or infinite in epoch 1 \(optimizer steps 1-3\)"):
        train(cfg)
    assert not (Path(cfg.paths.output_dir) / "metrics.json").exists()


def test_sequence_runs_export_with_their_lengths(make_cfg, tmp_path) -> None:
    """UCR runs export with (x, lengths) inputs: a transformer to ONNX and TorchScript,
    a packed GRU to TorchScript, and to ONNX only as one clear error."""
    from dlzoo.errors import ConfigError

    for experiment in ("motions_transformer", "motions_gru"):
        cfg = make_cfg(f"experiment={experiment}", "debug=limit", "logger=none")
        cfg.paths.output_dir = str(tmp_path / experiment)
        train(cfg)
        run_dir = Path(cfg.paths.output_dir)
        assert export(run_dir, "torchscript", tmp_path / f"{experiment}.pt")["max_abs_diff"] <= 1e-4
        if experiment == "motions_transformer":
            assert export(run_dir, "onnx", tmp_path / "t.onnx")["max_abs_diff"] <= 1e-4
        else:
            with pytest.raises(ConfigError, match=r"cannot export this net .*format=torchscript"):
                export(run_dir, "onnx", tmp_path / "g.onnx")
