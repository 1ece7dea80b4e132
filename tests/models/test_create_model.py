"""One source per preset: ``create_model(name, **shapes)`` reads conf/model/<name>.yaml
and builds what ``model=<name>`` builds; keyword arguments win over the YAML, and what
cannot work fails with a ConfigError that says where."""

from __future__ import annotations

import inspect
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from hydra.utils import get_class
from omegaconf import OmegaConf

from dlzoo.errors import ConfigError
from dlzoo.models import (
    create_model,
    get_model_class,
    get_model_defaults,
    list_models,
    model_config_dir,
)
from dlzoo.models import registry as registry_module
from dlzoo.models.dense import MLP
from dlzoo.models.rnn import RecurrentNet
from dlzoo.run.nets import build_net

CONFIGS = sorted(model_config_dir().glob("*.yaml"))
# what the datamodules provide; a sequence net takes a classification head here, a
# forecaster only (no num_classes) the forecasting shapes
CLASSIFICATION = {
    "in_channels": 1,
    "image_size": (8, 8),
    "in_features": 64,
    "input_size": 3,
    "num_classes": 4,
    "node_features": 3,
    # a UCR problem's longest training series (the series MLP is built for it)
    "seq_len": 9,
}
FORECASTING = {"input_size": 3, "window": 8, "horizon": 5, "output_size": 2}
# what a text datamodule provides; a net that takes token ids gets these, and not
# input_size even where it also takes vectors
TEXT = {"vocab_size": 50, "padding_idx": 0, "num_classes": 4}
# what a wrapped image datamodule (autoencoder, siamese pairs) provides: no classes
UNLABELLED_IMAGES = {"in_channels": 1, "image_size": (8, 8), "in_features": 64}
# what a video datamodule provides: a net of frames (cnn_rnn) fills its image backbone's
# shapes, the classes included, from it
VIDEO = {**UNLABELLED_IMAGES, "frames": 3, "num_classes": 4}


def params(node: Any) -> set[str]:
    return set(inspect.signature(get_class(node["_target_"])).parameters)


def nested(node: Any) -> list[Any]:
    return [v for v in node.values() if OmegaConf.is_dict(v) and "_target_" in v]


def provided(cfg: Any) -> dict[str, Any]:
    """What the data that the net of ``cfg`` pairs with provides."""
    if nested(cfg):
        video = getattr(get_class(cfg._target_).example()[1], "ndim", 0) == 5
        return VIDEO if video else UNLABELLED_IMAGES
    if "vocab_size" in params(cfg):
        return TEXT
    return CLASSIFICATION if "num_classes" in params(cfg) else FORECASTING


def taken(node: Any, shapes: dict[str, Any]) -> dict[str, Any]:
    """The shapes that ``node`` or one of its nested nets takes."""
    out = {k: v for k, v in shapes.items() if k in params(node)}
    for child in nested(node):
        out |= taken(child, shapes)
    return out


def test_every_yaml_and_every_registered_class_is_a_name() -> None:
    names = list_models()
    assert {p.stem for p in CONFIGS} <= set(names) and len(names) >= 30
    assert {"recurrent", "attention_rnn", "dense_decoder", "conv_decoder"} <= set(names)
    assert list_models("text_*") == [
        "text_cnn",
        "text_gru",
        "text_gru_attention",
        "text_lstm",
    ]


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_every_yaml_builds_a_registered_class(path: Path) -> None:
    # so that the zoo-wide tests of tests/models/test_registry.py cover its net
    cls = get_model_class(path.stem)
    assert cls is get_class(OmegaConf.load(path)._target_)
    assert get_model_class(cls.model_name) is cls


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_create_model_builds_what_the_config_builds(path: Path) -> None:
    cfg = OmegaConf.load(path)
    shapes = provided(cfg)
    data = SimpleNamespace(net_kwargs=lambda: shapes, name="data")
    torch.manual_seed(0)
    from_name = create_model(path.stem, **taken(cfg, shapes))
    torch.manual_seed(0)
    from_config = build_net(cfg, data)  # what model=<name> builds
    assert type(from_name) is type(from_config) and repr(from_name) == repr(from_config)
    count = sum(p.numel() for p in from_config.parameters())
    assert sum(p.numel() for p in from_name.parameters()) == count
    # built in the same order from the same seed: the same initial weights
    theirs = from_config.state_dict()
    assert from_name.state_dict().keys() == theirs.keys()
    for key, value in from_name.state_dict().items():
        torch.testing.assert_close(value, theirs[key], rtol=0, atol=0, msg=key)


