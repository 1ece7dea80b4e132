"""Benchmark the datastreamer: flat memory as the data grows, and its epoch time.

(a) Peak resident memory (``ru_maxrss``) of a child process that checks the shards'
    checksums, fits the preprocessing in one pass and trains one epoch through
    ``StreamingDataModule`` on generated image datasets of each ``--sizes`` (GB on disk;
    3x64x64 8-bit images, 10 classes, gzip shards), written under a
    temporary folder that is deleted afterwards. Prints both peaks, their difference in
    % of the smaller (target < 20 %) and whether both stay under 1 GB.
(b) Fit time per epoch of ``experiment=mnist_cnn`` (in memory) against
    ``experiment=mnist_streaming`` (the same run through the datastreamer; the shards
    are written before the timing starts), from their ``metrics.json`` (target <= 1.5 x).

The real measurement (on an idle machine)::

    OMP_NUM_THREADS=1 python scripts/bench_streaming.py --sizes 0.5,4

A quick check that it works: ``--sizes 0.01,0.02 --mnist-epochs 1``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

SHAPE, CLASSES = (3, 64, 64), 10
SOURCE = {  # predict_inputs of such images: an image folder's reader (never read here)
    "_target_": "dlzoo.data.image.folder.ImageFolderDataModule",
    "root": "unused",
    "image_size": [SHAPE[1], SHAPE[2]],
}


def _images(n: int, seed: int) -> Iterator[tuple[np.ndarray, np.int64]]:
    rng = np.random.default_rng(seed)
    for _ in range(n):
        label = rng.integers(CLASSES)
        # 8-bit pixels as they are: the streamed batches are scaled to float32 anyway
        yield rng.integers(0, 64, SHAPE, dtype=np.uint8) + np.uint8(label * 19), np.int64(label)


def generate(root: Path, gigabytes: float) -> int:
    """Write ~``gigabytes`` GB of gzip shards; returns the bytes written."""
    from dlzoo.data.streaming import write as streaming_write
    from dlzoo.data.streaming.sources import ShardSource

    # gzip level 1 writes the gigabytes several times faster; reading is the same
    streaming_write.GZIP_LEVEL = 1
    probe = b"".join(x.tobytes() for x, _ in _images(64, 0))
    per_sample = len(gzip.compress(probe, 1)) / 64 + 1024  # + tar headers
    n = max(300, int(gigabytes * 1e9 / per_sample))
    counts = {"train": n - 2 * (n // 100), "val": n // 100, "test": n // 100}

    def samples():
        for number, (stage, count) in enumerate(counts.items()):
            yield from ((stage, s) for s in _images(count, number))

    c, h, w = SHAPE
    source = ShardSource(
        kind="image",
        name="image_folder",
        batch_fields=2,
        fit={"field": 0, "channel_axis": 0, "kind": "standard", "targets": 0},
        net_kwargs={"in_channels": c, "image_size": [h, w], "in_features": c * h * w,
                    "num_classes": CLASSES},
        task_kwargs={},
        class_names=[str(k) for k in range(CLASSES)],
        fitted_template={"name": "image_folder", "class_names": [str(k) for k in range(CLASSES)],
                         "image_size": [h, w], "scaler": None},
        samples=samples,
    )  # fmt: skip
    streaming_write.write_source(source, SOURCE, root, samples_per_shard=2000)
    return sum(p.stat().st_size for p in root.iterdir())


def child_train(root: str) -> None:
    """One epoch through the datastreamer; prints the peak RSS in MB as JSON."""
    import lightning as L
    import torch

    from dlzoo.data.streaming.datamodule import StreamingDataModule

    class Linear(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = torch.nn.Linear(int(np.prod(SHAPE)), CLASSES)

        def training_step(self, batch, batch_idx):
            x, y = batch
            return torch.nn.functional.cross_entropy(self.net(x.flatten(1)), y)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.01)

    dm = StreamingDataModule(root, batch_size=64, seed=0)
    start = time.perf_counter()
    trainer = L.Trainer(max_epochs=1, accelerator="cpu", logger=False, limit_val_batches=0,
                        enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False)  # fmt: skip
    trainer.fit(Linear(), datamodule=dm)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux
    print(json.dumps({"peak_mb": peak_mb, "seconds": time.perf_counter() - start,
                      "steps": trainer.global_step}))  # fmt: skip


def memory(sizes: list[float]) -> None:
    peaks = []
    for gigabytes in sizes:
        tmp = Path(tempfile.mkdtemp(prefix="dlzoo-bench-streaming-"))
        try:
            start = time.perf_counter()
            written = generate(tmp / "shards", gigabytes)
            made = time.perf_counter() - start
            out = subprocess.run(
                [sys.executable, __file__, "--child-train", str(tmp / "shards")],
                check=True, capture_output=True, text=True,
            ).stdout  # fmt: skip
            result = json.loads(out.strip().splitlines()[-1])
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        peaks.append(result["peak_mb"])
        print(f"{written / 1e9:.3f} GB on disk (written in {made:.0f} s): peak RSS "
              f"{result['peak_mb']:.0f} MB over {result['steps']} steps "
              f"({result['seconds']:.0f} s)")  # fmt: skip
    low, high = min(peaks), max(peaks)
    growth = 100 * (high - low) / low
    print(f"peak RSS differs by {growth:.1f} % (target < 20 %): "
          f"{'ok' if growth < 20 else 'MISSED'}; all under 1 GB: "
          f"{'yes' if high < 1024 else 'NO'}")  # fmt: skip


def _fit_seconds(experiment: str, epochs: int, tmp: Path) -> float:
    from dlzoo.config.compose import compose_config
    from dlzoo.run.pipeline import train

    run = tmp / experiment
    overrides = [f"experiment={experiment}", f"trainer.max_epochs={epochs}", "test=false",
                 f"paths.log_dir={tmp}", f"paths.data_dir={tmp / 'data'}"]  # fmt: skip
    train(compose_config(overrides, run))
    return json.loads((run / "metrics.json").read_text())["fit_seconds"]


def epoch_time(epochs: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="dlzoo-bench-mnist-"))
    try:
        memory_s = _fit_seconds("mnist_cnn", epochs, tmp) / epochs
        streaming_s = _fit_seconds("mnist_streaming", epochs, tmp) / epochs
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ratio = streaming_s / memory_s
    print(f"MNIST epoch: in memory {memory_s:.2f} s, streaming {streaming_s:.2f} s: "
          f"{ratio:.2f} x (target <= 1.5 x): {'ok' if ratio <= 1.5 else 'MISSED'}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="0.5,4", help="dataset sizes in GB on disk")
    parser.add_argument("--mnist-epochs", type=int, default=3, help="epochs timed per run")
    parser.add_argument("--child-train", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_train:
        child_train(args.child_train)
        return
    memory([float(s) for s in args.sizes.split(",")])
    epoch_time(args.mnist_epochs)


if __name__ == "__main__":
    main()
