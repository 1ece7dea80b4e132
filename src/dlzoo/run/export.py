"""``dlzoo-export run_dir=RUN format=onnx|torchscript``: a run's model as one file.

The exported module is the whole path from raw input to answer: the datamodule's
fitted tensor preprocessing (e.g. per-channel normalisation, the series scaler), the
net, and the task's own steps around it (``window_norm``, scaling forecasts back to
the series' units, softmax over classes). The batch size is dynamic. After writing,
the file is run on an example batch and compared with PyTorch: ONNX through ONNX
Runtime, TorchScript through ``torch.jit.load``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dlzoo.errors import ConfigError

FORMATS = {"onnx": ".onnx", "torchscript": ".pt"}


# the largest difference from PyTorch that an export may show on the example batch
TOLERANCE = 1e-4


# the exported graph's inputs, in the net's order
INPUT_NAMES = ["input", "lengths"]


class InferenceModel(nn.Module):
    """Raw input -> what a user gets: ``task.infer(preprocess(x, lengths), lengths)``.

    Args:
        preprocess: the datamodule's fitted tensor preprocessing; it takes every net
            input and returns the first one transformed (the others, e.g. ``lengths``,
            reach the net unchanged).
        task: the trained task (its ``infer`` holds the steps around the net).

    Shapes:
        x: a raw batch, e.g. (B, C, H, W) pixels in [0, 1] -> (B, num_classes); a
        window (B, window, input_size) in the series' units -> (B, horizon,
        output_size); token ids (B, T) with lengths (B,) -> (B, num_classes)
    """

    def __init__(self, preprocess: nn.Module, task: nn.Module) -> None:
        super().__init__()
        self.preprocess = preprocess
        self.task = task

    # named inputs, not *extra: the exporter matches them to the dynamic axes by name
    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        extra = () if lengths is None else (lengths,)
        return self.task.infer(self.preprocess(x, *extra), *extra)


def _sequences(first: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``(first, lengths)``: sequences of random lengths, zero after each (one is full)."""
    batch, steps = first.shape[:2]
    lengths = torch.randint(1, steps + 1, (batch,), generator=gen)
    lengths[0] = steps
    padded = torch.arange(steps)[None, :] >= lengths[:, None]  # (B, T)
    shape = padded.shape + (1,) * (first.ndim - 2)
    return first.masked_fill(padded.reshape(shape), 0), lengths


def example_input(
    net_kwargs: dict[str, Any], batch_size: int = 4, steps: int = 12
) -> tuple[torch.Tensor, ...]:
    """Raw example inputs of the kind the run's data has, from its shape facts.

    Images and forecasting windows are one tensor; token ids and unforecast sequences
    come with their ``lengths`` (``steps`` long at most, a dynamic axis).

    Raises:
        ConfigError: the kind cannot be told from the facts.
    """
    gen = torch.Generator().manual_seed(0)
    if "image_size" in net_kwargs and "in_channels" in net_kwargs:
        shape = (batch_size, int(net_kwargs["in_channels"]), *map(int, net_kwargs["image_size"]))
        return (torch.rand(shape, generator=gen),)
    if "window" in net_kwargs and "input_size" in net_kwargs:
        shape = (batch_size, int(net_kwargs["window"]), int(net_kwargs["input_size"]))
        return (torch.randn(shape, generator=gen),)
    if "vocab_size" in net_kwargs:
        vocab = int(net_kwargs["vocab_size"])
        return _sequences(torch.randint(1, vocab, (batch_size, steps), generator=gen), gen)
    if "input_size" in net_kwargs:
        shape = (batch_size, steps, int(net_kwargs["input_size"]))
        return _sequences(torch.randn(shape, generator=gen), gen)
    raise ConfigError(
        f"cannot tell the input of this run from {', '.join(net_kwargs)}: export supports "
        "image, forecasting, sequence and text runs"
    )


def _onnx(model: nn.Module, example: tuple[torch.Tensor, ...], path: Path) -> None:
    try:
        import onnxruntime  # noqa: F401  (checked before the export's work)
    except ImportError:
        raise ConfigError(
            "format=onnx needs onnx, onnxscript and onnxruntime: pip install -e '.[export]'"
        ) from None
    batch = torch.export.Dim("batch", min=1)
    # a sequence's time axis is dynamic too (its lengths come as the second input)
    dims = [{0: batch}] if len(example) == 1 else [{0: batch, 1: torch.export.Dim("steps")}]
    dims += [{0: batch}] * (len(example) - 1)
    try:
        torch.onnx.export(
            model,
            example,
            str(path),
            input_names=INPUT_NAMES[: len(example)],
            output_names=["output"],
            dynamic_shapes=tuple(dims),
            dynamo=True,
            verbose=False,
        )
    # the exporter raises many kinds (export, conversion, type errors); all mean the
    # same to a user: this net does not export to ONNX (e.g. packed recurrent nets)
    except Exception as exc:
        raise ConfigError(
            f"the ONNX exporter cannot export this net ({_root_cause(exc)}): use format=torchscript"
        ) from None


def _root_cause(exc: BaseException) -> str:
    """The first line of the innermost cause (the exporter wraps it in steps and colours)."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return f"{type(exc).__name__}: {line[:200]}"


def _torchscript(model: nn.Module, example: tuple[torch.Tensor, ...], path: Path) -> None:
    # Lightning's own flag for this: without it, copying the task into the traced
    # module reads its `trainer` property, which raises outside a Trainer
    model.task._jit_is_scripting = True
    try:
        traced = torch.jit.trace(model, example, check_trace=False)
    finally:
        model.task._jit_is_scripting = False
    traced.save(str(path))


def _run_onnx(path: Path, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {name: t.numpy() for name, t in zip(INPUT_NAMES, inputs, strict=False)}
    return torch.from_numpy(session.run(None, feed)[0])


def _run_torchscript(path: Path, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
    return torch.jit.load(str(path))(*inputs)


# format -> (write the file, run the file)
WRITERS = {"onnx": (_onnx, _run_onnx), "torchscript": (_torchscript, _run_torchscript)}


def export(
    run_dir: str | Path,
    fmt: str = "onnx",
    output: str | Path | None = None,
    ckpt_path: str | Path | None = None,
) -> dict[str, Any]:
    """Export the run in ``run_dir``; check the file against PyTorch.

    Returns:
        ``path``, ``max_abs_diff`` (exported vs PyTorch on an example batch of a size
        other than the one traced, which checks the dynamic batch size).

    Raises:
        ConfigError: an unknown format, an unsupported run, or a difference above
            :data:`TOLERANCE`.
    """
    from dlzoo.run.rebuild import rebuild

    if fmt not in FORMATS:
        raise ConfigError(f"format={fmt} is not supported; valid: {', '.join(FORMATS)}")
    run = rebuild(run_dir, ckpt_path or None, setup_data=False, trainer=False)
    model = InferenceModel(run.datamodule.input_transform(), run.task).eval()
    path = Path(output) if output else Path(run_dir) / "export" / f"model{FORMATS[fmt]}"
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        write, run_file = WRITERS[fmt]
        write(model, example_input(run.net_kwargs, batch_size=4), path)
        # another batch size and sequence length: the dynamic axes are checked too
        check = example_input(run.net_kwargs, batch_size=7, steps=9)
        got = run_file(path, check)
        diff = float((got - model(*check)).abs().max())
    if diff > TOLERANCE:
        raise ConfigError(f"the exported model differs from PyTorch by {diff:.3g} > {TOLERANCE}")
    return {"path": path, "max_abs_diff": diff}
