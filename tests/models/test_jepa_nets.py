"""The JEPA nets: the encoder sees only the patches it is given, at their own positions;
the features are the mean patch embedding; the head is optional and replaceable; the
predictor answers one embedding per target position."""

from __future__ import annotations

import pytest
import torch

from dlzoo.errors import ConfigError
from dlzoo.models import create_model
from dlzoo.models.jepa import JEPAEncoder, JEPAPredictor


def encoder(**kwargs: object) -> JEPAEncoder:
    torch.manual_seed(0)
    options = {"in_channels": 1, "image_size": 8, "patch_size": 2, "d_model": 8, "num_heads": 2}
    return JEPAEncoder(**{**options, **kwargs}).eval()  # type: ignore[arg-type]


def test_the_patches_left_out_do_not_reach_the_encoding() -> None:
    net = encoder()
    x = torch.randn(2, 1, 8, 8)
    index = torch.tensor([0, 1, 4, 5])  # the top-left 4x4 corner's four patches
    changed = x.clone()
    changed[..., 4:] = torch.randn(2, 1, 8, 4)  # the right half, outside the index
    with torch.no_grad():
        torch.testing.assert_close(net.encode(changed, index), net.encode(x, index))
        assert not torch.allclose(net.encode(changed), net.encode(x))


def test_encoding_moves_with_the_patches_and_knows_their_positions() -> None:
    net = encoder()
    x = torch.randn(2, 1, 8, 8)
    index = torch.tensor([3, 7, 9])
    order = torch.tensor([2, 0, 1])
    with torch.no_grad():
        out = net.encode(x, index)
        assert out.shape == (2, 3, 8)
        torch.testing.assert_close(net.encode(x, index[order]), out[:, order])
        # the same two patches' pixels, each at the other's grid cell: other tokens
        moved = x.clone()
        moved[..., 0:2, 0:2], moved[..., 0:2, 2:4] = x[..., 0:2, 2:4], x[..., 0:2, 0:2]
        swapped = net.encode(moved, torch.tensor([1, 0]))  # pixels in x's order
        assert not torch.allclose(swapped, net.encode(x, torch.tensor([0, 1])))


def test_features_are_the_mean_patch_embedding_and_the_head_is_optional() -> None:
    net = encoder()
    x = torch.randn(3, 1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(net.forward_features(x), net.encode(x).mean(dim=1))
        assert net.num_patches == 16 and net.num_features == 8
        torch.testing.assert_close(net(x), net.forward_features(x))  # no head yet
        net.reset_head(5)
        assert net(x).shape == (3, 5)
    with_head = encoder(num_classes=4)
    assert with_head(x).shape == (3, 4)


def test_a_patch_size_that_does_not_divide_the_image_is_one_clear_error() -> None:
    with pytest.raises(ConfigError, match=r"patch_size=3 does not divide image_size=\(8, 8\)"):
        encoder(patch_size=3)
    with pytest.raises(ConfigError, match="even d_model"):
        encoder(d_model=7, num_heads=7)
    net = create_model("jepa", in_channels=1, image_size=(28, 28), num_classes=10)
    assert net.grid == (7, 7) and net.num_features == 64


def test_predictor_answers_each_target_position() -> None:
    torch.manual_seed(0)
    predictor = JEPAPredictor((4, 4), d_model=8, width=4, num_heads=2, num_layers=1).eval()
    context = torch.randn(2, 5, 8)
    context_index = torch.tensor([0, 1, 2, 3, 4])
    target_index = torch.tensor([10, 15])
    with torch.no_grad():
        out = predictor(context, context_index, target_index)
        assert out.shape == (2, 2, 8)
        # the mask tokens are identical: only their positions tell the answers apart
        assert not torch.allclose(out[:, 0], out[:, 1])
        flipped = predictor(context, context_index, target_index.flip(0))
        torch.testing.assert_close(flipped, out.flip(1))
