"""What a representation model learned: reconstructions, samples, the latent space, and
anomaly scores, as TensorBoard figures and the run's ``figures/*.png``.

Each callback asks the task for what it needs and does nothing when the task lacks it
(or the figure would go nowhere: no TensorBoard logger, and not the best checkpoint's
validation or test run, whose figures ``figures/`` keeps), so one callback list serves
autoencoders, siamese nets and JEPA alike:

- :class:`ReconstructionFigure` (``reconstruct(x)``): a few inputs of the split (noisy
  ones for a denoising run) above their reconstructions, and the clean targets when they
  differ from the inputs -> ``val/reconstructions``.
- :class:`LatentSamplesFigure` (``generate(z)``): images decoded from the prior (a
  variational task's N(0, I); a Gaussian fitted to the validation latents otherwise)
  -> ``val/samples``; for a 2-D latent also the decoded plane -> ``val/latent_grid``.
- :class:`LatentScatterFigure` (``embed(x)``): the latents coloured by label, the latent
  itself when it is 2-D, its first two principal components otherwise
  -> ``val/latent_scatter``.
- :class:`LatentProjector` (``embed(x)``): the latents in TensorBoard's projector, with
  class names and the input images as thumbnails -> tag ``val_latents`` (no slash:
  the tag names the projector's folder).
- :class:`AnomalyHistogram` (``test_scores``, ``test_flags``, ``threshold``): histograms
  of the test scores of normal and anomalous samples and the threshold
  -> ``test/anomaly_scores``.

Images and labels come from the datamodule's ``labelled(stage)`` (wrapped datamodules)
or its ``tensors[stage]`` (image datamodules); a datamodule with ``denormalize`` has its
images drawn in the [0, 1] pixel scale.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.trainer.states import TrainerFn

from dlzoo.callbacks.drawing import new_figure
from dlzoo.callbacks.figures import _log_figure, _StageFigure, _wanted, _writers
from dlzoo.tasks.embedding import batched

log = logging.getLogger(__name__)

__all__ = [
    "AnomalyHistogram",
    "LatentProjector",
    "LatentSamplesFigure",
    "LatentScatterFigure",
    "ReconstructionFigure",
    "anomaly_histogram_figure",
    "gaussian_prior",
    "latent_plane",
    "mosaic_figure",
    "project_2d",
    "scatter_figure",
]


# ---------------------------------------------------------------------- numbers


def project_2d(z: torch.Tensor) -> tuple[np.ndarray, list[str]]:
    """Points to draw in a plane: the latent itself when it has two (or one) dimensions,
    else its projection on the first two principal components.

    Args:
        z: the latents.

    Shapes:
        z: (N, D) -> points (N, 2).

    Returns:
        ``(points, axis_names)``; a principal axis is named with its share of the variance.
    """
    values = z.detach().double().cpu().numpy()
    if values.shape[1] <= 2:
        # a 1-D latent is drawn on a line (y = 0): still one point per sample
        points = np.pad(values, ((0, 0), (0, 2 - values.shape[1])))
        return points, [f"z_{d}" for d in range(values.shape[1])] + [""] * (2 - values.shape[1])
    centred = values - values.mean(axis=0)
    _, singular, components = np.linalg.svd(centred, full_matrices=False)
    share = singular**2 / max(float((singular**2).sum()), 1e-300)
    names = [f"PC{k + 1} ({share[k]:.0%} of the variance)" for k in range(2)]
    return centred @ components[:2].T, names


def gaussian_prior(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The Gaussian fitted to latents, as a mean and a square root of its covariance.

    ``mean + eps @ root.T`` with ``eps ~ N(0, I)`` then has the fitted covariance
    (``root @ root.T``); a rank-deficient covariance is fine (no Cholesky).

    Shapes:
        z: (N, D) -> mean (D,), root (D, D).
    """
    values = z.detach().double().cpu()
    cov = torch.atleast_2d(torch.cov(values.T))
    eigenvalues, vectors = torch.linalg.eigh(cov)
    root = vectors * eigenvalues.clamp_min(0).sqrt()
    return values.mean(dim=0).float(), root.float()


