"""A trained decoder as a generator of images: points from the prior N(0, I) of a
variational run, or given latent points, decoded into PNG files.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dlzoo.errors import ConfigError, DataError


def read_latents(path: str | Path, latent_size: int) -> torch.Tensor:
    """The ``z_0 .. z_{D-1}`` columns of a CSV, one latent point per row.

    Raises:
        DataError: a missing file, missing columns or values that are not numbers.

    Shapes:
        returns (N, latent_size)
    """
    path = Path(path)
    columns = [f"z_{i}" for i in range(latent_size)]
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as exc:
        raise DataError(f"cannot read latents {path}: {exc.strerror}") from None
    missing = [c for c in columns if not rows or c not in rows[0]]
    if missing:
        raise DataError(
            f"{path} has no column {missing[0]} (or no rows): it needs z_0 .. "
            f"z_{latent_size - 1}, as dlzoo-predict writes for this run"
        )
    try:
        return torch.tensor([[float(row[c]) for c in columns] for row in rows])
    except ValueError as exc:
        raise DataError(f"{path} holds a latent value that is not a number: {exc}") from None


def _points(run: Any, latents: str, count: int, seed: int) -> torch.Tensor:
    net = run.net
    if not hasattr(net, "decode") or not hasattr(run.task, "generate"):
        raise ConfigError(
            f"run {run.output_dir} is not an autoencoder run (model '{run.model_name}'): "
            "generate from a run of model=autoencoder, conv_autoencoder or vae"
        )
    if latents:
        return read_latents(latents, int(net.latent_size))
    if not getattr(net, "variational", False):
        raise ConfigError(
            "a plain autoencoder has no prior to sample: pass latents=FILE.csv (e.g. "
            "the z columns dlzoo-predict writes) or train a variational one (model=vae)"
        )
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(count, int(net.latent_size), generator=generator)


def generate(
    run_dir: str | Path,
    latents: str = "",
    count: int = 16,
    seed: int = 0,
    output: str | Path | None = None,
) -> list[Path]:
    """Decode latent points with the run's decoder and write one PNG per point.

    Returns:
        The files written, in the order of the points.

    Raises:
        ConfigError, DataError: not an autoencoder run, a plain one without
            ``latents``, or a bad latents file.
    """
    from PIL import Image

    from dlzoo.run.rebuild import rebuild

    run = rebuild(run_dir, setup_data=False, trainer=False)
    z = _points(run, latents, count, seed)
    with torch.inference_mode():
        images = run.task.generate(z)  # (N, C, H, W) in the net's input scale
        if hasattr(run.datamodule, "denormalize"):
            images = run.datamodule.denormalize(images)
    pixels = (images.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    folder = Path(output) if output else Path(run_dir) / "generated"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, image in enumerate(pixels):
        array = image[0] if image.shape[0] == 1 else np.moveaxis(image, 0, -1)
        path = folder / f"{i:04d}.png"
        Image.fromarray(array).save(path)
        paths.append(path)
    return paths
