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


def _device(task: Any) -> torch.device:
    """Where the task's weights are (the CPU for a net without any, the naive forecast)."""
    tensors = [*task.parameters(), *task.buffers()]
    return tensors[0].device if tensors else torch.device("cpu")


def predict_tensors(task: Any, inputs: Sequence[torch.Tensor], batch_size: int) -> torch.Tensor:
    """The task's predictions for in-memory net inputs, ``batch_size`` rows at a time.

    Batches are mappings (``x`` first, then e.g. ``lengths``), so the task splits them
    as unlabelled inputs. They go to the task's device, and the predictions come back
    to the CPU.

    An input that is not a tensor (a PyTorch Geometric graph batch, whose rows are
    nodes or graphs) goes to the task whole, as the datamodule made it.

    Shapes:
        inputs: tensors with N rows each -> (N, ...) what ``task.infer`` returns
    """
    device = _device(task)
    if not all(isinstance(t, torch.Tensor) for t in inputs):
        with torch.inference_mode():
            moved = (t.to(device) if hasattr(t, "to") else t for t in inputs)
            return task.infer(*moved).cpu()
    keys = ["x", *(f"input{i}" for i in range(1, len(inputs)))]
    outputs = []
    with torch.inference_mode():
        for i, start in enumerate(range(0, len(inputs[0]), batch_size)):
            batch = {
                k: t[start : start + batch_size].to(device)
                for k, t in zip(keys, inputs, strict=True)
            }
            outputs.append(task.predict_step(batch, i).cpu())
    return torch.cat(outputs)


def predict(
    run_dir: str | Path,
    input_path: str | Path,
    output: str | Path | None = None,
    ckpt_path: str | Path | None = None,
    batch_size: int | None = None,
    overrides: Sequence[str] = (),
) -> dict[str, Any]:
    """Predict ``input_path`` with the run in ``run_dir`` and write a CSV.

    Args:
        run_dir: a run directory.
        input_path: a file or folder of the run's kind of data.
        output: the CSV (default ``RUN/predictions/<input>.csv``).
        ckpt_path: a checkpoint; by default the run's best (or last) one.
        batch_size: inputs per forward pass; by default ``data.batch_size`` where the
            overrides set it, else 256.
        overrides: on top of the run's config, as for :func:`dlzoo.run.evaluate.evaluate`:
            ``data.batch_size=64``; ``trainer.accelerator=gpu`` (or ``trainer=gpu``)
            predicts on a GPU, the CPU otherwise.

    Returns:
        ``path`` (the CSV), ``rows`` (inputs predicted), ``seconds`` (model time) and
        ``predictions`` (the tensor the task returned).

    Raises:
        ConfigError, DataError: a bad run directory, checkpoint, override or input.
    """
    from dlzoo.errors import ConfigError
    from dlzoo.run.rebuild import rebuild

    run = rebuild(run_dir, ckpt_path or None, setup_data=False, trainer=False, overrides=overrides)
    size = batch_size if batch_size is not None else run.chosen.get("data.batch_size", 256)
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ConfigError(f"batch_size={size} must be a positive integer")
    given = read_inputs(run.datamodule, Path(input_path))
    start = time.perf_counter()
    predicted = predict_tensors(run.task, given.inputs, size)
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
