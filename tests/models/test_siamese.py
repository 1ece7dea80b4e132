"""The siamese net: a shared encoder's embedding, the net API, the distance and the
fitted decision head; conf/model/siamese.yaml builds on wrapped image data."""

from __future__ import annotations

import functools

import pytest
import torch
from omegaconf import OmegaConf

from dlzoo.data.derived.pairs import PairDataModule
from dlzoo.data.image.packaged import DigitsDataModule
from dlzoo.errors import ConfigError
from dlzoo.models import get_model_defaults, list_models, model_config_dir
from dlzoo.models.dense import MLP
from dlzoo.models.siamese import DistanceDecision, SiameseNet
from dlzoo.run.nets import build_net

YAML = model_config_dir() / "siamese.yaml"


@functools.cache
def digit_pairs() -> PairDataModule:
    dm = PairDataModule(DigitsDataModule(seed=0), batch_size=16, seed=0)
    dm.prepare_data()
    dm.setup("fit")
    return dm


def test_the_yaml_builds_on_pairs_of_digits() -> None:
    cfg = OmegaConf.load(YAML)
    assert "siamese" in list_models()
    net = build_net(cfg, digit_pairs())  # in_channels and image_size filled in the encoder
    x = digit_pairs().labelled("val")[0][:5]
    net.eval()
    with torch.no_grad():
        z = net(x)
    assert z.shape == (5, cfg.embedding_size)
    torch.testing.assert_close(z.norm(dim=1), torch.ones(5))  # normalize: true


def test_forward_is_the_encoder_output_normalised() -> None:
    torch.manual_seed(0)
    net, x = SiameseNet.example(batch_size=3)
    net.eval()
    with torch.no_grad():
        raw = net.encoder(x)
        torch.testing.assert_close(net(x), raw / raw.norm(dim=1, keepdim=True))
        assert net.forward_features(x).shape == (3, net.encoder.num_features)
        net.normalize = False
        torch.testing.assert_close(net(x), raw)


def test_reset_head_makes_a_classifier_of_the_encoder_features() -> None:
    torch.manual_seed(0)
    net, x = SiameseNet.example(batch_size=3)
    net.eval()
    with torch.no_grad():
        features = net.forward_features(x)
        net.reset_head(7)
        logits = net(x)
    assert logits.shape == (3, 7)
    torch.testing.assert_close(net.forward_features(x), features)
    assert not torch.allclose(logits.norm(dim=1), torch.ones(3))  # logits, not unit rows


def test_an_encoder_config_or_width_that_does_not_fit_names_the_fix() -> None:
    with pytest.raises(ConfigError, match="build_net"):
        SiameseNet(get_model_defaults("siamese")["encoder"])
    net = SiameseNet(MLP(in_features=4, num_classes=3, hidden_sizes=[]), embedding_size=8)
    with pytest.raises(ConfigError, match=r"3-wide.*embedding_size=8.*num_classes"):
        net(torch.randn(2, 4))


def test_distance_and_same_probability() -> None:
    encoder = MLP(in_features=2, num_classes=2, hidden_sizes=[])
    a, b = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    net = SiameseNet(encoder, embedding_size=2, distance="cosine")
    assert net.distance(a, b).item() == pytest.approx(1.0)
    euclidean = SiameseNet(encoder, embedding_size=2)
    assert euclidean.distance(a, b).item() == pytest.approx(2**0.5)
    # the initial head: w = -10, b = 5, threshold 0.5
    p = torch.sigmoid(torch.tensor(-10 * 2**0.5 + 5)).item()
    assert euclidean.same_probability(a, b).item() == pytest.approx(p)
    with pytest.raises(ConfigError, match="distance='l1'"):
        SiameseNet(encoder, embedding_size=2, distance="l1")


def test_decision_fit_finds_the_threshold_between_the_classes() -> None:
    torch.manual_seed(0)
    # same-class distances around 0.3, different-class ones around 1.1, overlapping
    same_d = 0.3 + 0.15 * torch.randn(500)
    other_d = 1.1 + 0.15 * torch.randn(500)
    head = DistanceDecision()
    head.fit(torch.cat([same_d, other_d]), torch.cat([torch.ones(500), torch.zeros(500)]))
    assert head.weight.item() < 0  # farther apart, less likely the same class
    # equal spreads and counts: the decision boundary lies midway
    assert head.threshold == pytest.approx(0.7, abs=0.03)
    assert head(torch.tensor(0.3)).item() > 0.99 and head(torch.tensor(1.1)).item() < 0.01
    # weight and bias are state (they travel in checkpoints), not parameters
    assert set(head.state_dict()) == {"weight", "bias"} and not list(head.parameters())


def test_decision_fit_without_both_kinds_keeps_the_head() -> None:
    head = DistanceDecision()
    head.fit(torch.tensor([0.1, 0.2]), torch.ones(2))
    assert head.threshold == pytest.approx(0.5)
