"""How long do dlzoo's entry points take to start, next to importing Lightning alone?

Each measurement is the median wall time of ``--repeats`` fresh subprocesses (so every
import is paid again), run in a temporary directory with ``DLZOO_LOG_DIR`` pointing
there:

- ``import``: ``python -c "import lightning.pytorch"``, the floor any Lightning
  program pays before it does anything;
- ``train``: ``python scripts/train.py experiment=EXP logger=LOGGER`` minus the run's
  own ``fit_seconds`` (from its ``metrics.json``): everything but the training loop,
  i.e. imports, config composition, the build, scoring, baselines and reporting;
- ``predict``: ``dlzoo-predict run_dir=RUN input=ONE.png`` on one digit image, against
  a run trained first (outside the timing);
- ``import_quick``: ``import lightning.pytorch`` then ``gc.freeze()``, for reference:
  the floor with the interpreter teardown that dlzoo's console scripts skip
  (:func:`dlzoo.cli.frame.quick_exit`), so the ratios can be read both ways.

The ratio column is to ``import``; the targets for train and predict are 1.2 or less.
The train runs use ``logger=none`` unless ``--logger`` says otherwise: TensorBoard's
import and event files are the logger's cost, not start-up. Run it on an otherwise idle
machine; the measurements are interleaved so that a change in load touches all alike.
Usage::

    python scripts/bench_startup.py                 # digits_cnn, logger=none, 5 repeats
    python scripts/bench_startup.py --repeats 3 --logger tensorboard
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
PREDICT = str(Path(PYTHON).with_name("dlzoo-predict"))
IMPORT = "import lightning.pytorch"


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Wall seconds of one subprocess run; a failed run stops the benchmark."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return seconds


def newest_run(log_dir: Path) -> Path:
    """The run directory whose ``metrics.json`` was written last."""
    return max(log_dir.rglob("metrics.json"), key=lambda p: p.stat().st_mtime).parent


def digit_png(path: Path) -> Path:
    """One scikit-learn digit as an 8-bit grayscale PNG (what a user would pass)."""
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    pixels = load_digits().images[0] / 16.0 * 255.0
    Image.fromarray(pixels.astype(np.uint8)).save(path)
    return path


def train_seconds(cmd: list[str], tmp: Path, env: dict[str, str]) -> float:
    """Wall seconds of one training run minus the fit time it reported."""
    wall = timed(cmd, tmp, env)
    fit = json.loads((newest_run(tmp / "logs") / "metrics.json").read_text())["fit_seconds"]
    return wall - float(fit)


def measure(args: argparse.Namespace, tmp: Path) -> dict[str, list[float]]:
    """Per-repeat seconds of every measurement, interleaved so that drift in the
    machine's load touches all alike."""
    env = {**os.environ, "DLZOO_LOG_DIR": str(tmp / "logs")}
    train = [PYTHON, str(REPO / "scripts" / "train.py"), f"experiment={args.experiment}"]
    train.append(f"logger={args.logger}")
    png = digit_png(tmp / "one.png")
    timed(train, tmp, env)  # the run to predict with, and warm file caches
    predict = [PREDICT, f"run_dir={newest_run(tmp / 'logs')}", f"input={png}"]
    quick = [PYTHON, "-c", f"{IMPORT}, gc; gc.freeze()"]
    out: dict[str, list[float]] = {"import": [], "train": [], "predict": [], "import_quick": []}
    for _ in range(args.repeats):
        out["import"].append(timed([PYTHON, "-c", IMPORT], tmp, env))
        out["train"].append(train_seconds(train, tmp, env))
        out["predict"].append(timed(predict, tmp, env))
        out["import_quick"].append(timed(quick, tmp, env))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--experiment", default="digits_cnn")
    parser.add_argument("--logger", default="none", help="logger option of the train runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        seconds = measure(args, Path(tmp))
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    print(f"experiment={args.experiment} logger={args.logger} repeats={args.repeats}")
    print(f"{'':12} {'median s':>9} {'ratio':>6}  all s")
    for name, values in seconds.items():
        ratio = medians[name] / medians["import"]
        spread = " ".join(f"{v:.2f}" for v in values)
        print(f"{name:12} {medians[name]:9.2f} {ratio:6.2f}  {spread}")


if __name__ == "__main__":
    main()
