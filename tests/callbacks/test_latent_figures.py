"""The representation figures: their numbers by hand, and each callback's tag in a real
TensorBoard run of a tiny stand-in autoencoder (no-op without TensorBoard or without
the methods a figure needs)."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import lightning as L
import numpy as np
import pytest
import torch
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from lightning.pytorch.trainer.states import TrainerFn
from torch import nn
from torch.utils.data import DataLoader

from dlzoo.callbacks import latent_figures as lf

CLASSES = ["zero", "one", "two", "three"]


class TinyNet(nn.Module):
    """A linear autoencoder of 1x4x4 images."""

    def __init__(self, latent_size: int) -> None:
        super().__init__()
        self.latent_size = latent_size
        self.encoder = nn.Linear(16, latent_size)
        self.decoder = nn.Linear(latent_size, 16)


class TinyTask(L.LightningModule):
    """Offers what the interface promises: ``embed``, ``reconstruct``, ``generate``,
    ``split_batch`` of dict batches; with ``anomaly``, the test scores, flags and
    ``threshold`` buffer that the anomaly task fills at the end of its test epoch."""

    def __init__(
        self, latent_size: int = 2, variational: bool = False, shift: float = 0.0, anomaly=False
    ) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = TinyNet(latent_size)
        self.variational, self.shift, self.anomaly = variational, shift, anomaly
        self.register_buffer("threshold", torch.tensor(0.25))
        self.generated: list[torch.Tensor] = []
        self._scores: list[torch.Tensor] = []

    @staticmethod
    def split_batch(batch: dict[str, torch.Tensor]) -> tuple[tuple[torch.Tensor], torch.Tensor]:
        return (batch["x"],), batch["target"]

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.encoder(x.flatten(1)) + self.shift

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        self.generated.append(z)
        return torch.sigmoid(self.net.decoder(z)).view(-1, 1, 4, 4)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.generate(self.net.encoder(x.flatten(1)))

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.log("val/loss", (self.reconstruct(batch["x"]) - batch["target"]).pow(2).mean())

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._scores.append((self.reconstruct(batch["x"]) - batch["target"]).pow(2).mean((1, 2, 3)))

    def on_test_epoch_end(self) -> None:
        # as the anomaly task does: the scores exist only after the task's epoch end,
        # which Lightning calls after the callbacks' on_test_epoch_end
        if self.anomaly:
            self.test_scores = torch.cat(self._scores)
            self.test_flags = torch.arange(len(self.test_scores)) % 4 == 3


class TinyData(L.LightningDataModule):
    """40 images per split, labels 0..3; ``noise`` makes the inputs differ from targets."""

    def __init__(self, noise: float = 0.0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(1)
        self.class_names = list(CLASSES)
        self.split = {}
        for stage in ("train", "val", "test"):
            self.split[stage] = (torch.rand(40, 1, 4, 4, generator=g), torch.arange(40) % 4)
        self.noise = noise

    def labelled(self, stage: str) -> tuple[torch.Tensor, torch.Tensor]:
        return self.split[stage]

    def _batches(self, stage: str) -> DataLoader:
        """Two dict batches of 20, as the reconstruction datamodule serves them."""
        x, y = self.split[stage]
        noisy = (x + self.noise * torch.randn(x.shape, generator=torch.Generator())).clamp(0, 1)
        batches = [
            {"x": noisy[i : i + 20], "target": x[i : i + 20], "label": y[i : i + 20]}
            for i in (0, 20)
        ]
        return DataLoader(batches, batch_size=None)

    def val_dataloader(self) -> DataLoader:
        return self._batches("val")

    def test_dataloader(self) -> DataLoader:
        return self._batches("test")


def all_callbacks() -> list[L.Callback]:
    return [
        lf.ReconstructionFigure(num_images=6),
        lf.LatentSamplesFigure(num_samples=9, grid_size=5),
        lf.LatentScatterFigure(),
        lf.LatentProjector(max_points=30),
        lf.AnomalyHistogram(),
    ]


def validate_and_test(task: L.LightningModule, dm: L.LightningDataModule, logger: Any) -> None:
    trainer = L.Trainer(
        logger=logger,
        callbacks=all_callbacks(),
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
    )
    trainer.validate(task, datamodule=dm, verbose=False)
    trainer.test(task, datamodule=dm, verbose=False)


@pytest.fixture
def logged(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Tag -> figure of every figure a callback logs (the figure kept, not closed)."""
    figures: dict[str, Any] = {}
    monkeypatch.setattr(lf, "_log_figure", lambda trainer, tag, fig: figures.__setitem__(tag, fig))
    return figures


