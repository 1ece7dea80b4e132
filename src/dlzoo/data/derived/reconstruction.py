"""Any labelled image datamodule as reconstruction batches: ``(x, x)``, ``(noisy x, x)``,
and the normal-only training split of anomaly detection.

:class:`ReconstructionDataModule` wraps a base image datamodule
(:class:`~dlzoo.data.derived.wrapped.WrappedDataModule`): the same samples, split and fitted
preprocessing, served as dict batches ``{"x", "target", "label", "anomaly"}``. The net
sees ``x`` and learns to give back ``target``; the labels stay in the batch for
evaluation only (figures, probes), never for the loss.

- **Denoising** (Vincent et al. 2008): ``noise_std > 0`` adds Gaussian noise to ``x``,
  clipped to the pixel range; a fresh draw for every training batch, one fixed seeded
  draw for validation and test, so that their losses compare across epochs.
- **Anomaly detection**: ``normal_classes`` keeps only those classes in the training
  split; validation and test keep every sample, with ``anomaly`` = the label is not a
  normal class. An autoencoder that has seen only normal samples reconstructs the
  others worse: the reconstruction error is the anomaly score
  (:mod:`dlzoo.tasks.anomaly`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import Tensor

from dlzoo.data.base import STAGES, DlzooDataModule
from dlzoo.data.derived.wrapped import WrappedDataModule
from dlzoo.data.loaders import TensorBatchLoader
from dlzoo.errors import ConfigError

__all__ = ["BATCH_KEYS", "DictBatchLoader", "ReconstructionDataModule"]

# the entries of a batch, in the order of the tensors a stage holds
BATCH_KEYS = ("x", "target", "label", "anomaly")


class DictBatchLoader:
    """A :class:`~dlzoo.data.loaders.TensorBatchLoader` whose batches are dicts.

    Lightning finds what it looks for on a loader (``len``, ``sampler.set_epoch``,
    ``batch_sampler``) here as on the wrapped loader.

    Args:
        loader: the tensor loader, its tensors in the order of ``keys``.
        keys: one name per tensor.

    Shapes:
        each batch: ``{key: (B, ...)}``
    """

    def __init__(self, loader: TensorBatchLoader, keys: Sequence[str]) -> None:
        if len(keys) != len(loader.tensors):
            raise ValueError(f"{len(keys)} keys for {len(loader.tensors)} tensors")
        self.loader = loader
        self.keys = tuple(keys)
        self.sampler = loader.sampler
        self.batch_sampler = None

    def __len__(self) -> int:
        return len(self.loader)

    def set_epoch(self, epoch: int) -> None:
        self.loader.set_epoch(epoch)

    def __iter__(self) -> Iterator[dict[str, Tensor]]:
        for batch in self.loader:
            yield dict(zip(self.keys, batch, strict=True))


class GaussianNoise:
    """``x + std * N(0, 1)``, clipped to ``[low, high]``, from its own seeded generator.

    Args:
        std: the noise's standard deviation, in the units of the net's input.
        low, high: the pixel range, shaped to broadcast against a batch (e.g.
            (1, C, 1, 1) per channel).
        seed: seeds the generator; every call draws new noise.

    Shapes:
        x: (B, C, H, W) -> (B, C, H, W)
    """

    def __init__(self, std: float, low: Tensor, high: Tensor, seed: int) -> None:
        self.std = float(std)
        self.low, self.high = low, high
        self.generator = torch.Generator().manual_seed(int(seed))

    def __call__(self, x: Tensor) -> Tensor:
        noise = torch.randn(x.shape, generator=self.generator, dtype=x.dtype)
        return torch.clamp(x + self.std * noise, self.low, self.high)


class ReconstructionDataModule(WrappedDataModule):
    """Reconstruction batches of a base image datamodule (see the module docstring).

    ``tensors[stage]`` is ``(x, target, label, anomaly)``: the training ``x`` is clean
    (the noise is drawn per batch), the validation and test ``x`` hold their fixed
    noise. ``anomaly`` is all ``False`` without ``normal_classes``.

    Args:
        base: the wrapped image datamodule (``data@data.base=digits`` to change it);
            ``normalize: false`` keeps pixels in [0, 1], which a ``bce`` loss needs.
        batch_size: samples per training batch.
        eval_batch_size: samples per val / test batch; ``None`` is 4 x ``batch_size``.
        seed: seeds the noise (and the base's split through its own ``seed``).
        noise_std: standard deviation of the denoising noise, in the units of the
            base's inputs (pixels in [0, 1] without normalisation); 0 for none.
        normal_classes: class indices of the normal samples (anomaly detection); the
            training split keeps only them. ``None``: every class, no anomalies.

    Raises:
        ConfigError: a negative ``noise_std``; ``normal_classes`` empty, out of the
            base's class range, or naming every class.

    Shapes:
        a batch: ``{"x": (B, C, H, W), "target": (B, C, H, W), "label": (B,) int64,
        "anomaly": (B,) bool}``
    """

    def __init__(
        self,
        base: DlzooDataModule,
        batch_size: int = 64,
        eval_batch_size: int | None = None,
        seed: int | None = 0,
        noise_std: float = 0.0,
        normal_classes: Sequence[int] | None = None,
    ) -> None:
        super().__init__(base, batch_size, eval_batch_size, seed)
        if noise_std < 0:
            raise ConfigError(f"data.noise_std={noise_std} must be >= 0")
        self.noise_std = float(noise_std)
        if normal_classes is not None and (
            not len(normal_classes) or any(int(c) != c or c < 0 for c in normal_classes)
        ):
            raise ConfigError(
                f"data.normal_classes={list(normal_classes)} must list class indices >= 0, "
                "e.g. [0, 1, 2]"
            )
        self.normal_classes = (
            None if normal_classes is None else sorted({int(c) for c in normal_classes})
        )
        self.train_noise: GaussianNoise | None = None

    def _check_normal_classes(self) -> None:
        if self.normal_classes is None:
            return
        count = self.num_classes
        if max(self.normal_classes) >= count:
            raise ConfigError(
                f"data.normal_classes={self.normal_classes} names a class beyond data "
                f"'{self.name}''s {count} classes (0 .. {count - 1})"
            )
        if len(self.normal_classes) == count:
            raise ConfigError(
                f"data.normal_classes lists all {count} classes of data '{self.name}': "
                "leave out the classes that are anomalies"
            )

    def _noise(self, seed: int) -> GaussianNoise:
        """Noise clipped to the base's pixel range [0, 1], in its input units."""
        channels = int(self.base.net_kwargs()["in_channels"])
        bounds = torch.tensor([0.0, 1.0]).view(2, 1, 1, 1).expand(2, channels, 1, 1)
        low, high = self.base.input_transform()(bounds.contiguous())  # (C, 1, 1) each
        return GaussianNoise(self.noise_std, low, high, seed)

    def _wrap(self) -> None:
        self._check_normal_classes()
        normal = torch.tensor(self.normal_classes or [], dtype=torch.int64)
        for index, stage in enumerate(STAGES):
            x, y = self.labelled(stage)
            anomaly = (
                ~torch.isin(y, normal)
                if self.normal_classes
                else torch.zeros_like(y, dtype=torch.bool)
            )
            if stage == "train":
                keep = ~anomaly
                self.tensors[stage] = (x[keep], x[keep], y[keep], anomaly[keep])
                continue
            # one fixed draw per split, its own seed: the same noisy inputs every epoch
            noisy = self._noise(self.seed + index)(x) if self.noise_std else x
            self.tensors[stage] = (noisy, x, y, anomaly)
        if self.noise_std:
            self.train_noise = self._noise(self.seed)

    def _loader(self, stage: str) -> DictBatchLoader:
        if not self.tensors:
            raise RuntimeError(f"{type(self).__name__}: call setup() before the loaders")
        tensors = self.tensors[stage]
        if stage != "train":
            loader = TensorBatchLoader(*tensors, batch_size=self.eval_batch_size, seed=self.seed)
            return DictBatchLoader(loader, BATCH_KEYS)
        overfit = self.trainer is not None and self.trainer.overfit_batches > 0
        loader = TensorBatchLoader(
            *tensors,
            batch_size=self.batch_size,
            shuffle=not overfit,
            seed=self.seed,
            # as the base's loader: BatchNorm cannot train on a last batch of one sample
            drop_last=len(tensors[0]) % self.batch_size == 1,
            transform=self.train_noise,  # the inputs only: the target stays clean
        )
        return DictBatchLoader(loader, BATCH_KEYS)

    def task_kwargs(self) -> dict[str, Any]:
        """The base's, and ``normal_classes`` for the anomaly task."""
        return {**super().task_kwargs(), "normal_classes": self.normal_classes}