def test_a_keyword_argument_overrides_the_yaml() -> None:
    net = create_model("gru", input_size=3, num_classes=2, cell="lstm", hidden_size=5)
    assert isinstance(net, RecurrentNet) and type(net.encoder.rnn).__name__ == "LSTM"
    assert net.num_features == 5 and net.pooling == "last"  # the rest from gru.yaml
    # the YAML's interpolations see it: both halves take the new latent size
    net = create_model("vae", latent_size=2, **UNLABELLED_IMAGES)
    x = torch.randn(3, 1, 8, 8)
    assert net.decoder.latent_size == 2 and net.encoder(x).shape == (3, 2)
    assert net(x).shape == (3, 1, 8, 8)


def test_a_built_net_or_a_node_replaces_a_nested_node() -> None:
    encoder = MLP(in_features=16, num_classes=32, hidden_sizes=[8])
    net = create_model("siamese", encoder=encoder)
    assert net.encoder is encoder and net(torch.randn(2, 1, 4, 4)).shape == (2, 32)
    node = {"_target_": "dlzoo.models.dense.MLP", "num_classes": 8, "hidden_sizes": [4]}
    net = create_model("siamese", encoder=node, embedding_size=8, in_features=16)
    assert isinstance(net.encoder, MLP) and net(torch.randn(2, 1, 4, 4)).shape == (2, 8)
    assert "in_features" not in node  # filled in a copy
    node["activation"] = torch.nn.GELU  # no config value: the node is taken as given
    net = create_model("siamese", encoder=node, embedding_size=8, in_features=16)
    assert any(isinstance(m, torch.nn.GELU) for m in net.encoder.modules())
    assert "in_features" not in node


def test_a_registered_class_without_a_yaml_takes_the_arguments_alone() -> None:
    net = create_model("recurrent", input_size=3, num_classes=2, hidden_size=4)
    assert isinstance(net, RecurrentNet) and net.num_features == 4
    assert get_model_defaults("recurrent") == {}
    # as written, the nested encoder node included
    assert get_model_defaults("siamese")["encoder"]["num_classes"] == "${..embedding_size}"


def test_what_cannot_work_names_the_fix() -> None:
    with pytest.raises(ConfigError, match=r"unknown model '\.\./model/gru'; valid models: "):
        create_model("../model/gru")
    with pytest.raises(ConfigError, match=r"gru\.yaml: RecurrentNet needs input_size"):
        create_model("gru", num_classes=2)
    with pytest.raises(ConfigError, match=r"no net of conf/model/gru\.yaml takes hidden_sizes"):
        create_model("gru", input_size=3, num_classes=2, hidden_sizes=[4])
    with pytest.raises(ConfigError, match=r"siamese\.yaml, encoder sets num_classes=32"):
        create_model("siamese", num_classes=10, **UNLABELLED_IMAGES)
    with pytest.raises(ConfigError, match=r"autoencoder\.yaml, encoder: MLP needs in_features"):
        create_model("autoencoder", in_channels=1, image_size=(8, 8))


@pytest.fixture
def conf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty model config folder in place of conf/model."""
    monkeypatch.setattr(registry_module, "model_config_dir", lambda: tmp_path)
    return tmp_path


def test_a_yaml_key_the_class_does_not_take_fails(conf: Path) -> None:
    (conf / "typo.yaml").write_text("_target_: dlzoo.models.dense.MLP\nhidden_size: [3]\n")
    assert "typo" in list_models()
    with pytest.raises(ConfigError, match=r"model/typo\.yaml: MLP takes no argument hidden_size"):
        create_model("typo", in_features=4, num_classes=2)
    (conf / "nested.yaml").write_text(
        "_target_: dlzoo.models.siamese.SiameseNet\n"
        "encoder: {_target_: dlzoo.models.dense.MLP, num_classes: 32, width: 3}\n"
    )
    with pytest.raises(ConfigError, match=r"nested\.yaml, encoder: MLP takes no argument width"):
        create_model("nested", in_features=4)
    (conf / "untargeted.yaml").write_text("hidden_sizes: [3]\n")
    with pytest.raises(ConfigError, match=r"untargeted\.yaml has no _target_"):
        create_model("untargeted")
    (conf / "nowhere.yaml").write_text("_target_: dlzoo.models.dense.Perceptron\n")
    with pytest.raises(ConfigError, match=r"'dlzoo\.models\.dense\.Perceptron' names nothing"):
        create_model("nowhere")


def test_an_interpolation_outside_the_preset_is_passed_by_the_caller(conf: Path) -> None:
    (conf / "sized.yaml").write_text(
        "_target_: dlzoo.models.dense.MLP\nnum_classes: ${data.num_classes}\n"
    )
    with pytest.raises(ConfigError, match=r"sized\.yaml: num_classes cannot be resolved.*"
                       r"pass num_classes=\.\.\. to create_model"):  # fmt: skip
        create_model("sized", in_features=4)
    assert create_model("sized", in_features=4, num_classes=3)(torch.randn(2, 4)).shape == (2, 3)
