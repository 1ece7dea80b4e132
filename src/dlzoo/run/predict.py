"""A trained model on new data of its kind: the run rebuilt with the checkpoint's
fitted preprocessing (no training data is read), the raw input turned into net inputs
by the datamodule, and one CSV row per input.

``dlzoo-predict`` (:func:`predict`) and a notebook's ``Result.predict``
(:mod:`dlzoo.run.result`) share :func:`read_inputs` and :func:`predict_tensors`: a
file gives the same numbers either way.
"""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch


def read_inputs(datamodule: Any, raw: Any) -> Any:
    """New raw inputs as the net's inputs, preprocessed with the fitted state.

    Args:
        datamodule: a fitted datamodule (set up, or given its fitted state).
        raw: a path (``str`` or ``Path``) to a file or folder as ``dlzoo-predict`` takes
            it; or in-memory values the datamodule's ``predict_values`` takes (arrays or
            tensors in the data's own units, strings for text). For text data a ``str``
            that names no existing file or folder is a document.

    Returns:
        A :class:`dlzoo.data.base.PredictInputs`.

    Raises:
        DataError: a missing or unreadable file, or values of the wrong kind or shape.
    """
    if isinstance(raw, os.PathLike):
        return datamodule.predict_inputs(raw)
    if isinstance(raw, str):
        documents = getattr(datamodule, "strings_are_documents", False)
        if not documents or Path(raw).exists():
            return datamodule.predict_inputs(raw)
    return datamodule.predict_values(raw)


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
    from dlzoo.run.rebuild import rebuild

    run = rebuild(run_dir, ckpt_path or None, setup_data=False, trainer=False)
    given = read_inputs(run.datamodule, Path(input_path))
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
