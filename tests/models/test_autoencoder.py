"""Decoders and autoencoders: output shapes for 28x28 and 8x8 images, the VAE's
sampling, the latent classifier of reset_head, and nets built from the YAMLs."""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf

from dlzoo.config.compose import CONFIG_DIR
from dlzoo.data.derived.reconstruction import ReconstructionDataModule
from dlzoo.data.image.packaged import DigitsDataModule
from dlzoo.errors import ConfigError
from dlzoo.models.autoencoder import Autoencoder
from dlzoo.models.decoder import ConvDecoder, DenseDecoder
from dlzoo.models.dense import MLP
from dlzoo.run.nets import build_net


@pytest.mark.parametrize(
    ("image_size", "channels", "start", "features"),
    [
        ((28, 28), [32, 16], (7, 7), 16 * 28 * 28),  # 7 -> 14 -> 28
        ((8, 8), [32, 16], (2, 2), 16 * 8 * 8),  # 2 -> 4 -> 8
        ((28, 28), [8, 8, 4], (4, 4), 4 * 32 * 32),  # 4 -> 32, cropped to 28
        ((5, 7), [4], (3, 4), 4 * 6 * 8),  # uneven: 6 x 8, cropped to 5 x 7
    ],
)
def test_conv_decoder_upsamples_to_the_image_size(image_size, channels, start, features) -> None:
    net = ConvDecoder(6, 2, image_size, channels=channels)
    assert net.start_shape[1:] == start and net.num_features == features
    out = net(torch.randn(3, 6))
    assert out.shape == (3, 2, *image_size)


def test_conv_decoder_crops_the_centre() -> None:
    net = ConvDecoder(2, 1, (6, 6), channels=[3, 3], batch_norm=False).eval()  # 2 -> 8
    z = torch.randn(4, 2)
    full = net.output(net.forward_features(z).view(4, *net.map_shape))  # (4, 1, 8, 8)
    torch.testing.assert_close(net(z), full[:, :, 1:7, 1:7])


def test_dense_decoder_shapes_and_reset_head() -> None:
    net = DenseDecoder(4, 1, (28, 28), hidden_sizes=[32, 16])
    z = torch.randn(5, 4)
    assert net(z).shape == (5, 1, 28, 28) and net.forward_features(z).shape == (5, 16)
    net.reset_head(3)
    assert net(z).shape == (5, 3)


def test_conv_decoder_needs_a_stage() -> None:
    with pytest.raises(ConfigError, match="at least one upsampling stage"):
        ConvDecoder(4, 1, 8, channels=[])


def small_autoencoder(variational: bool) -> Autoencoder:
    encoder = MLP(in_features=16, num_classes=3, hidden_sizes=[8])
    decoder = DenseDecoder(3, 1, (4, 4), hidden_sizes=[8])
    return Autoencoder(encoder, decoder, latent_size=3, variational=variational)


def test_plain_autoencoder_encodes_to_its_mean() -> None:
    net = small_autoencoder(variational=False)
    x = torch.randn(5, 1, 4, 4)
    z, mu, logvar = net.encode(x)
    assert logvar is None and torch.equal(z, mu) and mu.shape == (5, 3)
    torch.testing.assert_close(mu, net.encoder(x))
    torch.testing.assert_close(net(x), net.decode(mu))


def test_vae_samples_in_training_and_takes_the_mean_in_evaluation() -> None:
    torch.manual_seed(0)
    net = small_autoencoder(variational=True)
    x = torch.randn(4000, 1, 4, 4)
    z, mu, logvar = net.encode(x)
    # z = mu + sigma * eps: the standardised sample is N(0, 1)
    eps = (z - mu) / torch.exp(0.5 * logvar)
    assert abs(eps.mean().item()) < 0.05 and abs(eps.std().item() - 1) < 0.05
    # log sigma^2 is a linear map of the encoder's features
    torch.testing.assert_close(logvar, net.logvar(net.encoder.forward_features(x)))
    net.eval()
    z, mu_eval, _ = net.encode(x)
    assert torch.equal(z, mu_eval)
    torch.testing.assert_close(mu_eval, net.forward_features(x))


def test_reset_head_makes_a_classifier_of_the_latent() -> None:
    net = small_autoencoder(variational=False).eval()
    x = torch.randn(5, 1, 4, 4)
    net.reset_head(7)
    assert isinstance(net.decoder, torch.nn.Linear) and net.decoder.in_features == 3
    torch.testing.assert_close(net(x), net.decoder(net.encoder(x)))
    assert net(x).shape == (5, 7)


def test_mismatched_latent_sizes_are_config_errors() -> None:
    encoder = MLP(in_features=16, num_classes=5, hidden_sizes=[8])
    with pytest.raises(ConfigError, match=r"decoder takes latent_size=3.*latent_size=5"):
        Autoencoder(encoder, DenseDecoder(3, 1, 4), latent_size=5)
    net = Autoencoder(encoder, DenseDecoder(3, 1, 4), latent_size=3)
    with pytest.raises(ConfigError, match=r"encoder outputs \(2, 5\).*num_classes"):
        net(torch.randn(2, 1, 4, 4))


def test_a_config_node_is_not_a_net() -> None:
    with pytest.raises(ConfigError, match=r"built encoder.*build_net"):
        Autoencoder({"_target_": "dlzoo.models.dense.MLP"}, DenseDecoder(3, 1, 4), 3)


@pytest.fixture(scope="module")
def digits_reconstruction() -> ReconstructionDataModule:
    dm = ReconstructionDataModule(DigitsDataModule(normalize=False), batch_size=16)
    dm.setup("fit")
    return dm


@pytest.mark.parametrize("name", ["autoencoder", "conv_autoencoder", "vae"])
def test_yaml_nets_fill_both_halves_from_the_data(
    name: str, digits_reconstruction: ReconstructionDataModule
) -> None:
    cfg = OmegaConf.load(CONFIG_DIR / "model" / f"{name}.yaml")
    cfg.latent_size = 5  # both halves follow through the interpolations
    net = build_net(cfg, digits_reconstruction)
    x = digits_reconstruction.tensors["val"][0][:3]
    assert net(x).shape == x.shape == (3, 1, 8, 8)
    assert net.forward_features(x).shape == (3, 5) and net.variational == (name == "vae")
