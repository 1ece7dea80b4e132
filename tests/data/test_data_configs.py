"""Every conf/data/*.yaml: keys match the class one to one and it instantiates."""

from __future__ import annotations

import inspect
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from graph_files import write_graph, write_planetoid
from hydra.utils import get_class, instantiate
from PIL import Image
from torch import nn

from dlzoo.config.compose import CONFIG_DIR, compose_config
from dlzoo.data.image.packaged import DigitsDataModule

CONF = CONFIG_DIR / "data"
OPTIONS = sorted(p.stem for p in CONF.glob("*.yaml"))
# would download on setup: instantiated only (tu needs a dataset name)
DOWNLOADS = {"fashion_mnist", "tu"}


def load(option: str, tmp_path: Path):
    """The option's node as Hydra composes it (a wrapper's defaults list brings its
    base), with seed 3 and data under ``tmp_path``."""
    overrides = [f"data={option}", "seed=3", f"paths.data_dir={tmp_path}"]
    return compose_config(overrides, run_dir=tmp_path / "run").data


def test_all_four_options_exist() -> None:
    assert {"digits", "mnist", "fashion_mnist", "image_folder"} <= set(OPTIONS)


@pytest.mark.parametrize("option", OPTIONS)
def test_keys_match_init_one_to_one(option: str, tmp_path: Path) -> None:
    node = load(option, tmp_path)
    params = inspect.signature(get_class(node._target_)).parameters
    assert set(node) - {"_target_", "_recursive_"} == set(params)
    assert node.seed == 3


@pytest.mark.parametrize("option", OPTIONS)
def test_instantiates_and_sets_up(option: str, tmp_path: Path) -> None:
    if option == "image_folder":
        for name in ("a", "b"):
            (tmp_path / "image_folder" / name).mkdir(parents=True)
            for i in range(7):
                Image.new("RGB", (9, 9), (i * 30, 0, 0)).save(
                    tmp_path / "image_folder" / name / f"{i}.png"
                )
    if option == "video_folder":  # clips (T, H, W) of 8-bit grey frames
        for name in ("a", "b"):
            (tmp_path / "video_folder" / name).mkdir(parents=True)
            for i in range(7):
                clip = np.full((3, 5, 5), i * 30, dtype=np.uint8)
                np.save(tmp_path / "video_folder" / name / f"{i}.npy", clip)
    if option == "text_folder":
        for name in ("a", "b"):
            (tmp_path / "texts" / name).mkdir(parents=True)
            for i in range(10):
                (tmp_path / "texts" / name / f"{i}.txt").write_text(f"{name} word {i} ends.")
    node = load(option, tmp_path)
    if option == "tu":
        node.name = "PROTEINS"
    if option == "graph_csv":
        node.nodes, node.edges = map(str, write_graph(tmp_path / "graph"))
    if option == "planetoid":
        write_planetoid(tmp_path / "planetoid" / "Cora" / "raw")
    if option == "text_folder":
        node.root = str(tmp_path / "texts")
    if option == "streaming":  # shards written from a source on first use
        node.source = {"_target_": "dlzoo.data.image.packaged.DigitsDataModule", "seed": 3}
    if option == "text_csv":
        rows = "\n".join(f'"{c} word {i} ends.",{c}' for i in range(10) for c in "ab")
        (tmp_path / "texts.csv").write_text("text,label\n" + rows + "\n")
        node.path = str(tmp_path / "texts.csv")
    if option == "series_csv":
        rows = "\n".join(f"{t},{t % 7 + 0.5 * t}" for t in range(200))
        (tmp_path / "series.csv").write_text("t,value\n" + rows + "\n")
        node.path = str(tmp_path / "series.csv")
    dm = instantiate(node, _convert_="all")
    assert isinstance(dm, L.LightningDataModule) and dm.seed == 3
    # named after the option, or after the dataset it picks (data=ucr data.name=GunPoint),
    # a wrapper after its base
    base = getattr(dm, "base", None)
    assert dm.name in (option, node.get("name"), getattr(base, "name", None))
    if option in DOWNLOADS:
        assert option == "tu" or Path(dm.data_dir) == tmp_path
        return
    dm.prepare_data()
    dm.setup("fit")
    kwargs = dm.net_kwargs()
    batch = next(iter(dm.val_dataloader()))
    if "level" in kwargs:  # graphs: one graph with masks, or batches of graphs
        assert set(kwargs) == {"node_features", "edge_features", "level", "num_classes"}
        assert batch.x.shape[1] == kwargs["node_features"]
        rows = batch.num_nodes if kwargs["level"] == "node" else batch.num_graphs
        assert len(batch.y) == rows and int(batch.y.max()) < kwargs["num_classes"]
        return
    if "frames" in kwargs:  # video: (x, y), x (B, T, C, H, W)
        assert set(kwargs) == {"in_channels", "image_size", "in_features", "frames", "num_classes"}
        x, y = batch
        assert x.shape[1:] == (kwargs["frames"], kwargs["in_channels"], *kwargs["image_size"])
        assert int(y.max()) < kwargs["num_classes"] == dm.num_classes
        return
    if base is not None:  # a wrapper: the base's image shapes, no classes, mapping batches
        assert kwargs == {k: v for k, v in base.net_kwargs().items() if k != "num_classes"}
        assert batch["x"].shape[1:] == (kwargs["in_channels"], *kwargs["image_size"])
        return
    if "horizon" in kwargs:  # forecasting: (x, y) windows
        assert set(kwargs) == {"input_size", "output_size", "window", "horizon"}
        x, y = batch
        assert x.shape[1:] == (kwargs["window"], kwargs["input_size"])
        assert y.shape[1:] == (kwargs["horizon"], kwargs["output_size"])
        return
    if "vocab_size" in kwargs:  # text: (tokens, y, lengths), token ids padded with 0
        assert set(kwargs) == {"vocab_size", "padding_idx", "num_classes"}
        tokens, y, lengths = batch
        assert tokens.dtype == torch.int64 and tokens.shape[1] == int(lengths.max())
        assert int(tokens.max()) < kwargs["vocab_size"]
        return
    if "input_size" in kwargs:  # sequence classification: (x, y, lengths)
        assert set(kwargs) - {"seq_len"} == {"input_size", "num_classes"}
        x, y, lengths = batch
        assert x.shape[0] == len(lengths) and x.shape[2] == kwargs["input_size"]
        # seq_len, where given, is the longest training series: no batch is padded past it
        assert int(lengths.max()) <= kwargs.get("seq_len", int(lengths.max()))
    else:
        assert set(kwargs) == {"in_channels", "image_size", "in_features", "num_classes"}
        x, y = batch
        assert x.shape[1:] == (kwargs["in_channels"], *kwargs["image_size"])
    assert int(y.max()) < kwargs["num_classes"] == dm.num_classes == len(dm.class_names)