def latent_plane(mean: torch.Tensor, std: torch.Tensor, size: int) -> torch.Tensor:
    """A ``size`` x ``size`` grid of 2-D latent points at the Gaussian's quantiles 5 % ..
    95 % per axis (the classic VAE manifold figure: equal probability mass per cell).

    Args:
        mean: the centre per axis.
        std: the spread per axis.
        size: points per axis.

    Shapes:
        mean, std: (2,) -> (size * size, 2), row-major from the top-left cell of the
        figure: z_0 grows to the right, z_1 upwards.
    """
    quantiles = torch.special.ndtri(torch.linspace(0.05, 0.95, size, dtype=torch.float64))
    axis0 = (mean[0] + std[0] * quantiles).float()
    axis1 = (mean[1] + std[1] * quantiles).float().flip(0)  # the top row has the largest z_1
    rows, cols = torch.meshgrid(axis1, axis0, indexing="ij")
    return torch.stack([cols.reshape(-1), rows.reshape(-1)], dim=1)


# ---------------------------------------------------------------------- drawing


def _mosaic(images: torch.Tensor, ncols: int, pad: int = 1) -> np.ndarray:
    """Tile images into one array, ``ncols`` per row, ``pad`` white pixels between them.

    Shapes:
        images: (N, C, H, W) in [0, 1], C 1 or 3 -> (rows*(H+pad), ncols*(W+pad)[, 3])
    """
    n, c, h, w = images.shape
    rows = math.ceil(n / ncols)
    canvas = torch.ones(rows * ncols, c, h + pad, w + pad)
    canvas[:n, :, :h, :w] = images.detach().float().cpu().clamp(0, 1)
    tiled = canvas.view(rows, ncols, c, h + pad, w + pad).permute(0, 3, 1, 4, 2)
    tiled = tiled.reshape(rows * (h + pad), ncols * (w + pad), c)
    return tiled[..., 0].numpy() if c == 1 else tiled.numpy()


