"""How much does dlzoo cost over a bare training loop?

Trains the same net on the same data for the same epochs, validating every epoch, three
ways, and prints each fit time as a ratio to the compute-only floor:

- ``floor``: pre-sliced in-memory tensors and the tightest loop PyTorch allows;
- ``textbook``: ``TensorDataset`` + ``DataLoader`` + default collate, the loop from
  the PyTorch tutorials;
- ``dlzoo``: ``dlzoo.run.pipeline.train`` with the experiment's own callbacks and logger
  (checkpoints, TensorBoard, progress bar), early stopping off so all run equally long.

All three use the experiment's optimizer (with dlzoo's decay groups), its scheduler,
and the datamodule's batch sizes (training and evaluation). The floor and the textbook
loop run the optimizer as PyTorch does by default; dlzoo runs it as its configs do
(fused kernels): that choice is one of dlzoo's own levers, and ``floor+fused`` shows
the tight loop with it too. ``--profile`` adds one dlzoo run under Lightning's simple
profiler and prints where its time goes per epoch. Usage::

    python scripts/bench.py                       # digits_cnn, 20 epochs, 3 repeats
    python scripts/bench.py --experiment mnist_cnn --epochs 5 --repeats 1
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from dlzoo.config.compose import compose_config
from dlzoo.optim import build_optimizer, build_scheduler
from dlzoo.run.pipeline import build, build_net, fit, train

Batches = Callable[[], Iterable[tuple[torch.Tensor, torch.Tensor]]]


def compose_cfg(experiment: str, epochs: int, out: Path) -> DictConfig:
    overrides = [
        f"experiment={experiment}",
        f"trainer.max_epochs={epochs}",
        "trainer.accelerator=cpu",
        "callbacks.early_stopping=null",
        f"paths.log_dir={out}",
    ]
    return compose_config(overrides, run_dir=out / "run")


def gather(loader: Iterable) -> tuple[torch.Tensor, torch.Tensor]:
    """All (already normalised) samples a dlzoo loader serves, as two tensors."""
    xs, ys = zip(*((b[0], b[1]) for b in loader), strict=True)
    return torch.cat(xs), torch.cat(ys)


def plain_fit(
    cfg: DictConfig, train_batches: Batches, val_batches: Batches, dm, fused: bool = False
) -> dict:
    """A hand-written loop: train an epoch, validate, step the scheduler."""
    torch.manual_seed(cfg.seed)
    net = build_net(cfg.model, dm)
    optimizer_cfg = OmegaConf.to_container(cfg.optimizer)
    if not fused:  # PyTorch's default kernel
        optimizer_cfg.pop("fused", None)
    optimizer = build_optimizer(instantiate(optimizer_cfg), net)
    scheduler = None
    if cfg.get("scheduler"):
        config = OmegaConf.to_container(cfg.scheduler, resolve=True)
        steps = cfg.trainer.max_epochs * sum(1 for _ in train_batches())
        scheduler = build_scheduler(config, optimizer, steps, cfg.trainer.max_epochs)
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    for _ in range(cfg.trainer.max_epochs):
        net.train()
        for x, y in train_batches():
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(net(x), y)
            loss.backward()
            optimizer.step()
            if scheduler and scheduler["interval"] == "step":
                scheduler["scheduler"].step()
        net.eval()
        correct = total = 0
        with torch.no_grad():
            for x, y in val_batches():
                correct += (net(x).argmax(-1) == y).sum().item()
                total += y.numel()
        if scheduler and scheduler["interval"] == "epoch":
            scheduler["scheduler"].step()
    return {"fit_seconds": time.perf_counter() - start, "val_acc": correct / total}


def run_floor(cfg: DictConfig, dm, data, fused: bool = False) -> dict:
    (xt, yt), (xv, yv) = data
    bs = cfg.data.batch_size

    def train_batches():
        perm = torch.randperm(len(xt))
        x, y = xt[perm], yt[perm]
        return ((x[i : i + bs], y[i : i + bs]) for i in range(0, len(x), bs))

    eb = dm.eval_batch_size  # validation batches as large as dlzoo's
    val = [(xv[i : i + eb], yv[i : i + eb]) for i in range(0, len(xv), eb)]
    return plain_fit(cfg, train_batches, lambda: val, dm, fused)


def run_textbook(cfg: DictConfig, dm, data) -> dict:
    (xt, yt), (xv, yv) = data
    bs = cfg.data.batch_size
    train_loader = DataLoader(TensorDataset(xt, yt), batch_size=bs, shuffle=True)
    val_loader = DataLoader(TensorDataset(xv, yv), batch_size=dm.eval_batch_size)
    return plain_fit(cfg, lambda: train_loader, lambda: val_loader, dm)


def run_dlzoo(cfg: DictConfig, out: Path) -> dict:
    with contextlib.redirect_stdout(io.StringIO()):  # the per-epoch lines
        train(cfg)
    metrics = json.loads((out / "run" / "metrics.json").read_text())
    return {"fit_seconds": metrics["fit_seconds"], "val_acc": metrics["val"].get("val/acc")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="digits_cnn")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="where dlzoo's time goes")
    args = parser.parse_args()
    logging.getLogger("lightning").setLevel(logging.WARNING)

    times: dict[str, list[float]] = {"floor": [], "textbook": [], "dlzoo": [], "floor+fused": []}
    accs: dict[str, list[float]] = {k: [] for k in times}
    for repeat in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            cfg = compose_cfg(args.experiment, args.epochs, out)
            dm = instantiate(cfg.data, _convert_="all")
            dm.prepare_data()
            dm.setup("fit")
            data = (gather(dm.train_dataloader()), gather(dm.val_dataloader()))
            # the order rotates so that no way always runs on a warm (or cold) machine
            ways = list(times)
            ways = ways[repeat % 4 :] + ways[: repeat % 4]
            for way in ways:
                if way == "dlzoo":
                    result = run_dlzoo(compose_cfg(args.experiment, args.epochs, out), out)
                elif way.startswith("floor"):
                    result = run_floor(cfg, dm, data, fused=way != "floor")
                else:
                    result = run_textbook(cfg, dm, data)
                times[way].append(result["fit_seconds"])
                accs[way].append(result["val_acc"])

    print(f"\n{args.experiment}: {args.epochs} epochs, validation every epoch, "
          f"{args.repeats} runs each, {torch.get_num_threads()} threads")  # fmt: skip
    # Paired: each run's ratio to the floor measured minutes apart on the same machine,
    # so a slow drift of the machine's speed cancels out.
    print(f"{'way':<10}{'median s':>10}{'best s':>8}{'x floor, paired median':>24}{'val acc':>9}")
    for way in times:
        paired = [t / f for t, f in zip(times[way], times["floor"], strict=True)]
        print(
            f"{way:<10}{statistics.median(times[way]):>10.2f}{min(times[way]):>8.2f}"
            f"{statistics.median(paired):>24.3f}{statistics.median(accs[way]):>9.3f}"
        )
    floor_ms = 1e3 * statistics.median(times["floor"]) / args.epochs
    dlzoo_ms = 1e3 * statistics.median(times["dlzoo"]) / args.epochs
    print(f"per epoch: floor {floor_ms:.1f} ms, dlzoo {dlzoo_ms:.1f} ms")
    if args.profile:
        profile(args.experiment, args.epochs)


def profile(experiment: str, epochs: int) -> None:
    """One dlzoo run under Lightning's simple profiler: ms per epoch of each action."""
    from lightning.pytorch.profilers import SimpleProfiler

    with tempfile.TemporaryDirectory() as tmp:
        cfg = compose_cfg(experiment, epochs, Path(tmp))
        run = build(cfg)
        run.trainer.profiler = profiler = SimpleProfiler()
        with contextlib.redirect_stdout(io.StringIO()):
            fit(run)
    rows = sorted(((sum(d), name) for name, d in profiler.recorded_durations.items()), reverse=True)
    print("\nwhere dlzoo's fit time goes (Lightning's simple profiler; nested actions overlap):")
    for total, name in rows[:14]:
        print(f"  {1e3 * total / epochs:8.2f} ms/epoch  {name}")


if __name__ == "__main__":
    main()
