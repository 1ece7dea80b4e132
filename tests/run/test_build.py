"""build fills shape arguments into nested net configs (an autoencoder's encoder and
decoder), and names the model and the data when a nested node does not fit."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.run.nets import build_net


class Pair(nn.Module):
    """A net made of two configured nets, as an autoencoder is."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, in_features: int) -> None:
        super().__init__()
        self.encoder, self.decoder, self.in_features = encoder, decoder, in_features


class Part(nn.Module):
    def __init__(self, in_channels: int, image_size: tuple[int, int], width: int = 4) -> None:
        super().__init__()
        self.in_channels, self.image_size, self.width = in_channels, tuple(image_size), width


class FakeImages:
    name = "fake_images"

    def net_kwargs(self) -> dict:
        return {"in_channels": 3, "image_size": (8, 8), "in_features": 192, "num_classes": 2}


def _cfg(**decoder) -> OmegaConf:
    part = f"{__name__}.Part"
    return OmegaConf.create(
        {
            "_target_": f"{__name__}.Pair",
            "encoder": {"_target_": part, "width": 7},
            "decoder": {"_target_": part, **decoder},
        }
    )


def test_nested_encoder_and_decoder_get_the_data_shapes() -> None:
    net = build_net(_cfg(), FakeImages())
    assert net.in_features == 192
    assert (net.encoder.in_channels, net.encoder.image_size, net.encoder.width) == (3, (8, 8), 7)
    assert (net.decoder.in_channels, net.decoder.image_size, net.decoder.width) == (3, (8, 8), 4)


def test_a_nested_value_that_contradicts_the_data_names_it() -> None:
    with pytest.raises(
        ConfigError,
        match=r"sets in_channels=1 but data 'fake_images' has "
        r"in_channels=3; remove model.decoder.in_channels",
    ):
        build_net(_cfg(in_channels=1), FakeImages())