def fake_trainer(tmp_path: Path, dm: Any) -> Any:
    """What the callbacks read of a trainer, with a real TensorBoard logger (during fit:
    no figures/ to keep them for)."""
    return SimpleNamespace(
        loggers=[TensorBoardLogger(tmp_path)],
        datamodule=dm,
        global_step=0,
        state=SimpleNamespace(fn=TrainerFn.FITTING),
        callbacks=[],
        is_global_zero=True,
    )


# ---------------------------------------------------------------------- numbers


def test_pca_of_a_plane_in_3d_recovers_the_plane() -> None:
    g = torch.Generator().manual_seed(0)
    u = torch.tensor([1.0, 2.0, 2.0]) / 3  # orthonormal u, v span the plane
    v = torch.tensor([2.0, -2.0, 1.0]) / 3
    ab = torch.randn(200, 2, generator=g) * torch.tensor([3.0, 1.0])
    cloud = ab[:, :1] * u + ab[:, 1:] * v + torch.tensor([5.0, -1.0, 2.0])
    points, names = lf.project_2d(cloud)
    centred = (ab - ab.mean(0)).double().numpy()
    # an isometry of the plane: every pairwise inner product (so distance) is kept
    np.testing.assert_allclose(points @ points.T, centred @ centred.T, atol=1e-4)
    # the components' variances are the plane's covariance eigenvalues, largest first
    np.testing.assert_allclose(
        points.var(axis=0), np.linalg.eigvalsh(np.cov(centred.T, bias=True))[::-1], rtol=1e-5
    )
    assert names[0].startswith("PC1 (8") and names[1].startswith("PC2 (")  # 7.2 against 1.1
    shares = [int(n.split("(")[1].split("%")[0]) for n in names]
    assert sum(shares) == 100


def test_a_2d_latent_is_drawn_as_it_is() -> None:
    z = torch.tensor([[1.0, 2.0], [3.0, -4.0]])
    points, names = lf.project_2d(z)
    np.testing.assert_array_equal(points, z.numpy())
    assert names == ["z_0", "z_1"]


def test_gaussian_prior_has_the_latents_mean_and_covariance() -> None:
    z = torch.tensor([[0.0, 1.0], [2.0, 1.0], [4.0, 4.0]])  # mean (2, 2)
    mean, root = lf.gaussian_prior(z)
    assert torch.allclose(mean, torch.tensor([2.0, 2.0]))
    # by hand: deviations (-2,-1), (0,-1), (2,2); cov = sum / 2 = [[4, 3], [3, 3]]
    assert torch.allclose(root @ root.T, torch.tensor([[4.0, 3.0], [3.0, 3.0]]), atol=1e-5)


def test_latent_plane_spans_the_quantiles_with_z1_up() -> None:
    plane = lf.latent_plane(torch.tensor([1.0, 0.0]), torch.tensor([1.0, 2.0]), 3)
    q = 1.6448536  # the normal's 95 % quantile
    assert plane.shape == (9, 2)
    assert torch.allclose(plane[0], torch.tensor([1 - q, 2 * q]))  # top-left cell
    assert torch.allclose(plane[2], torch.tensor([1 + q, 2 * q]))  # top-right
    assert torch.allclose(plane[4], torch.tensor([1.0, 0.0]))  # the centre
    assert torch.allclose(plane[6], torch.tensor([1 - q, -2 * q]))  # bottom-left


