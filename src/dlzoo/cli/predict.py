"""``dlzoo-predict run_dir=RUN input=PATH [output=FILE] [data.batch_size=N]``: a trained
model on new data.

The run is rebuilt from its directory with the checkpoint's fitted preprocessing (no
training data is read); the datamodule turns the raw input (image files or a folder,
a CSV series, a UCR-style array file, video clips, a graph's node and edge tables, a TU
folder) into the net's inputs; the task's
``predict_step`` gives what a user wants: per-class probabilities, the next ``horizon``
values in the series' own units, an encoder's embeddings, an anomaly score and flag;
the task's ``prediction_table`` lays them out. One CSV is written and its path printed.
It runs on the CPU, or where ``trainer.accelerator`` (``trainer=gpu``) says.
"""

from __future__ import annotations

from typing import Any

from dlzoo.config.rescore import ALLOWED
from dlzoo.run.predict import predict

USAGE = f"""
dlzoo-predict run_dir=RUN input=PATH [output=FILE.csv] [ckpt_path=FILE] [OVERRIDES]

Run a trained model on new data of its kind: image files or a folder of them (class and
per-class probabilities; an encoder run's embeddings z_0..; an anomaly run's score and
flag), a CSV series (the next horizon values in the series' units), a UCR-style .npy
array (N, C, T), video clips (.npy (T, C, H, W), a stack of them or a folder), a graph
(a folder with nodes.csv and edges.csv: a row per node) or a TU folder of graphs (a row
per graph). Writes a CSV (default RUN/predictions/<input>.csv).

OVERRIDES go on top of the run's config:
  {ALLOWED}
data.batch_size=N: inputs per forward pass (default 256); trainer.accelerator=gpu (or
trainer=gpu): predict on a GPU (default: the CPU).
"""


DEFAULTS: dict[str, Any] = {
    "run_dir": "",
    "input": "",
    "output": "",
    "ckpt_path": "",
    # the older spelling of data.batch_size=N
    "batch_size": "",
}


def main() -> None:
    """Console script ``dlzoo-predict``."""
    from dlzoo.cli.frame import run_entry

    def action(args: dict[str, Any]) -> None:
        overrides = args["overrides"]
        if args["batch_size"]:
            overrides = [f"data.batch_size={args['batch_size']}", *overrides]
        out = predict(
            args["run_dir"],
            args["input"],
            args["output"] or None,
            args["ckpt_path"] or None,
            overrides=overrides,
        )
        rate = out["rows"] / out["seconds"] if out["seconds"] > 0 else float("inf")
        print(f"predictions: {out['path']} ({out['rows']} inputs, {rate:.0f} per second)")

    run_entry(USAGE, DEFAULTS, {"run_dir", "input"}, action, overrides=ALLOWED)


if __name__ == "__main__":
    main()
