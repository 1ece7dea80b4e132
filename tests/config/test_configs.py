"""Every YAML under conf/ composes, validates and instantiates."""

from __future__ import annotations

import functools
import inspect
from pathlib import Path

import pytest
import torch
from hydra.utils import get_class, instantiate
from omegaconf import OmegaConf

from dlzoo.config.compose import CONFIG_DIR
from dlzoo.models import get_model_class
from dlzoo.models.video_backbone import BackboneVideoNet
from dlzoo.optim import build_optimizer, build_scheduler
from dlzoo.run.nets import NESTED_NETS
from dlzoo.run.pipeline import build_net, instantiate_dict, validate_config
from dlzoo.tasks.base import Task

ROOT_GROUPS = {"tune_space"}  # compose on conf/tune.yaml: see tests/tune/test_tune.py
GROUPS = sorted(p.name for p in CONFIG_DIR.iterdir() if p.is_dir() and p.name not in ROOT_GROUPS)
OPTIONS = [(g, p.stem) for g in GROUPS for p in sorted((CONFIG_DIR / g).glob("*.yaml"))]
# these name hardware this machine may not have: composed and validated, not built
NEEDS_HARDWARE = {("trainer", "gpu"), ("trainer", "ddp")}


def tmp_data_dir() -> Path:
    """Where the video kind caches its generated clips (kept out of the user's cache)."""
    import tempfile

    return Path(tempfile.mkdtemp(prefix="dlzoo-test-configs-"))


@functools.cache
def datamodule(kind: str):
    """A set-up datamodule of each kind of data that the models pair with."""
    from dlzoo.data.derived.reconstruction import ReconstructionDataModule
    from dlzoo.data.graph.karate import KarateDataModule
    from dlzoo.data.graph.tu import TUDataModule
    from dlzoo.data.image.packaged import DigitsDataModule
    from dlzoo.data.series.packaged import SunspotsDataModule
    from dlzoo.data.series.ucr import UCRDataModule
    from dlzoo.data.text.folder import BBCNewsDataModule
    from dlzoo.data.video.moving_digits import MovingDigitsDataModule

    dm = {
        "images": lambda: DigitsDataModule(batch_size=16, seed=0),
        # a wrapped image datamodule: the shapes of the images, no classes
        "unlabelled": lambda: ReconstructionDataModule(DigitsDataModule(seed=0), batch_size=16),
        "forecast": lambda: SunspotsDataModule(window=11, batch_size=16, seed=0),
        "sequences": lambda: UCRDataModule("JapaneseVowels", batch_size=16, seed=0),
        "text": lambda: BBCNewsDataModule(
            batch_size=16, seed=0, tokenizer={"max_length": 64}, encoding_fallback="cp1252"
        ),
        "nodes": lambda: KarateDataModule(seed=0),
        "graphs": lambda: TUDataModule(batch_size=16, seed=0),
        "video": lambda: MovingDigitsDataModule(
            data_dir=str(tmp_data_dir()), num_clips=160, batch_size=16, seed=0
        ),
    }[kind]()
    dm.prepare_data()
    dm.setup("fit")
    return dm


# the net each representation task is made for (their example() instances)
TASK_NETS = {
    "reconstruction": "autoencoder",
    "anomaly": "autoencoder",
    "metric_learning": "siamese",
    "jepa": "jepa",
    "node_classification": "gcn",
}

# a model takes a kind of data when it takes one of these inputs of it
INPUTS = {"in_channels", "in_features", "input_size", "vocab_size", "node_features"}
KINDS = ("images", "forecast", "sequences", "text", "nodes", "graphs")


def compatible(model_node) -> list[str]:
    """The kinds of data whose shape arguments cover everything the model requires
    and give it an input it takes (a transformer takes features or token ids)."""
    params = inspect.signature(get_class(model_node._target_)).parameters
    if issubclass(get_class(model_node._target_), BackboneVideoNet) or "frames" in params:
        return ["video"]  # (B, T, C, H, W) clips: image nets per frame, or 3-d convolutions
    if any(
        OmegaConf.is_dict(model_node.get(k)) and "_target_" in model_node[k] for k in NESTED_NETS
    ):
        return ["unlabelled"]  # a net of nets: the nested nodes say their own output sizes
    required = {n for n, p in params.items() if p.default is p.empty and n not in model_node}
    provided = {k: set(datamodule(k).net_kwargs()) for k in KINDS}
    takes = INPUTS & set(params)  # none for the naive forecast, which reads no input
    return [k for k in KINDS if required <= provided[k] and (not takes or takes & provided[k])]


