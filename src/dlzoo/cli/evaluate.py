"""``dlzoo-eval run_dir=RUN [ckpt_path=FILE] [test=true] [trainer=cpu data.batch_size=N]``:
score a trained run again, on this machine.

The run is rebuilt from its directory alone (its config and a checkpoint: the best one
by default), its datamodule set up from the data as in training (the same seeded
split), and validation and test are rerun. ``metrics.json`` goes to a new evaluation
directory, ``RUN/evals/<time>/``; the run's own files are not touched.

Hydra-style overrides of the trainer and of how data is loaded go on top of the run's
config (:mod:`dlzoo.config.rescore`); what the run's trainer asks for and this machine
cannot give (a GPU, DDP on several devices) falls back to one device it has, with a
one-line note (:mod:`dlzoo.run.devices`).
"""

from __future__ import annotations

from typing import Any

from dlzoo.config.rescore import ALLOWED
from dlzoo.run.evaluate import evaluate

USAGE = f"""
dlzoo-eval run_dir=RUN [ckpt_path=FILE] [test=true|false] [OVERRIDES]

Rerun validation and test of a trained run's best checkpoint (or ckpt_path) and write
metrics.json, with the baselines beside, into RUN/evals/<time>/.

OVERRIDES go on top of the run's config, e.g. trainer=cpu:
  {ALLOWED}
The run is scored on one device; a GPU or DDP that this machine cannot give falls back
to the CPU, with a note. What the model is (model.*, task.*, data.name, the split)
cannot change.
"""


DEFAULTS: dict[str, Any] = {"run_dir": "", "ckpt_path": "", "test": True}


def main() -> None:
    """Console script ``dlzoo-eval``."""
    from dlzoo.cli.frame import run_entry

    def action(args: dict[str, Any]) -> None:
        path = evaluate(args["run_dir"], args["ckpt_path"] or None, args["test"], args["overrides"])
        print(f"evaluation: {path}")

    run_entry(USAGE, DEFAULTS, {"run_dir"}, action, overrides=ALLOWED)


if __name__ == "__main__":
    main()
