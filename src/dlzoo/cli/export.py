"""``dlzoo-export run_dir=RUN format=onnx|torchscript``: a run's model as one file,
checked against PyTorch (see :mod:`dlzoo.run.export`)."""

from __future__ import annotations

from typing import Any

from dlzoo.run.export import export

USAGE = """
dlzoo-export run_dir=RUN [format=onnx|torchscript] [output=FILE] [ckpt_path=FILE]

Export a trained run with its preprocessing inside (raw input in; class probabilities
or a forecast in the series' units out), dynamic batch size, checked against PyTorch.
"""


DEFAULTS: dict[str, Any] = {"run_dir": "", "format": "onnx", "output": "", "ckpt_path": ""}


def main() -> None:
    """Console script ``dlzoo-export``."""
    from dlzoo.cli.frame import run_entry

    def action(args: dict[str, Any]) -> None:
        out = export(
            args["run_dir"], args["format"], args["output"] or None, args["ckpt_path"] or None
        )
        print(
            f"exported: {out['path']} (max abs difference from PyTorch {out['max_abs_diff']:.2g})"
        )

    run_entry(USAGE, DEFAULTS, {"run_dir"}, action)


if __name__ == "__main__":
    main()
