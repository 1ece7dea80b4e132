"""``dlzoo-eval run_dir=RUN [ckpt_path=FILE] [test=true]``: score a trained run again.

The run is rebuilt from its directory alone (its config and a checkpoint: the best one
by default), its datamodule set up from the data as in training (the same seeded
split), and validation and test are rerun. ``metrics.json`` goes to a new evaluation
directory, ``RUN/evals/<time>/``; the run's own files are not touched.
"""

from __future__ import annotations

from typing import Any

from dlzoo.run.evaluate import evaluate

USAGE = """
dlzoo-eval run_dir=RUN [ckpt_path=FILE] [test=true|false]

Rerun validation and test of a trained run's best checkpoint (or ckpt_path) and write
metrics.json, with the baselines beside, into RUN/evals/<time>/.
"""


DEFAULTS: dict[str, Any] = {"run_dir": "", "ckpt_path": "", "test": True}


def main() -> None:
    """Console script ``dlzoo-eval``."""
    from dlzoo.cli.frame import run_entry

    def action(args: dict[str, Any]) -> None:
        path = evaluate(args["run_dir"], args["ckpt_path"] or None, args["test"])
        print(f"evaluation: {path}")

    run_entry(USAGE, DEFAULTS, {"run_dir"}, action)


if __name__ == "__main__":
    main()