def test_mosaic_puts_each_image_in_its_cell() -> None:
    images = torch.stack([torch.full((1, 2, 2), 0.2), torch.full((1, 2, 2), 0.7)])
    images = torch.cat([images, torch.zeros(1, 1, 2, 2)])  # three images, two per row
    tiled = lf._mosaic(images, ncols=2)
    assert tiled.shape == (6, 6)  # 2 rows x (2 + 1 pad), 2 columns x (2 + 1 pad)
    np.testing.assert_allclose(tiled[:2, :2], 0.2)
    np.testing.assert_allclose(tiled[:2, 3:5], 0.7)
    np.testing.assert_allclose(tiled[3:5, :2], 0.0)
    np.testing.assert_allclose(tiled[3:5, 3:5], 1.0)  # the empty cell is white
    np.testing.assert_allclose(tiled[:, 2], 1.0)  # the padding


def test_histogram_counts_each_group_and_draws_the_threshold() -> None:
    scores = torch.tensor([0.1, 0.2, 0.2, 0.9, 1.0])
    flags = torch.tensor([False, False, False, True, True])
    fig = lf.anomaly_histogram_figure(scores, flags, threshold=0.5, bins=9)
    (ax,) = fig.axes
    normal, anomaly = ax.containers
    assert sum(p.get_height() for p in normal) == 3 and sum(p.get_height() for p in anomaly) == 2
    (line,) = ax.get_lines()
    assert list(line.get_xdata()) == [0.5, 0.5]
    assert [t.get_text() for t in ax.get_legend().get_texts()][:2] == ["normal (3)", "anomaly (2)"]


# ---------------------------------------------------------------------- callbacks