def mosaic_figure(
    images: torch.Tensor,
    ncols: int,
    title: str = "",
    row_names: list[str] | None = None,
    extent: tuple[float, float, float, float] | None = None,
) -> Any:
    """Draw images as one mosaic, ``ncols`` per row.

    Args:
        images: pixel values in [0, 1].
        ncols: images per row.
        title: the figure's title.
        row_names: a name per row of the mosaic (e.g. ``input``, ``reconstruction``).
        extent: ``(left, right, bottom, top)`` coordinates of the mosaic's corners to
            draw axes in (the latent grid: z_0 across, z_1 up); no axes when ``None``.

    Shapes:
        images: (N, C, H, W), C 1 or 3.

    Returns:
        A matplotlib figure.
    """
    tiled = _mosaic(images, ncols)
    scale = 6.0 / max(tiled.shape)
    fig = new_figure(figsize=(max(3.0, tiled.shape[1] * scale + 1.5), tiled.shape[0] * scale + 1.0))
    ax = fig.subplots()
    ax.imshow(tiled, cmap="gray", vmin=0.0, vmax=1.0, extent=extent, interpolation="nearest")
    if extent is not None:
        ax.set(xlabel="z_0", ylabel="z_1")
    else:
        ax.set_xticks([])
        rows = tiled.shape[0] / len(row_names) if row_names else 0
        ax.set_yticks([rows * (i + 0.5) for i in range(len(row_names or []))], row_names or [])
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def scatter_figure(
    points: np.ndarray,
    labels: torch.Tensor | None,
    class_names: list[str] | None,
    axis_names: list[str],
    title: str = "",
) -> Any:
    """Draw 2-D points coloured by class, with a legend of the class names.

    Args:
        points: the points.
        labels: a class index per point; one colour for all when ``None``.
        class_names: legend entries; class indices when ``None``.
        axis_names: the x and y axis labels.
        title: the figure's title.

    Shapes:
        points: (N, 2); labels: (N,) int64.

    Returns:
        A matplotlib figure.
    """
    from matplotlib import colormaps

    fig = new_figure(figsize=(6.5, 5.5))
    ax = fig.subplots()
    if labels is None:
        ax.scatter(points[:, 0], points[:, 1], s=6, alpha=0.6)
    else:
        classes = sorted(int(k) for k in labels.unique())
        cmap = colormaps["tab10" if len(classes) <= 10 else "tab20"]
        for i, k in enumerate(classes):
            mine = (labels == k).numpy()
            name = class_names[k] if class_names and k < len(class_names) else str(k)
            ax.scatter(
                points[mine, 0], points[mine, 1], s=6, alpha=0.6, color=cmap(i % cmap.N), label=name
            )
        ax.legend(fontsize=7, markerscale=2.5, loc="best", ncols=1 + len(classes) // 12)
    ax.set(xlabel=axis_names[0], ylabel=axis_names[1])
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def anomaly_histogram_figure(
    scores: torch.Tensor, flags: torch.Tensor, threshold: float, bins: int = 40
) -> Any:
    """Histograms of the scores of normal and of anomalous samples, and the threshold.

    Args:
        scores: an anomaly score per sample (higher: more anomalous).
        flags: whether each sample truly is an anomaly.
        threshold: scores above it are flagged; drawn as a vertical line.
        bins: bins over the range of all scores (both histograms share them).

    Shapes:
        scores: (N,) float; flags: (N,) bool.

    Returns:
        A matplotlib figure.
    """
    values = scores.detach().double().cpu().numpy()
    anomalous = flags.detach().bool().cpu().numpy()
    drawn = math.isfinite(threshold)  # a task not yet fitted has no threshold to draw
    edges = np.histogram_bin_edges(np.append(values, threshold) if drawn else values, bins=bins)
    fig = new_figure(figsize=(6.5, 4.0))
    ax = fig.subplots()
    for mine, name, color in ((~anomalous, "normal", "C0"), (anomalous, "anomaly", "C3")):
        ax.hist(
            values[mine], bins=edges, alpha=0.55, color=color, label=f"{name} ({int(mine.sum())})"
        )
    if drawn:
        ax.axvline(threshold, color="k", ls="--", lw=1.2, label=f"threshold {threshold:.4g}")
    ax.set(xlabel="anomaly score (reconstruction error)", ylabel="test samples")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------- data and task


def _labelled(dm: Any, stage: str) -> tuple[torch.Tensor, torch.Tensor | None] | None:
    """``(inputs, labels)`` of a split: ``dm.labelled(stage)``, else ``dm.tensors[stage]``;
    labels ``None`` when the split has no class index per sample, ``None`` without data.

    Shapes:
        -> inputs (N, ...), labels (N,) int64
    """
    labelled = getattr(dm, "labelled", None)
    if callable(labelled):
        found = labelled(stage)
    else:
        found = (getattr(dm, "tensors", None) or {}).get(stage)
    if not found or not torch.is_tensor(found[0]):
        return None
    x = found[0]
    y = found[1] if len(found) > 1 else None
    is_label = torch.is_tensor(y) and y.ndim == 1 and len(y) == len(x) and not y.is_floating_point()
    return x, (y if is_label else None)


def _pixels(dm: Any, images: torch.Tensor) -> torch.Tensor:
    """Images in the [0, 1] pixel scale: undo the datamodule's normalisation (its own
    ``denormalize`` or its base's, for a wrapper), then clip.

    Shapes:
        images: (N, C, H, W) -> (N, C, H, W)
    """
    for owner in (dm, getattr(dm, "base", None)):
        denormalize = getattr(owner, "denormalize", None)
        if callable(denormalize):
            images = denormalize(images)
            break
    return images.float().clamp(0, 1)


def _is_image(x: Any) -> bool:
    return torch.is_tensor(x) and x.ndim == 4 and x.shape[1] in (1, 3)


def _latents(
    pl_module: L.LightningModule, dm: Any, stage: str, limit: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None] | None:
    """The first ``limit`` inputs of a split, their latents (``pl_module.embed``) and
    labels; ``None`` when the task has no ``embed`` or the datamodule no such split.

    Shapes:
        -> inputs (n, ...), latents (n, D), labels (n,) or ``None``
    """
    embed = getattr(pl_module, "embed", None)
    found = _labelled(dm, stage) if callable(embed) else None
    if found is None:
        return None
    x, y = found[0][:limit], None if found[1] is None else found[1][:limit]
    z = batched(pl_module, embed, x)
    return x, z.reshape(len(z), -1), y


def _class_names(dm: Any) -> list[str] | None:
    names = getattr(dm, "class_names", None)
    return list(names) if names else None


# ---------------------------------------------------------------------- callbacks


class ReconstructionFigure(_StageFigure):
    """Log inputs of the split's first batch above their reconstructions.

    The inputs are what the task is given (noisy images for a denoising run); the clean
    targets get a third row when they differ from the inputs. Needs the task's
    ``reconstruct(x)`` (images in the data's scale) and image batches.

    Args:
        every_n_epochs: also draw it every this many epochs of fit (0: never during fit).
        num_images: images per row.
    """

    def __init__(self, every_n_epochs: int = 0, num_images: int = 8) -> None:
        super().__init__(every_n_epochs)
        self.num_images = int(num_images)

    def _draw(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        dm = trainer.datamodule
        reconstruct = getattr(pl_module, "reconstruct", None)
        loader = getattr(dm, f"{stage}_dataloader", None)
        if not _wanted(trainer) or not callable(reconstruct) or not callable(loader):
            return
        inputs, target = pl_module.split_batch(next(iter(loader())))
        x = inputs[0][: self.num_images]
        if not _is_image(x):
            return
        rows = {"input": x, "reconstruction": batched(pl_module, reconstruct, x)}
        clean = target[: len(x)] if torch.is_tensor(target) else None
        if clean is not None and clean.shape == x.shape and not torch.equal(clean, x):
            rows["clean target"] = clean
        images = torch.cat([_pixels(dm, v.cpu()) for v in rows.values()])
        fig = mosaic_figure(images, len(x), f"{stage} reconstructions", row_names=list(rows))
        _log_figure(trainer, f"{stage}/reconstructions", fig)


class LatentSamplesFigure(_StageFigure):
    """Log images decoded from latent points drawn from the prior, and for a 2-D latent
    the decoded latent plane.

    The prior is N(0, I) for a variational task (``variational`` true); for a plain
    autoencoder, whose latents follow no set law, a Gaussian fitted to the latents of the
    validation split. The plane covers the prior's 5 % .. 95 % quantiles per axis. Needs
    the task's ``generate(z)`` (and ``embed(x)`` for a plain autoencoder); validation only.

    Args:
        every_n_epochs: also draw it every this many epochs of fit (0: never during fit).
        num_samples: images decoded from the prior.
        grid_size: points per axis of the latent plane.
        max_points: validation latents the Gaussian is fitted to.
        seed: seeds the sampled latent points (the same points at every epoch).
    """

    def __init__(
        self,
        every_n_epochs: int = 0,
        num_samples: int = 64,
        grid_size: int = 15,
        max_points: int = 2000,
        seed: int = 0,
    ) -> None:
        super().__init__(every_n_epochs)
        self.num_samples, self.grid_size = int(num_samples), int(grid_size)
        self.max_points, self.seed = int(max_points), int(seed)

    def _prior(
        self, pl_module: L.LightningModule, dm: Any
    ) -> tuple[torch.Tensor, torch.Tensor, str] | None:
        """``(mean, root, name)`` of the prior (see :func:`gaussian_prior`)."""
        size = getattr(getattr(pl_module, "net", None), "latent_size", None)
        if getattr(pl_module, "variational", False) and size:
            return torch.zeros(int(size)), torch.eye(int(size)), "the prior N(0, I)"
        found = _latents(pl_module, dm, "val", self.max_points)
        if found is None:
            return None
        mean, root = gaussian_prior(found[1])
        return mean, root, "a Gaussian fitted to the validation latents"

    def _draw(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        dm = trainer.datamodule
        generate = getattr(pl_module, "generate", None)
        if stage != "val" or not _wanted(trainer) or not callable(generate):
            return
        prior = self._prior(pl_module, dm)
        if prior is None:
            return
        mean, root, name = prior
        noise = torch.randn(
            self.num_samples, len(mean), generator=torch.Generator().manual_seed(self.seed)
        )
        images = batched(pl_module, generate, mean + noise @ root.T)
        ncols = math.ceil(math.sqrt(self.num_samples))
        _log_figure(
            trainer,
            "val/samples",
            mosaic_figure(_pixels(dm, images), ncols, f"decoded from {name}"),
        )
        if len(mean) != 2:
            return
        std = (root**2).sum(dim=1).sqrt()  # the marginal spread per axis
        plane = latent_plane(mean, std, self.grid_size)
        low, high = plane.min(dim=0).values, plane.max(dim=0).values
        half = (high - low) / (2 * max(self.grid_size - 1, 1))  # half a cell: centres on the ticks
        extent = (
            float(low[0] - half[0]),
            float(high[0] + half[0]),
            float(low[1] - half[1]),
            float(high[1] + half[1]),
        )
        images = _pixels(dm, batched(pl_module, generate, plane))
        fig = mosaic_figure(
            images, self.grid_size, f"the latent plane, decoded ({name})", extent=extent
        )
        _log_figure(trainer, "val/latent_grid", fig)


class LatentScatterFigure(_StageFigure):
    """Log a 2-D scatter of the split's latents (``embed(x)``), coloured by label.

    A 2-D latent is drawn as it is; a wider one on its first two principal components
    (see :func:`project_2d`).

    Args:
        every_n_epochs: also draw it every this many epochs of fit (0: never during fit).
        max_points: the split's first this many samples are drawn.
    """

    def __init__(self, every_n_epochs: int = 0, max_points: int = 2000) -> None:
        super().__init__(every_n_epochs)
        self.max_points = int(max_points)

    def _draw(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if not _wanted(trainer):
            return
        found = _latents(pl_module, trainer.datamodule, stage, self.max_points)
        if found is None:
            return
        _, z, y = found
        points, axes = project_2d(z)
        title = f"{stage} latents ({z.shape[1]}-D{', PCA' if z.shape[1] > 2 else ''})"
        fig = scatter_figure(points, y, _class_names(trainer.datamodule), axes, title)
        _log_figure(trainer, f"{stage}/latent_scatter", fig)


class LatentProjector(L.Callback):
    """The validation latents (``embed(x)``) in TensorBoard's projector (PROJECTOR tab),
    labelled with class names and the input images as thumbnails.

    Written once, when the pipeline validates the best checkpoint after fit.

    Args:
        max_points: the split's first this many samples (the projector and its sprite
            image slow down past a few thousand).
    """

    def __init__(self, max_points: int = 1000) -> None:
        self.max_points = int(max_points)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.state.fn != TrainerFn.VALIDATING or not _writers(trainer):
            return
        dm = trainer.datamodule
        found = _latents(pl_module, dm, "val", self.max_points)
        if found is None:
            return
        x, z, y = found
        names = _class_names(dm)
        metadata = None if y is None else [names[k] if names else str(k) for k in y.tolist()]
        thumbnails = _pixels(dm, x) if _is_image(x) else None
        for writer in _writers(trainer):
            writer.add_embedding(
                z,
                metadata=metadata,
                label_img=thumbnails,
                global_step=trainer.global_step,
                tag="val_latents",
            )


class AnomalyHistogram(L.Callback):
    """Log histograms of the test anomaly scores of normal and anomalous samples, with
    the threshold as a vertical line.

    Reads the task's ``test_scores`` (N,), ``test_flags`` (N,) (the true anomaly flags)
    and ``threshold`` after a test run; the task fills them at the end of its test epoch,
    so this draws at ``on_test_end`` (after the task's ``on_test_epoch_end``).
    """

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        scores = getattr(pl_module, "test_scores", None)
        flags = getattr(pl_module, "test_flags", None)
        threshold = getattr(pl_module, "threshold", None)
        if not _wanted(trainer) or threshold is None or scores is None or flags is None:
            return
        if len(scores) == 0:
            return
        fig = anomaly_histogram_figure(scores, flags, float(threshold))
        _log_figure(trainer, "test/anomaly_scores", fig)
