"""Representation runs as artefacts: probed on the labels they did not train with, and
predicting embeddings (encoder runs) or scores and flags (anomaly runs) from files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dlzoo.errors import ConfigError
from dlzoo.run.generate import generate
from dlzoo.run.pipeline import train
from dlzoo.run.predict import predict
from dlzoo.run.rebuild import rebuild


def _digit_pngs(folder: Path, count: int = 6) -> None:
    from sklearn.datasets import load_digits

    folder.mkdir()
    digits = load_digits()
    for i, image in enumerate(np.round(digits.images[:count] * 255 / 16).astype(np.uint8)):
        Image.fromarray(image).save(folder / f"{i:02d}.png")


def _short_run(make_cfg, *overrides: str) -> Path:
    cfg = make_cfg(*overrides, "data@data.base=digits", "debug=limit", "logger=none")
    train(cfg)
    return Path(cfg.paths.output_dir)


def _rows(path: Path) -> list[list[str]]:
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_an_encoder_run_is_probed_and_predicts_embeddings(make_cfg, tmp_path) -> None:
    run_dir = _short_run(make_cfg, "experiment=mnist_siamese_triplet")
    test = json.loads((run_dir / "metrics.json").read_text())["test"]
    assert {"test/probe_acc", "test/baseline_logreg_acc", "test/kmeans_ari"} <= set(test)
    _digit_pngs(tmp_path / "images")
    out = predict(run_dir, tmp_path / "images", tmp_path / "z.csv")
    rows = _rows(tmp_path / "z.csv")
    width = out["predictions"].shape[1]
    assert rows[0] == ["input", *(f"z_{i}" for i in range(width))] and len(rows) == 7
    run = rebuild(run_dir, trainer=False)
    x = run.datamodule.predict_inputs(tmp_path / "images").inputs[0]
    with torch.no_grad():
        want = run.task.embed(x)
    got = torch.tensor([[float(v) for v in row[1:]] for row in rows[1:]])
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("experiment", ["mnist_anomaly"])
def test_an_anomaly_run_predicts_scores_and_flags(make_cfg, tmp_path, experiment) -> None:
    run_dir = _short_run(make_cfg, f"experiment={experiment}")
    _digit_pngs(tmp_path / "images")
    predict(run_dir, tmp_path / "images", tmp_path / "scores.csv")
    rows = _rows(tmp_path / "scores.csv")
    assert rows[0][:3] == ["input", "score", "anomaly"] and len(rows) == 7
    run = rebuild(run_dir, trainer=False)
    threshold = float(run.task.threshold)
    for _, score, flag, *_ in rows[1:]:
        assert float(score) >= 0 and int(float(flag)) == int(float(score) > threshold)


def test_a_decoder_generates_from_the_prior_and_from_predicted_latents(make_cfg, tmp_path) -> None:
    run_dir = _short_run(make_cfg, "experiment=mnist_vae")
    sampled = generate(run_dir, count=5, seed=1, output=tmp_path / "prior")
    assert [p.name for p in sampled] == [f"{i:04d}.png" for i in range(5)]
    assert np.asarray(Image.open(sampled[0])).shape == (8, 8)
    # predicted latents decode to the images' reconstructions (z = mu in eval)
    _digit_pngs(tmp_path / "images", count=3)
    predict(run_dir, tmp_path / "images", tmp_path / "z.csv")
    decoded = generate(run_dir, latents=str(tmp_path / "z.csv"), output=tmp_path / "decoded")
    run = rebuild(run_dir, trainer=False)
    with torch.no_grad():
        x = run.datamodule.predict_inputs(tmp_path / "images").inputs[0]
        want = run.task.reconstruct(x).clamp(0, 1).mul(255).numpy()[:, 0]
    got = np.stack([np.asarray(Image.open(p), dtype=np.float32) for p in decoded])
    assert np.abs(got - want).max() <= 1.0  # 8-bit rounding and 6-digit CSV values
    with pytest.raises(ConfigError, match="not an autoencoder run"):
        other = f"paths.output_dir={tmp_path / 'siamese'}"
        generate(_short_run(make_cfg, "experiment=mnist_siamese_triplet", other))


def test_a_plain_autoencoder_needs_latent_points(make_cfg) -> None:
    with pytest.raises(ConfigError, match=r"no prior to sample: pass latents=FILE\.csv"):
        generate(_short_run(make_cfg, "experiment=mnist_autoencoder"))
