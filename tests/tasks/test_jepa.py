"""JEPA task: the moving average by hand, the target encoder outside every optimizer
group and untouched by backward passes, seeded disjoint masks, and a short real training
that lowers the JEPA loss."""

from __future__ import annotations

import functools

import lightning as L
import pytest
import torch
from torch import nn

from dlzoo.data.image.packaged import DigitsDataModule
from dlzoo.errors import ConfigError
from dlzoo.models.jepa import JEPAEncoder
from dlzoo.tasks.jepa import JEPATask, ema_update, momentum_at
from dlzoo.tasks.jepa_masks import block_mask

ADAMW = functools.partial(torch.optim.AdamW, lr=3e-3, weight_decay=0.05)


def make_task(**kwargs: object) -> JEPATask:
    torch.manual_seed(0)
    net = JEPAEncoder(1, 8, patch_size=2, d_model=16, num_heads=2, num_layers=2, num_classes=10)
    options = {"predictor_width": 8, "predictor_heads": 2, "predictor_layers": 1}
    return JEPATask(net, ADAMW, **{**options, **kwargs})  # type: ignore[arg-type]


def test_ema_update_by_hand() -> None:
    target, online = nn.Linear(2, 1), nn.Linear(2, 1)
    with torch.no_grad():
        target.weight.copy_(torch.tensor([[1.0, 2.0]]))
        target.bias.fill_(0.0)
        online.weight.copy_(torch.tensor([[3.0, -2.0]]))
        online.bias.fill_(1.0)
    ema_update(target, online, momentum=0.9)
    # 0.9 * [1, 2] + 0.1 * [3, -2] and 0.9 * 0 + 0.1 * 1
    torch.testing.assert_close(target.weight, torch.tensor([[1.2, 1.6]]))
    torch.testing.assert_close(target.bias, torch.tensor([0.1]))
    ema_update(target, online, momentum=1.0)  # momentum 1 keeps the target
    torch.testing.assert_close(target.bias, torch.tensor([0.1]))


def test_momentum_ramps_linearly_and_stays_without_a_length() -> None:
    assert momentum_at(0, 100, 0.99, 1.0) == 0.99
    assert momentum_at(50, 100, 0.99, 1.0) == pytest.approx(0.995)
    assert momentum_at(100, 100, 0.99, 1.0) == momentum_at(500, 100, 0.99, 1.0) == 1.0
    assert momentum_at(50, float("inf"), 0.99, 1.0) == 0.99


def test_the_target_encoder_is_in_no_optimizer_group() -> None:
    task = make_task()
    optimizer = task.configure_optimizers()  # no scheduler: the optimizer alone
    optimized = {id(p) for group in optimizer.param_groups for p in group["params"]}
    target = {id(p) for p in task.target_encoder.parameters()}
    assert target and not target & optimized
    assert not any(p.requires_grad for p in task.target_encoder.parameters())
    trained = {id(p) for p in [*task.net.parameters(), *task.predictor.parameters()]}
    assert optimized == trained


def test_a_backward_pass_leaves_the_target_encoder_alone() -> None:
    task = make_task()
    before = {k: v.clone() for k, v in task.target_encoder.state_dict().items()}
    x = torch.rand(4, 1, 8, 8)
    loss = task._shared_step((x, torch.zeros(4, dtype=torch.long)), "train")
    loss.backward()
    assert all(p.grad is None for p in task.target_encoder.parameters())
    assert task.net.patch_embedding.weight.grad is not None
    assert task.predictor.mask_token.grad is not None
    for key, value in task.target_encoder.state_dict().items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)


def fit(task: JEPATask, dm: DigitsDataModule, **trainer: object) -> L.Trainer:
    options = {
        "max_epochs": 1,
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "accelerator": "cpu",
    }
    run = L.Trainer(**{**options, **trainer})  # type: ignore[arg-type]
    run.fit(task, datamodule=dm)
    return run


@pytest.fixture(scope="module")
def digits() -> DigitsDataModule:
    dm = DigitsDataModule(batch_size=64, seed=0)
    dm.prepare_data()
    dm.setup("fit")
    return dm