def test_all_groups_are_covered() -> None:
    assert {
        "data",
        "model",
        "task",
        "optimizer",
        "scheduler",
        "trainer",
        "callbacks",
        "logger",
        "experiment",
        "debug",
        "paths",
        "hydra",
    } <= set(GROUPS)


@pytest.mark.parametrize(("group", "option"), OPTIONS, ids=[f"{g}/{o}" for g, o in OPTIONS])
def test_option_composes_and_instantiates(make_cfg, tmp_path: Path, group: str, option: str):
    overrides = [f"{group}={option}"]
    if (group, option) in {("data", "image_folder"), ("data", "text_folder")}:
        overrides.append(f"data.root={tmp_path}")
    if (group, option) == ("data", "text_csv"):
        overrides.append(f"data.path={tmp_path / 'texts.csv'}")
    if (group, option) == ("data", "graph_csv"):  # set up by tests/data/test_data_configs.py
        overrides += [f"data.nodes={tmp_path / 'n.csv'}", f"data.edges={tmp_path / 'e.csv'}"]
    if (group, option) == ("data", "tu"):
        overrides.append("data.name=PROTEINS")
    cfg = make_cfg(*overrides)
    for key in cfg:  # every interpolation resolves (hydra's own keys need a running job)
        if key != "hydra":
            OmegaConf.to_container(cfg[key], resolve=True) if OmegaConf.is_config(
                cfg[key]
            ) else None
    validate_config(cfg)
    node = cfg.get(group)
    if group == "data":
        dm = instantiate(node, _convert_="all")
        assert hasattr(dm, "net_kwargs")
    elif group == "model":
        kinds = compatible(node)
        assert kinds, f"model/{option} fits none of the datamodules"
        for kind in kinds:  # one model YAML works with every compatible kind of data
            dm = datamodule(kind)
            batch = next(iter(dm.val_dataloader()))
            if kind == "unlabelled":  # the batch is a mapping; the net takes its images
                out = build_net(node, dm)(batch["x"])
                assert len(out) == len(batch["x"]) and torch.isfinite(out).all()
                continue
            if kind in ("nodes", "graphs"):  # a PyG batch: a row per node or per graph
                out = build_net(node, dm)(batch)
                rows = batch.num_nodes if kind == "nodes" else batch.num_graphs
                assert out.shape == (rows, dm.num_classes)
                continue
            out = build_net(node, dm)(batch[0], *batch[2:])
            expected = batch[1].shape[1:] if kind == "forecast" else (dm.num_classes,)
            assert out.shape == (len(batch[0]), *expected)
    elif group == "task":
        shapes = {
            "classification": {"num_classes": 10},
            "node_classification": {"num_classes": 4},
            "forecast": datamodule("forecast").task_kwargs(),
            "anomaly": {"normal_classes": [0]},  # from data.normal_classes
        }.get(option, {})
        net = (
            get_model_class(TASK_NETS[option]).example()[0]
            if option in TASK_NETS
            else torch.nn.Linear(64, 10)
        )
        task = instantiate(
            node, net=net, optimizer=instantiate(cfg.optimizer), _recursive_=False, **shapes
        )
        assert isinstance(task, Task)
    elif group == "optimizer":
        build_optimizer(instantiate(node), torch.nn.Linear(2, 2))
    elif group == "scheduler":
        opt = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1, momentum=0.9)
        build_scheduler(OmegaConf.to_container(node, resolve=True), opt, 100, 10)
    elif group == "trainer" and (group, option) not in NEEDS_HARDWARE:
        instantiate(node, logger=False)
    elif group in ("callbacks", "logger"):
        objects = instantiate_dict(node)
        assert len(objects) == len([v for v in node.values() if v is not None])
