"""One name per net: every conf/model/<name>.yaml is a registered preset, and
``create_model(name, **shapes)`` builds what instantiating the YAML builds."""

from __future__ import annotations

import inspect
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from hydra.utils import get_class, instantiate
from omegaconf import OmegaConf

from dlzoo.config.compose import CONFIG_DIR
from dlzoo.models import create_model, get_model_class, get_model_defaults, list_models
from dlzoo.models.rnn import RecurrentNet
from dlzoo.run.nets import NESTED_NETS, build_net

CONF = CONFIG_DIR / "model"
CONFIGS = sorted(CONF.glob("*.yaml"))
# what the datamodules provide; a sequence net takes a classification head here, a
# forecaster only (no num_classes) the forecasting shapes
CLASSIFICATION = {
    "in_channels": 1,
    "image_size": (8, 8),
    "in_features": 64,
    "input_size": 3,
    "num_classes": 4,
    "node_features": 3,
}
FORECASTING = {"input_size": 3, "window": 8, "horizon": 5, "output_size": 2}
# what a text datamodule provides; a net that takes token ids gets these, and not
# input_size even where it also takes vectors
TEXT = {"vocab_size": 50, "padding_idx": 0, "num_classes": 4}
SHAPES = set(CLASSIFICATION) | set(FORECASTING) | set(TEXT)
# what a wrapped image datamodule (autoencoder, siamese pairs) provides: no classes
UNLABELLED_IMAGES = {"in_channels": 1, "image_size": (8, 8), "in_features": 64}
# what a video datamodule provides: a net of frames (cnn_rnn) fills its image backbone's
# shapes, the classes included, from it
VIDEO = {**UNLABELLED_IMAGES, "frames": 3, "num_classes": 4}


def shape_kwargs(cls: type) -> dict[str, Any]:
    params = inspect.signature(cls).parameters
    if "vocab_size" in params:
        provided = TEXT
    else:
        provided = CLASSIFICATION if "num_classes" in params else FORECASTING
    return {k: v for k, v in provided.items() if k in params}


def plain(value: Any) -> Any:
    """Tuples as lists, recursively, so that a YAML list equals a Python tuple."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def non_shape_arguments(cls: type, given: dict[str, Any]) -> dict[str, Any]:
    """Every argument but the data shapes that ``cls(**given, **shapes)`` runs with,
    the class's defaults filled in."""
    bound = inspect.signature(cls).bind_partial(**given)
    bound.apply_defaults()
    return {k: plain(v) for k, v in bound.arguments.items() if k not in SHAPES}


def test_every_config_is_a_name_and_the_old_names_stay() -> None:
    names = set(list_models())
    assert {p.stem for p in CONFIGS} <= names
    assert {"recurrent", "attention_rnn", "conv1d", "naive", "linear", "cnn", "mlp"} <= names
    assert len(CONFIGS) >= 12


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_preset_has_the_yaml_arguments(path: Path) -> None:
    cfg = OmegaConf.to_container(OmegaConf.load(path))
    cls = get_class(cfg.pop("_target_"))
    assert get_model_class(path.stem) is cls
    expected = non_shape_arguments(cls, cfg)
    assert non_shape_arguments(cls, get_model_defaults(path.stem)) == expected


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_create_model_builds_the_yaml_net(path: Path) -> None:
    cfg = OmegaConf.load(path)
    if any(OmegaConf.is_dict(cfg.get(key)) and "_target_" in cfg[key] for key in NESTED_NETS):
        # a net of nets (an autoencoder's encoder and decoder): the pipeline fills the
        # nested nodes' shapes from data that has no classes of its own
        preset = OmegaConf.create({"_target_": cfg._target_, **get_model_defaults(path.stem)})
        video = getattr(get_class(cfg._target_).example()[1], "ndim", 0) == 5
        shapes = VIDEO if video else UNLABELLED_IMAGES
        data = SimpleNamespace(net_kwargs=lambda: shapes, name="images")
        torch.manual_seed(0)
        from_name = build_net(preset, data)
        torch.manual_seed(0)
        from_yaml = build_net(cfg, data)
    else:
        shapes = shape_kwargs(get_class(cfg._target_))
        torch.manual_seed(0)
        from_name = create_model(path.stem, **shapes)
        torch.manual_seed(0)
        from_yaml = instantiate(cfg, _convert_="all", **shapes)
    assert type(from_name) is type(from_yaml) and repr(from_name) == repr(from_yaml)
    # built in the same order from the same seed: the same initial weights
    theirs = from_yaml.state_dict()
    for key, value in from_name.state_dict().items():
        torch.testing.assert_close(value, theirs[key], rtol=0, atol=0, msg=key)
    assert from_name.state_dict().keys() == theirs.keys()


def test_create_model_arguments_override_the_preset() -> None:
    net = create_model("gru", input_size=3, num_classes=2, cell="lstm", hidden_size=5)
    assert isinstance(net, RecurrentNet) and type(net.encoder.rnn).__name__ == "LSTM"
    assert net.num_features == 5 and net.pooling == "last"
    assert get_model_defaults("gru") == {"cell": "gru", "pooling": "last"}


def test_a_built_net_cannot_change_its_preset() -> None:
    defaults = get_model_defaults("vgg_small")
    defaults["blocks"].append({"type": "pool"})
    assert len(get_model_defaults("vgg_small")["blocks"]) == 2
    assert get_model_defaults("recurrent") == {}
