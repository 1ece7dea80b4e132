"""``dlzoo-predict run_dir=RUN input=PATH [output=FILE]``: a trained model on new data.

The run is rebuilt from its directory with the checkpoint's fitted preprocessing (no
training data is read); the datamodule turns the raw input (image files or a folder,
a CSV series, a UCR-style array file, video clips, a graph's node and edge tables, a TU
folder) into the net's inputs; the task's
``predict_step`` gives what a user wants: per-class probabilities, the next ``horizon``
values in the series' own units, an encoder's embeddings, an anomaly score and flag;
the task's ``prediction_table`` lays them out. One CSV is written and its path printed.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

USAGE = """
dlzoo-predict run_dir=RUN input=PATH [output=FILE.csv] [ckpt_path=FILE] [batch_size=256]

Run a trained model on new data of its kind: image files or a folder of them (class and
per-class probabilities; an encoder run's embeddings z_0..; an anomaly run's score and
flag), a CSV series (the next horizon values in the series' units), a UCR-style .npy
array (N, C, T), video clips (.npy (T, C, H, W), a stack of them or a folder), a graph
(a folder with nodes.csv and edges.csv: a row per node) or a TU folder of graphs (a row
per graph). Writes a CSV (default RUN/predictions/<input>.csv).
"""
DEFAULTS: dict[str, Any] = {
    "run_dir": "",
    "input": "",
    "output": "",
    "ckpt_path": "",
    "batch_size": "256",
}


def predict_tensors(task: Any, inputs: Sequence[torch.Tensor], batch_size: int) -> torch.Tensor:
    """The task's predictions for in-memory net inputs, ``batch_size`` rows at a time.

    Batches are mappings (``x`` first, then e.g. ``lengths``), so the task splits them
    as unlabelled inputs.

    An input that is not a tensor (a PyTorch Geometric graph batch, whose rows are
    nodes or graphs) goes to the task whole, as the datamodule made it.

    Shapes:
        inputs: tensors with N rows each -> (N, ...) what ``task.infer`` returns
    """
    if not all(isinstance(t, torch.Tensor) for t in inputs):
        with torch.inference_mode():
            return task.infer(*inputs)
    keys = ["x", *(f"input{i}" for i in range(1, len(inputs)))]
    outputs = []
    with torch.inference_mode():
        for i, start in enumerate(range(0, len(inputs[0]), batch_size)):
            batch = {k: t[start : start + batch_size] for k, t in zip(keys, inputs, strict=True)}
            outputs.append(task.predict_step(batch, i))
    return torch.cat(outputs)


def predict(
    run_dir: str | Path,
    input_path: str | Path,
    output: str | Path | None = None,
    ckpt_path: str | Path | None = None,
    batch_size: int = 256,
) -> dict[str, Any]:
    """Predict ``input_path`` with the run in ``run_dir`` and write a CSV.

    Returns:
        ``path`` (the CSV), ``rows`` (inputs predicted), ``seconds`` (model time) and
        ``predictions`` (the tensor the task returned).

    Raises:
        ConfigError, DataError: a bad run directory, checkpoint or input.
    """
    from dlzoo.artefacts import rebuild

    run = rebuild(run_dir, ckpt_path or None, setup_data=False, trainer=False)
    given = run.datamodule.predict_inputs(input_path)
    start = time.perf_counter()
    predicted = predict_tensors(run.task, given.inputs, int(batch_size))
    seconds = time.perf_counter() - start
    header, rows = run.task.prediction_table(list(given.names), predicted, run.datamodule)
    path = (
        Path(output) if output else Path(run_dir) / "predictions" / f"{Path(input_path).stem}.csv"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    tmp.replace(path)
    return {"path": path, "rows": len(given.names), "seconds": seconds, "predictions": predicted}


def main() -> None:
    """Console script ``dlzoo-predict``."""
    from dlzoo.cli import run_entry
    from dlzoo.errors import ConfigError

    def action(args: dict[str, Any]) -> None:
        if not str(args["batch_size"]).isdigit() or int(args["batch_size"]) < 1:
            raise ConfigError(f"batch_size={args['batch_size']} must be a positive integer")
        out = predict(
            args["run_dir"],
            args["input"],
            args["output"] or None,
            args["ckpt_path"] or None,
            int(args["batch_size"]),
        )
        rate = out["rows"] / out["seconds"] if out["seconds"] > 0 else float("inf")
        print(f"predictions: {out['path']} ({out['rows']} inputs, {rate:.0f} per second)")

    run_entry(USAGE, DEFAULTS, {"run_dir", "input"}, action)


if __name__ == "__main__":
    main()
