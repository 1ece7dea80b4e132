"""The reconstruction task: mse, bce and the VAE's KL term by hand, the batch layout,
and short real trainings that beat predicting the mean image."""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import pytest
import torch
from torch import nn

from dlzoo.data.image.packaged import DigitsDataModule
from dlzoo.errors import ConfigError
from dlzoo.run.pipeline import train
from dlzoo.tasks.reconstruction import ReconstructionTask, kl_divergence


class FixedAutoencoder(nn.Module):
    """``encode`` gives the chosen ``mu`` / ``logvar``, ``decode`` the chosen output."""

    def __init__(
        self, decoded: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor | None = None
    ) -> None:
        super().__init__()
        self.decoded, self.mu, self.logvar = decoded, mu, logvar
        self.variational = logvar is not None
        self.bias = nn.Parameter(torch.zeros(()))

    def encode(self, x: torch.Tensor):
        mu = self.mu + self.bias
        return mu, mu, self.logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoded + self.bias

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode(x)[1]


def make_task(net: nn.Module, **kwargs) -> ReconstructionTask:
    return ReconstructionTask(net, optimizer=functools.partial(torch.optim.SGD, lr=0.1), **kwargs)


def batch(target: torch.Tensor) -> dict[str, torch.Tensor]:
    n = len(target)
    return {
        "x": target,
        "target": target,
        "label": torch.zeros(n, dtype=torch.int64),
        "anomaly": torch.zeros(n, dtype=torch.bool),
    }


# two samples of 1 x 1 x 2 pixels
TARGET = torch.tensor([[[[1.0, 0.0]]], [[[0.0, 1.0]]]])


def test_kl_term_by_hand() -> None:
    mu = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    logvar = torch.tensor([[0.0, math.log(2.0)], [0.0, 0.0]])
    # sample 1: -1/2 ((1 + 0 - 1 - 1) + (1 + ln 2 - 0 - 2)) = 1 - ln(2) / 2; sample 2: 0
    expected = torch.tensor([1 - math.log(2.0) / 2, 0.0])
    torch.testing.assert_close(kl_divergence(mu, logvar), expected)


def test_mse_loss_sums_pixels_and_averages_samples() -> None:
    decoded = torch.tensor([[[[0.5, 0.25]]], [[[0.0, 1.0]]]])
    task = make_task(FixedAutoencoder(decoded, torch.zeros(2, 3)), loss="mse")
    loss = task._shared_step(batch(TARGET), "val")
    # sample 1: 0.5^2 + 0.25^2 = 0.3125, sample 2: 0
    assert loss.item() == pytest.approx(0.3125 / 2)
    total, recon, kl, squared, count = task._sums["val"].tolist()
    assert (total, recon, kl, count) == pytest.approx((0.3125, 0.3125, 0.0, 2.0))
    assert squared == pytest.approx(0.3125 / 2)  # mean per pixel, summed over samples


def test_bce_loss_on_logits_and_the_vae_objective() -> None:
    # sigmoid(0) = 1/2 against 1, sigmoid(ln 3) = 3/4 against 0: ln 2 + ln 4 = 3 ln 2
    decoded = torch.tensor([[[[0.0, math.log(3.0)]]], [[[-50.0, 50.0]]]])
    mu = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    logvar = torch.tensor([[0.0, math.log(2.0)], [0.0, 0.0]])
    task = make_task(FixedAutoencoder(decoded, mu, logvar), loss="bce", beta=0.5)
    assert task.variational
    loss = task._shared_step(batch(TARGET), "train")
    recon, kl = 3 * math.log(2.0), 1 - math.log(2.0) / 2
    assert loss.item() == pytest.approx((recon + 0.5 * kl) / 2, rel=1e-5)
    _, recon_sum, kl_sum, squared, _ = task._sums["train"].tolist()
    assert (recon_sum, kl_sum) == pytest.approx((recon, kl), rel=1e-5)
    # the pixel-scale error is taken after the sigmoid: (1/2)^2 + (3/4)^2 over 2 pixels
    assert squared == pytest.approx((0.25 + 0.5625) / 2, rel=1e-5)
    torch.testing.assert_close(task.reconstruct(TARGET), decoded.sigmoid())


def test_infer_and_the_prediction_table_are_the_latent_means() -> None:
    mu = torch.tensor([[0.5, -1.0], [2.0, 0.0]])
    task = make_task(FixedAutoencoder(TARGET, mu))
    predicted = task.infer(TARGET)
    torch.testing.assert_close(predicted, mu)
    # dlzoo-predict's batches: a mapping with the inputs alone
    torch.testing.assert_close(task.predict_step({"x": TARGET}, 0), mu)
    header, rows = task.prediction_table(["a.png", "b.png"], predicted, None)
    assert header == ["input", "z_0", "z_1"] and rows[0] == ["a.png", "0.5", "-1"]


def test_bad_task_options_and_batches_are_config_errors() -> None:
    net = FixedAutoencoder(TARGET, torch.zeros(2, 3))
    with pytest.raises(ConfigError, match=r"task\.loss='mae' does not fit reconstruction"):
        make_task(net, loss="mae")
    with pytest.raises(ConfigError, match=r"task\.beta=-1"):
        make_task(net, beta=-1)
    with pytest.raises(ConfigError, match="needs an autoencoder net"):
        make_task(nn.Linear(2, 2))
    with pytest.raises(ConfigError, match="use data=reconstruction"):
        make_task(net).split_batch((TARGET, torch.zeros(2)))


@pytest.mark.parametrize("experiment", ["mnist_autoencoder", "mnist_vae"])
def test_short_training_beats_the_mean_image(make_cfg, experiment: str) -> None:
    cfg = make_cfg(
        f"experiment={experiment}",
        "data@data.base=digits",
        "model.latent_size=8",
        "trainer.max_epochs=20",
        "callbacks=none",
        "logger=none",
    )
    train(cfg)
    metrics = json.loads((Path(cfg.paths.output_dir) / "metrics.json").read_text())["test"]
    base = DigitsDataModule(normalize=False, seed=cfg.seed)
    base.setup("fit")
    mean_image = base.tensors["train"][0].mean(dim=0)
    baseline = (base.tensors["test"][0] - mean_image).square().mean().item()
    # measured: 0.23 x the baseline for the autoencoder, 0.46 x for the VAE
    assert metrics["test/mse"] < 0.6 * baseline
    assert ("test/kl" in metrics) == (experiment == "mnist_vae")