def test_the_target_follows_the_net_after_each_optimizer_step(digits: DigitsDataModule) -> None:
    task = make_task(momentum=0.5, momentum_end=0.5)
    start = [p.detach().clone() for p in task.net.parameters()]
    fit(task, digits, limit_train_batches=1, limit_val_batches=0)  # one optimizer step
    for first, net, target in zip(
        start, task.net.parameters(), task.target_encoder.parameters(), strict=True
    ):
        # the target began as the net, then one average with the net after its step
        torch.testing.assert_close(target, 0.5 * first + 0.5 * net.detach())
    assert not torch.equal(task.net.patch_embedding.weight, start[0])


def test_masks_are_seeded_disjoint_and_cover_the_grid() -> None:
    def draw(seed: int, blocks: int = 4, grid: tuple[int, int] = (7, 7)):
        return block_mask(
            grid, blocks, (0.15, 0.2), (0.75, 1.5), torch.Generator().manual_seed(seed)
        )

    first, again, other = draw(1), draw(1), draw(2)
    assert torch.equal(first.context, again.context) and torch.equal(first.target, again.target)
    assert not torch.equal(first.target, other.target)
    for mask in (first, other, draw(3, blocks=9, grid=(2, 2)), draw(4, blocks=1, grid=(1, 2))):
        union = torch.cat([mask.context, mask.target]).sort().values
        count = union.numel()
        assert torch.equal(union, torch.arange(count))  # disjoint and covering
        assert mask.context.numel() >= 1 and mask.target.numel() >= 1
    # one block is one rectangle of 15-20 % of the 49 patches (after rounding its sides)
    block = draw(5, blocks=1).target
    rows, cols = block // 7, block % 7
    height, width = int(rows.max() - rows.min()) + 1, int(cols.max() - cols.min()) + 1
    assert height * width == block.numel() and 4 <= block.numel() <= 12


def test_validation_masks_repeat_every_epoch_and_training_masks_change() -> None:
    task = make_task()
    task.reseed_masks("val")
    val = task.draw_mask("val").target
    task.reseed_masks("val")
    assert torch.equal(task.draw_mask("val").target, val)
    epochs = []
    for epoch in range(3):
        task.reseed_masks("train", epoch)
        epochs.append(tuple(task.draw_mask("train").target.tolist()))
    assert len(set(epochs)) > 1


def test_bad_jepa_options_are_one_clear_error() -> None:
    with pytest.raises(ConfigError, match="use model=jepa"):
        JEPATask(nn.Linear(64, 10), ADAMW)
    with pytest.raises(ConfigError, match="target_scale"):
        make_task(target_scale=(0.5, 1.5))
    with pytest.raises(ConfigError, match="momentum_end"):
        make_task(momentum=0.999, momentum_end=0.99)
    with pytest.raises(ConfigError, match="valid: huber, mse, mae"):
        make_task(loss="cross_entropy")
    one_patch = JEPAEncoder(1, 8, patch_size=8, d_model=8, num_heads=2)
    with pytest.raises(ConfigError, match="at least 2 patches"):
        JEPATask(one_patch, ADAMW)


def test_embeddings_are_the_target_encoders_pooled_patches() -> None:
    task = make_task().eval()
    x = torch.rand(3, 1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(task.embed(x), task.target_encoder.forward_features(x))
        assert task.infer(x).shape == (3, 16)
    header, rows = task.prediction_table(["a", "b", "c"], task.infer(x), None)
    assert header[:2] == ["input", "z_0"] and len(header) == 17 and len(rows) == 3


def test_a_short_training_lowers_the_jepa_loss(digits: DigitsDataModule) -> None:
    task = make_task()
    check = L.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False)
    before = check.validate(task, datamodule=digits, verbose=False)[0]["val/loss"]
    fit(task, digits, max_epochs=8)
    after = check.validate(task, datamodule=digits, verbose=False)[0]["val/loss"]
    assert after < 0.7 * before, (before, after)
