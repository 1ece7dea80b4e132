"""Parameter groups and every scheduler config."""

from __future__ import annotations

import functools
import math

import pytest
import torch
from omegaconf import OmegaConf
from torch import nn

from dlzoo.config.compose import CONFIG_DIR
from dlzoo.errors import ConfigError
from dlzoo.optim import WarmupCosine, build_optimizer, build_scheduler, param_groups


def small_net() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 4, 3),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Flatten(),
        nn.LayerNorm(4 * 6 * 6),
        nn.Linear(4 * 6 * 6, 3),
    )


def test_weight_decay_only_on_weights() -> None:
    net = small_net()
    decay, no_decay = param_groups(net, weight_decay=0.1)
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    decay_ids = {id(p) for p in decay["params"]}
    no_decay_ids = {id(p) for p in no_decay["params"]}
    assert decay_ids == {id(net[0].weight), id(net[5].weight)}
    assert no_decay_ids == {
        id(net[0].bias),
        id(net[1].weight),
        id(net[1].bias),
        id(net[4].weight),
        id(net[4].bias),
        id(net[5].bias),
    }
    # every trainable parameter is in exactly one group
    assert len(decay_ids | no_decay_ids) == sum(1 for _ in net.parameters())


def test_decay_really_spares_biases() -> None:
    net = nn.Linear(2, 2)
    opt = build_optimizer(functools.partial(torch.optim.SGD, lr=0.1, weight_decay=0.5), net)
    w0, b0 = net.weight.detach().clone(), net.bias.detach().clone()
    net.zero_grad()
    for p in net.parameters():  # zero gradient: only the decay moves a parameter
        p.grad = torch.zeros_like(p)
    opt.step()
    assert torch.allclose(net.weight, w0 * (1 - 0.1 * 0.5))
    assert torch.equal(net.bias, b0)


def test_frozen_parameters_are_left_out() -> None:
    net = small_net()
    net[0].weight.requires_grad_(False)
    ids = {id(p) for g in param_groups(net, 0.1) for p in g["params"]}
    assert id(net[0].weight) not in ids


SCHEDULERS = sorted(p.stem for p in (CONFIG_DIR / "scheduler").glob("*.yaml"))


@pytest.mark.parametrize("name", SCHEDULERS)
def test_every_scheduler_steps(name: str) -> None:
    config = OmegaConf.to_container(
        OmegaConf.merge(
            {"optimizer": {"lr": 0.1}},
            {"scheduler": OmegaConf.load(CONFIG_DIR / "scheduler" / f"{name}.yaml")},
        ),
        resolve=True,
    )["scheduler"]
    net = nn.Linear(3, 1)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    out = build_scheduler(config, optimizer, total_steps=50, max_epochs=5)
    scheduler = out["scheduler"]
    assert out["interval"] in ("epoch", "step")
    lrs = []
    for _ in range(10):
        optimizer.step()
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            scheduler.step(1.0)  # a loss that never improves
        else:
            scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    assert all(math.isfinite(lr) and lr >= 0 for lr in lrs)
    assert len(set(lrs)) > 1, f"{name}: learning rate never changed: {lrs}"


def test_onecycle_total_steps_come_from_the_trainer() -> None:
    optimizer = torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1, momentum=0.9)
    config = {
        "_target_": "torch.optim.lr_scheduler.OneCycleLR",
        "max_lr": 0.1,
        "total_steps": None,
        "interval": "step",
    }
    out = build_scheduler(config, optimizer, total_steps=37, max_epochs=1)
    assert out["scheduler"].total_steps == 37
    for _ in range(37):
        optimizer.step()
        out["scheduler"].step()
    with pytest.raises(ValueError):  # one step past the derived total
        out["scheduler"].step()


def test_cosine_t_max_per_interval() -> None:
    optimizer = torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1)
    config = {"_target_": "torch.optim.lr_scheduler.CosineAnnealingLR", "T_max": None}
    assert build_scheduler(config, optimizer, 200, 10)["scheduler"].T_max == 10
    config["interval"] = "step"
    assert build_scheduler(config, optimizer, 200, 10)["scheduler"].T_max == 200


def test_warmup_cosine_by_hand() -> None:
    optimizer = torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=1.0)
    sched = WarmupCosine(optimizer, warmup_steps=3, total_steps=7, min_lr_ratio=0.0)
    lrs = [optimizer.param_groups[0]["lr"]]
    for _ in range(7):
        optimizer.step()
        sched.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    # warmup (t+1)/(w+1), then 0.5 * (1 + cos(pi * (t - w) / (T - w)))
    expected = [
        0.25,
        0.5,
        0.75,
        1.0,
        0.5 * (1 + math.cos(math.pi / 4)),
        0.5,
        0.5 * (1 + math.cos(3 * math.pi / 4)),
        0.0,
    ]
    assert lrs == pytest.approx(expected, abs=1e-9)


def test_plateau_needs_monitor_and_lengths_need_epochs() -> None:
    optimizer = torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1)
    with pytest.raises(ConfigError, match="monitor"):
        build_scheduler(
            {"_target_": "torch.optim.lr_scheduler.ReduceLROnPlateau"}, optimizer, 10, 1
        )
    with pytest.raises(ConfigError, match="max_epochs"):
        build_scheduler(
            {"_target_": "torch.optim.lr_scheduler.OneCycleLR", "max_lr": 0.1, "total_steps": None},
            optimizer,
            float("inf"),
            -1,
        )
    with pytest.raises(ConfigError, match="interval"):
        build_scheduler(
            {"_target_": "torch.optim.lr_scheduler.StepLR", "step_size": 1, "interval": "batch"},
            optimizer,
            10,
            1,
        )


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("Adam", {"lr": 1e-2}),
        ("AdamW", {"lr": 1e-2, "weight_decay": 0.1}),
        ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ],
)
def test_fused_optimizers_match_the_unfused_ones(name: str, kwargs: dict) -> None:
    from functools import partial

    from dlzoo.models import create_model

    results = []
    for fused in (False, True):
        torch.manual_seed(0)
        net = create_model("cnn", in_channels=1, num_classes=3, image_size=(8, 8))
        optimizer = build_optimizer(partial(getattr(torch.optim, name), fused=fused, **kwargs), net)
        x, y = torch.randn(16, 1, 8, 8), torch.randint(0, 3, (16,))
        for _ in range(5):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(net(x), y).backward()
            optimizer.step()
        results.append(torch.cat([p.detach().flatten() for p in net.parameters()]))
    assert torch.allclose(results[0], results[1], rtol=1e-5, atol=1e-6)
