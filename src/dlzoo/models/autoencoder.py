"""Autoencoders: an encoder to a latent vector and a decoder back, plain or variational.

The encoder is any registered image net whose output is the latent vector (an ``mlp``
or ``cnn`` with ``num_classes: ${..latent_size}``), the decoder a
:mod:`dlzoo.models.decoder` net; both are built from nested ``encoder:`` / ``decoder:``
config nodes whose shape arguments the pipeline fills from the data, so either half is
reused alone (the encoder for a probe or transfer learning, the decoder as a generator).

Variational (Kingma & Welling 2014, "Auto-Encoding Variational Bayes"): the encoder's
output is the mean ``mu`` of q(z | x) and a linear layer on the encoder's features gives
``log sigma^2``; training samples ``z = mu + sigma * eps`` with ``eps ~ N(0, I)`` (the
reparameterisation trick), evaluation takes ``z = mu``. The KL term is the task's
(:mod:`dlzoo.tasks.reconstruction`).
"""

from __future__ import annotations

import torch
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.models.base import ZooNet
from dlzoo.models.decoder import DenseDecoder, new_classifier
from dlzoo.models.dense import MLP
from dlzoo.models.registry import register_model


class Autoencoder(ZooNet):
    """An encoder to a latent vector of ``latent_size``, a decoder back to the input.

    Args:
        encoder: a built net with output (B, latent_size); for ``variational`` also a
            ZooNet (``forward_features``, ``forward_head``, ``num_features``).
        decoder: a built net from (B, latent_size) to the reconstruction (logits for a
            ``bce`` loss, values for ``mse``).
        latent_size: width of the latent vector.
        variational: a VAE: ``encode`` samples z in training (see the module doc).

    Raises:
        ConfigError: an encoder or decoder that is a config node rather than a net, a
            variational encoder without the net API, or a decoder built for another
            ``latent_size``.

    Net API (see :mod:`dlzoo.models.base`): the features are the latent mean ``mu``
    (B, latent_size); the head is the decoder; ``reset_head(n)`` replaces the decoder
    by a fresh ``Linear(latent_size, n)``, a classifier on the latent vector (what
    transfer learning builds on). ``forward`` decodes ``encode``'s z: in evaluation
    ``forward_head(forward_features(x))``, in training a VAE's sample.

    Shapes:
        input x (B, ...) as the encoder takes; output as the decoder gives, e.g.
        (B, C, H, W); ``encode``: z, mu, logvar (B, latent_size) each (logvar ``None``
        for a plain autoencoder).
    """

    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        latent_size: int,
        variational: bool = False,
    ) -> None:
        super().__init__()
        for role, net in (("encoder", encoder), ("decoder", decoder)):
            if not isinstance(net, nn.Module):
                raise ConfigError(
                    f"Autoencoder takes a built {role}, got {type(net).__name__}: build the "
                    "model config with dlzoo.run.nets.build_net, which fills its shapes"
                )
        decoder_latent = getattr(decoder, "latent_size", latent_size)
        if decoder_latent != latent_size:
            raise ConfigError(
                f"the decoder takes latent_size={decoder_latent} but the autoencoder has "
                f"latent_size={latent_size}: set model.decoder.latent_size: ${{..latent_size}}"
            )
        self.encoder = encoder
        self.decoder = decoder
        self.latent_size = int(latent_size)
        self.variational = bool(variational)
        self.num_features = self.latent_size
        self.logvar: nn.Linear | None = None
        if self.variational:
            if not isinstance(encoder, ZooNet):
                raise ConfigError(
                    "a variational autoencoder needs a registered encoder net (forward_features "
                    f"for log sigma^2), got {type(encoder).__name__}"
                )
            self.logvar = nn.Linear(encoder.num_features, self.latent_size)

    def _check_latent(self, mu: torch.Tensor) -> None:
        if mu.ndim != 2 or mu.shape[1] != self.latent_size:
            raise ConfigError(
                f"the encoder outputs {tuple(mu.shape)} but latent_size={self.latent_size}: "
                "set model.encoder.num_classes: ${..latent_size}"
            )

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """``(z, mu, logvar)``: z = mu, logvar ``None`` for a plain autoencoder; a VAE
        samples z in training and takes z = mu in evaluation.

        Shapes:
            x (B, ...) -> z, mu, logvar (B, latent_size) each
        """
        if self.logvar is None:
            mu = self.encoder(x)
            self._check_latent(mu)
            return mu, mu, None
        features = self.encoder.forward_features(x)  # (B, encoder.num_features)
        mu = self.encoder.forward_head(features)  # (B, latent)
        self._check_latent(mu)
        logvar = self.logvar(features)  # (B, latent)
        if not self.training:
            return mu, mu, logvar
        eps = torch.randn_like(mu)
        return mu + torch.exp(0.5 * logvar) * eps, mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder's output for latent vectors (logits or values).

        Shapes:
            z (B, latent_size) -> e.g. (B, C, H, W)
        """
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x)[0])

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        mu = self.encoder(x)  # a VAE's mean: the encoder's output
        self._check_latent(mu)
        return mu  # (B, latent_size)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.decode(features)

    def reset_head(self, num_outputs: int) -> None:
        self.decoder = new_classifier(self.latent_size, num_outputs, self.encoder)

    @classmethod
    def example(cls, batch_size: int = 2) -> tuple[nn.Module, torch.Tensor]:
        """A small variational autoencoder of 1x4x4 images and a matching input."""
        encoder = MLP(in_features=16, num_classes=3, hidden_sizes=[8])
        decoder = DenseDecoder(3, 1, (4, 4), hidden_sizes=[8])
        return cls(encoder, decoder, latent_size=3, variational=True), torch.randn(
            batch_size, 1, 4, 4
        )


# its presets (autoencoder, conv_autoencoder, vae) are conf/model YAMLs, whose encoder /
# decoder nodes the pipeline and create_model build with the data's shapes
register_model("autoencoder")(Autoencoder)
