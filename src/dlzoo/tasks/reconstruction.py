"""Reconstruction: an autoencoder learns to give back its (clean) input.

The loss of a sample is its reconstruction error summed over the pixels, ``mse``
(squared error on the decoder's values) or ``bce`` (binary cross-entropy of the
decoder's logits against pixels in [0, 1]; the data must not be normalised), plus for a
variational autoencoder ``beta`` times the KL divergence of q(z | x) = N(mu, sigma^2)
from the prior N(0, I) (Kingma & Welling 2014):

    KL = -1/2 * sum_j (1 + log sigma_j^2 - mu_j^2 - sigma_j^2)

Summed over the pixels, ``bce`` + KL is the negative evidence lower bound, so ``beta =
1`` is the standard VAE and ``beta > 1`` the beta-VAE (Higgins et al. 2017); the loss is
the mean of the per-sample losses over the batch.

Logged per epoch: ``{stage}/loss``, ``{stage}/recon`` (the reconstruction part),
``{stage}/kl`` (variational nets) and ``{stage}/mse``, the mean squared error per pixel
of the reconstruction in the data's scale (after the sigmoid for ``bce``), comparable
across losses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn
from torch.optim import Optimizer

from dlzoo.errors import ConfigError
from dlzoo.losses import get_loss
from dlzoo.tasks.base import Task

RECONSTRUCTION_LOSSES = ("mse", "bce")


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per sample, summed over the latent dimensions.

    Shapes:
        mu, logvar: (B, D) -> (B,)
    """
    return -0.5 * torch.sum(1 + logvar - mu.square() - logvar.exp(), dim=1)


class ReconstructionTask(Task):
    """Optimise an autoencoder (see the module docstring for the loss).

    Args:
        net: an :class:`~dlzoo.models.autoencoder.Autoencoder` (``encode``,
            ``decode``, ``latent_size``).
        optimizer: a partial that takes parameter groups.
        scheduler: a scheduler config dict or ``None``.
        loss: ``mse`` or ``bce`` (the decoder outputs logits).
        beta: weight of the KL term of a variational net (ignored otherwise).

    Raises:
        ConfigError: an unknown loss, a negative ``beta``, or a net without
            ``encode`` / ``decode``.

    Shapes:
        batch: a mapping with ``x`` (B, C, H, W), the net's input, and ``target`` (B,
        C, H, W), the clean image (e.g. from
        :class:`~dlzoo.data.derived.reconstruction.ReconstructionDataModule`).
    """

    def __init__(
        self,
        net: nn.Module,
        optimizer: Callable[..., Optimizer],
        scheduler: dict[str, Any] | None = None,
        loss: str = "mse",
        beta: float = 1.0,
    ) -> None:
        super().__init__(net, optimizer, scheduler)
        if loss not in RECONSTRUCTION_LOSSES:
            raise ConfigError(
                f"task.loss={loss!r} does not fit reconstruction; "
                f"valid: {', '.join(RECONSTRUCTION_LOSSES)}"
            )
        if beta < 0:
            raise ConfigError(f"task.beta={beta} must be >= 0")
        if not (callable(getattr(net, "encode", None)) and callable(getattr(net, "decode", None))):
            raise ConfigError(
                f"the reconstruction task needs an autoencoder net (encode / decode), got "
                f"{type(net).__name__}: use model=autoencoder, conv_autoencoder or vae"
            )
        self.save_hyperparameters(ignore=["net", "optimizer", "scheduler"], logger=False)
        self.loss_name = loss
        self.beta = float(beta)
        self.variational = bool(getattr(net, "variational", False))
        # per pixel: the task sums over pixels and averages over samples itself
        self.criterion = get_loss(loss, reduction="none")

    @staticmethod
    def split_batch(batch: Any) -> tuple[tuple[Any, ...], Any]:
        """``((batch["x"],), batch["target"])``; the target is ``None`` for inputs to
        predict (a mapping with ``x`` alone).

        Raises:
            ConfigError: a batch that is not a mapping with ``x`` (not reconstruction
                data).
        """
        if not (isinstance(batch, Mapping) and "x" in batch):
            raise ConfigError(
                f"the reconstruction task needs batches with 'x' and 'target', got a "
                f"{type(batch).__name__}: use data=reconstruction (data@data.base=... for "
                "another image dataset)"
            )
        return (batch["x"],), batch.get("target")

    def output(self, decoded: torch.Tensor) -> torch.Tensor:
        """The decoder's output in the data's scale: the sigmoid of ``bce`` logits."""
        return decoded.sigmoid() if self.loss_name == "bce" else decoded

    def pixel_losses(self, decoded: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The loss of every pixel (squared error, or binary cross-entropy of logits).

        Shapes:
            decoded, target: (B, C, H, W) -> (B, C, H, W)
        """
        return self.criterion(decoded, target)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """The reconstruction of ``x`` from its latent mean, in the data's scale.

        Shapes:
            x (B, C, H, W) -> (B, C, H, W)
        """
        return self.generate(self.net.encode(x)[1])

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """Images decoded from latent points (e.g. z ~ N(0, I) for a VAE).

        Shapes:
            z (B, latent_size) -> (B, C, H, W)
        """
        return self.output(self.net.decode(z))

    def infer(self, *inputs: torch.Tensor) -> torch.Tensor:
        """The latent mean of each input (what ``dlzoo-predict`` writes).

        Shapes:
            x (B, C, H, W) -> (B, latent_size)
        """
        return self.embed(*inputs)

    def _counted(self, batch: Mapping[str, Any], stage: str) -> torch.Tensor | None:
        """Which samples of a batch count in the loss and the metrics; ``None``: all."""
        return None

    def _observe(self, batch: Mapping[str, Any], stage: str, errors: torch.Tensor) -> None:
        """Hook for each batch's per-sample mean pixel loss ``errors`` (B,)."""

    def _shared_step(self, batch: Any, stage: str) -> torch.Tensor:
        (x,), target = self.split_batch(batch)
        z, mu, logvar = self.net.encode(x)  # (B, latent) each; logvar None unless a VAE
        decoded = self.net.decode(z)  # (B, C, H, W)
        pixels = self.pixel_losses(decoded, target).flatten(1)  # (B, C * H * W)
        recon = pixels.sum(dim=1)  # (B,)
        kl = kl_divergence(mu, logvar) if logvar is not None else torch.zeros_like(recon)
        squared = (self.output(decoded.detach()) - target).square().flatten(1).mean(dim=1)
        counted = self._counted(batch, stage)
        weight = torch.ones_like(recon) if counted is None else counted.to(recon.dtype)
        count = weight.sum()
        loss = ((recon + self.beta * kl) * weight).sum() / count.clamp(min=1)
        sums = torch.stack([
            loss.detach() * count,
            (recon.detach() * weight).sum(),
            (kl.detach() * weight).sum(),
            (squared * weight).sum(),
            count,
        ])  # fmt: skip
        self._accumulate(stage, sums)
        self._observe(batch, stage, pixels.detach().mean(dim=1))
        return loss

    def _log_epoch(self, stage: str) -> None:
        sums = self._epoch_sums(stage)
        if sums is None:
            return
        count = sums[4].clamp(min=1)
        values = {f"{stage}/loss": sums[0] / count, f"{stage}/recon": sums[1] / count}
        if self.variational:
            values[f"{stage}/kl"] = sums[2] / count
        values[f"{stage}/mse"] = sums[3] / count
        self._log_epoch_values(values)

    def on_validation_epoch_end(self) -> None:
        self._log_epoch("val")

    def on_test_epoch_end(self) -> None:
        self._log_epoch("test")