class TinyClassifier(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
        self.first_train_ids: list[torch.Tensor] = []

    def training_step(self, batch, batch_idx):
        x, y = batch
        if batch_idx == 0:
            self.first_train_ids.append(y.clone())
        return nn.functional.cross_entropy(self.net(x), y)

    def validation_step(self, batch, batch_idx):
        self.log("val/loss", nn.functional.cross_entropy(self.net(batch[0]), batch[1]))

    def test_step(self, batch, batch_idx):
        self.log("test/loss", nn.functional.cross_entropy(self.net(batch[0]), batch[1]))

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-2)


def trainer(**kwargs) -> L.Trainer:
    return L.Trainer(
        accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, **kwargs,
    )  # fmt: skip


def test_digits_trains_and_tests_in_lightning() -> None:
    dm = DigitsDataModule(batch_size=32, seed=0, augment={"shift": 1})
    dm.prepare_data()
    dm.setup("fit")  # as the pipeline does before Lightning calls setup again
    model = TinyClassifier()
    fit = trainer(max_epochs=2, limit_train_batches=5, limit_val_batches=2)
    fit.fit(model, datamodule=dm)
    assert fit.current_epoch == 2
    assert not torch.equal(*model.first_train_ids)  # shuffled again in epoch 2
    assert fit.test(model, datamodule=dm, verbose=False)[0]["test/loss"] > 0


def test_overfit_batches_turns_shuffling_off() -> None:
    dm = DigitsDataModule(batch_size=16, seed=0)
    model = TinyClassifier()
    trainer(max_epochs=2, overfit_batches=2).fit(model, datamodule=dm)
    assert torch.equal(*model.first_train_ids)