def test_every_figure_reaches_tensorboard(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logger = TensorBoardLogger(tmp_path, name="tb")
    validate_and_test(TinyTask(anomaly=True), TinyData(noise=0.3), logger)
    events = Path(logger.log_dir)
    accumulator = EventAccumulator(str(events), size_guidance={"images": 0})
    accumulator.Reload()
    assert set(accumulator.Tags()["images"]) == {
        "val/reconstructions",
        "val/samples",
        "val/latent_grid",
        "val/latent_scatter",
        "test/reconstructions",
        "test/latent_scatter",
        "test/anomaly_scores",
    }
    assert "val_latents:00000" in (events / "projector_config.pbtxt").read_text()
    (metadata,) = events.rglob("metadata.tsv")
    assert metadata.read_text().split()[:5] == ["zero", "one", "two", "three", "zero"]
    assert len(metadata.read_text().split()) == 30  # max_points
    (sprite,) = events.rglob("sprite.png")
    assert sprite.stat().st_size > 0


def test_nothing_is_written_without_tensorboard(tmp_path: Path) -> None:
    validate_and_test(TinyTask(anomaly=True), TinyData(), CSVLogger(tmp_path))
    validate_and_test(TinyTask(anomaly=True), TinyData(), False)
    assert not list(tmp_path.rglob("events.out.tfevents.*"))
    assert not list(tmp_path.rglob("projector_config.pbtxt"))


def test_a_task_without_the_methods_gets_no_figures(tmp_path: Path, logged) -> None:
    class Classifier(L.LightningModule):  # no embed / reconstruct / generate / scores
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Linear(16, 4)

    trainer = fake_trainer(tmp_path, TinyData())
    for callback in all_callbacks()[:3]:
        callback._draw(trainer, Classifier(), "val")
    lf.AnomalyHistogram().on_test_end(trainer, Classifier())
    assert logged == {}


def test_reconstructions_show_clean_targets_only_when_they_differ(tmp_path, monkeypatch) -> None:
    rows: list[list[str]] = []
    real = lf.mosaic_figure

    def spy(images: torch.Tensor, ncols: int, *args: Any, **kwargs: Any) -> Any:
        rows.append(kwargs["row_names"])
        assert images.shape == (len(kwargs["row_names"]) * 6, 1, 4, 4) and ncols == 6
        return real(images, ncols, *args, **kwargs)

    monkeypatch.setattr(lf, "mosaic_figure", spy)
    for noise in (0.0, 0.3):
        trainer = fake_trainer(tmp_path, TinyData(noise=noise))
        lf.ReconstructionFigure(num_images=6)._draw(trainer, TinyTask(), "val")
    assert rows == [["input", "reconstruction"], ["input", "reconstruction", "clean target"]]


def test_samples_come_from_the_prior(tmp_path: Path, logged) -> None:
    dm = TinyData()
    callback = lf.LatentSamplesFigure(num_samples=250, grid_size=4)
    # a plain autoencoder's latents sit far from 0: the samples follow them
    plain = TinyTask(shift=50.0)
    callback._draw(fake_trainer(tmp_path, dm), plain, "val")
    samples = plain.generated[0]
    latents = plain.embed(dm.split["val"][0]).detach()
    assert torch.allclose(samples.mean(0), latents.mean(0), atol=0.1)
    assert torch.allclose(torch.cov(samples.T), torch.cov(latents.T), rtol=0.25, atol=0.01)
    # a variational one's come from N(0, I), whatever its latents
    vae = TinyTask(shift=50.0, variational=True)
    callback._draw(fake_trainer(tmp_path, dm), vae, "val")
    assert vae.generated[0].mean(0).abs().max() < 0.2
    assert torch.allclose(torch.cov(vae.generated[0].T), torch.eye(2), atol=0.2)
    assert set(logged) == {"val/samples", "val/latent_grid"}
    assert len(vae.generated) == 2 and len(vae.generated[1]) == 16  # the 4 x 4 latent plane


def test_no_latent_grid_beyond_two_dimensions_and_pca_scatter(tmp_path: Path, logged) -> None:
    trainer = fake_trainer(tmp_path, TinyData())
    task = TinyTask(latent_size=3)
    lf.LatentSamplesFigure(num_samples=4)._draw(trainer, task, "val")
    lf.LatentScatterFigure()._draw(trainer, task, "test")
    assert set(logged) == {"val/samples", "test/latent_scatter"}
    (ax,) = logged["test/latent_scatter"].axes
    assert ax.get_xlabel().startswith("PC1") and len(ax.collections) == len(CLASSES)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == CLASSES


def test_histogram_reads_the_test_scores_and_threshold(tmp_path, monkeypatch) -> None:
    seen: list[tuple[torch.Tensor, torch.Tensor, float]] = []
    real = lf.anomaly_histogram_figure

    def spy(scores: torch.Tensor, flags: torch.Tensor, threshold: float) -> Any:
        seen.append((scores, flags, threshold))
        return real(scores, flags, threshold)

    monkeypatch.setattr(lf, "anomaly_histogram_figure", spy)
    task = TinyTask(anomaly=True)
    validate_and_test(task, TinyData(), TensorBoardLogger(tmp_path))
    ((scores, flags, threshold),) = seen
    assert scores is task.test_scores and len(scores) == 40  # the whole test split
    assert flags.sum() == 10 and math.isclose(threshold, 0.25)


def test_a_plain_image_datamodule_serves_latents_from_its_tensors(tmp_path, logged) -> None:
    x, y = TinyData().split["val"]
    dm = SimpleNamespace(tensors={"val": (x, y)}, class_names=CLASSES)  # no labelled()
    lf.LatentScatterFigure(max_points=12)._draw(fake_trainer(tmp_path, dm), TinyTask(), "val")
    (ax,) = logged["val/latent_scatter"].axes
    assert ax.get_xlabel() == "z_0" and sum(len(c.get_offsets()) for c in ax.collections) == 12
