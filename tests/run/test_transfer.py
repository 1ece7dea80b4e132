"""Transfer learning: a run's net in a new task, frozen, fine-tuned or from scratch."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from dlzoo.config.compose import compose_config
from dlzoo.errors import ConfigError
from dlzoo.optim import build_optimizer
from dlzoo.run.artefacts import load_checkpoint, save_run_config
from dlzoo.run.build import build
from dlzoo.run.pipeline import fit, report, score
from dlzoo.run.rebuild import rebuild
from dlzoo.run.transfer import blocks


def _train(cfg) -> Path:
    run = build(cfg)
    save_run_config(cfg, run.output_dir)
    fit(run)
    report(run, score(run, run.trainer.checkpoint_callback.best_model_path, fitted=True))
    return run.output_dir


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """digits_cnn on digits 0-4 for two short epochs."""
    root = tmp_path_factory.mktemp("source")
    cfg = compose_config(
        [f"paths.log_dir={root}", "debug=limit", "logger=none", "data.classes=[0,1,2,3,4]"],
        run_dir=root / "run",
    )
    return _train(cfg)


def _target(source: Path, tmp: Path, *overrides: str):
    return compose_config(
        [
            f"paths.log_dir={tmp}",
            "debug=limit",
            "logger=none",
            f"init_from={source}",
            "data.classes=[5,6,7,8,9]",
            "data.train_per_class=10",
            "data.batch_size=10",
            *overrides,
        ],
        run_dir=tmp / "run",
    )


def _source_weights(source: Path) -> dict[str, torch.Tensor]:
    state = load_checkpoint(source / "checkpoints" / "best.ckpt")["state_dict"]
    return {k.removeprefix("net."): v for k, v in state.items() if k.startswith("net.")}


def test_frozen_body_stays_bit_identical_and_the_head_trains(source, tmp_path) -> None:
    run = build(_target(source, tmp_path, "transfer=frozen"))
    loaded = _source_weights(source)
    # the source's weights are loaded; only the new output layer's weight and bias differ
    params = {n: p.detach().clone() for n, p in run.net.named_parameters()}
    body = {n: p for n, p in params.items() if torch.equal(p, loaded[n])}
    new = {n: p for n, p in params.items() if n not in body}
    assert len(new) == 2 and all(n.startswith("head.") for n in new)
    buffers = {n: b.clone() for n, b in run.net.named_buffers() if "running" in n}
    fit(run)
    for name, param in run.net.named_parameters():
        if name in body:
            assert torch.equal(param, body[name]), f"{name} changed"
            assert not param.requires_grad
        else:
            assert not torch.equal(param, new[name]), f"head {name} did not train"
    for name, value in run.net.named_buffers():  # frozen batch norm keeps its statistics
        if name in buffers:
            assert torch.equal(value, buffers[name]), name
    assert run.net.forward_head(run.net.forward_features(torch.zeros(1, 1, 8, 8))).shape[1] == 5


def test_finetune_gives_the_body_a_lower_learning_rate(source, tmp_path) -> None:
    run = build(_target(source, tmp_path, "transfer=finetune", "optimizer.lr=0.01"))
    optimizer = build_optimizer(run.task.optimizer_factory, run.net, run.task.lr_scales)
    rates = {g["name"]: g.get("lr", optimizer.defaults["lr"]) for g in optimizer.param_groups}
    assert rates["decay"] == 0.01 and rates["decay_body"] == pytest.approx(0.001)
    body = {
        id(p) for g in optimizer.param_groups if g["name"].endswith("_body") for p in g["params"]
    }
    head = {id(p) for p in run.net.parameters()} - body
    assert body and head and len(head) < len(body)


def test_gradual_unfreezing_with_backbone_finetuning(source, tmp_path) -> None:
    cfg = _target(
        source, tmp_path, "transfer=gradual", "transfer.unfreeze_at_epoch=1", "trainer.max_epochs=2"
    )
    run = build(cfg)
    before = {n: p.detach().clone() for n, p in run.net.named_parameters()}
    fit(run)
    changed = [n for n, p in run.net.named_parameters() if not torch.equal(p, before[n])]
    # epoch 2 trains the body too: more than the head's two tensors changed
    assert len(changed) > 2 and all(p.requires_grad for p in run.net.parameters())


def test_freeze_first_blocks(source, tmp_path) -> None:
    run = build(_target(source, tmp_path, "transfer.freeze=2"))
    frozen = [n for n, p in run.net.named_parameters() if not p.requires_grad]
    assert frozen and {n.split(".")[1] for n in frozen} == {"0", "1"}
    assert all(n.startswith("features.") for n in frozen)
    with pytest.raises(ConfigError, match=r"transfer\.freeze=99"):
        build(_target(source, tmp_path, "transfer.freeze=99"))


def test_scratch_has_the_same_net_with_fresh_weights(source, tmp_path) -> None:
    run = build(_target(source, tmp_path, "transfer=scratch"))
    loaded = _source_weights(source)
    first = "features.0.0.weight"
    assert run.net.state_dict()[first].shape == loaded[first].shape
    assert not torch.equal(run.net.state_dict()[first], loaded[first])


def test_a_transfer_run_rebuilds_without_its_source(source, tmp_path) -> None:
    cfg = _target(source, tmp_path, "transfer=frozen")
    out = _train(cfg)
    moved = tmp_path / "moved_source"
    shutil.copytree(source, moved)
    shutil.rmtree(source)
    try:
        run = rebuild(out, trainer=False)
        assert run.model_name == "cnn" and run.datamodule.class_names == list("56789")
        assert run.task(torch.zeros(2, 1, 8, 8)).shape == (2, 5)
    finally:
        shutil.copytree(moved, source)


def test_bad_init_from_and_data_of_another_shape(source, tmp_path) -> None:
    with pytest.raises(ConfigError, match="neither a run directory nor an experiment"):
        build(_target(tmp_path / "missing", tmp_path))
    with pytest.raises(ConfigError, match=r"was trained on (in_features|image_size)="):
        build(_target(source, tmp_path, "data=mnist", "data.classes=[5,6,7,8,9]"))
    with pytest.raises(ConfigError, match=r"data\.normalize=true"):
        build(_target(source, tmp_path, "data.normalize=false"))


def test_blocks_group_by_the_first_numeric_part() -> None:
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Sequential(torch.nn.Linear(2, 2)))
    groups = blocks(list(net.named_parameters()))
    assert [len(g) for g in groups] == [2, 2]


def test_an_autoencoders_encoder_loads_into_a_classifier(tmp_path) -> None:
    """The autoencoder's encoder with a new head (reset_head replaces the decoder)."""
    root = tmp_path / "ae"
    overrides = ["experiment=mnist_autoencoder", "data@data.base=digits", "debug=limit"]
    source = _train(
        compose_config([*overrides, f"paths.log_dir={root}", "logger=none"], root / "run")
    )
    run = build(_target(source, tmp_path, "transfer=frozen", "data.normalize=false"))
    loaded = _source_weights(source)
    encoder = {k: v for k, v in loaded.items() if k.startswith("encoder.")}
    state = run.net.state_dict()
    assert encoder and all(torch.equal(state[k], v) for k, v in encoder.items())
    # the decoder's place holds a classifier of the latent: 5 logits from 64 numbers
    head = [v.shape for k, v in state.items() if k.startswith("decoder.")]
    assert head == [(5, 64), (5,)]
    assert run.task(torch.zeros(2, 1, 8, 8)).shape == (2, 5)


def test_an_experiment_without_a_run_is_trained_first_in_this_process(
    tmp_path, monkeypatch
) -> None:
    import json
    import subprocess

    from hydra.core.hydra_config import HydraConfig

    from dlzoo.run.pipeline import train

    def no_subprocess(*args, **kwargs):
        raise AssertionError("the source must train in this process")

    monkeypatch.setattr(subprocess, "run", no_subprocess)
    monkeypatch.setattr(subprocess, "Popen", no_subprocess)
    cfg = compose_config(
        [
            "experiment=digits_mlp",
            f"paths.log_dir={tmp_path}",
            "init_from=digits_cnn",
            "transfer=frozen",
            "debug=limit",
            "logger=none",
        ]
    )
    outer = HydraConfig.get().runtime.choices.get("model")
    train(cfg)
    (source,) = (tmp_path / "digits_cnn" / "runs").iterdir()
    assert (source / "metrics.json").is_file()  # trained in full, before this run
    assert HydraConfig.get().runtime.choices.get("model") == outer  # this run's Hydra state
    metrics = json.loads((Path(cfg.paths.output_dir) / "metrics.json").read_text())
    assert metrics["model"] == "cnn" and Path(cfg.paths.output_dir).parent.parent.name == (
        "digits_mlp"
    )
