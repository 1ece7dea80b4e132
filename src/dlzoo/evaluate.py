"""``dlzoo-eval run_dir=RUN [ckpt_path=FILE] [test=true]``: score a trained run again.

The run is rebuilt from its directory alone (its config and a checkpoint: the best one
by default), its datamodule set up from the data as in training (the same seeded
split), and validation and test are rerun. ``metrics.json`` goes to a new evaluation
directory, ``RUN/evals/<time>/``; the run's own files are not touched.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

USAGE = """
dlzoo-eval run_dir=RUN [ckpt_path=FILE] [test=true|false]

Rerun validation and test of a trained run's best checkpoint (or ckpt_path) and write
metrics.json, with the baselines beside, into RUN/evals/<time>/.
"""
DEFAULTS: dict[str, Any] = {"run_dir": "", "ckpt_path": "", "test": True}


def evaluate(run_dir: str | Path, ckpt_path: str | Path | None = None, test: bool = True) -> Path:
    """Rebuild ``run_dir``, score it, write ``metrics.json``; return the file's path.

    Raises:
        ConfigError, DataError: not a run directory, or a missing / bad checkpoint.
    """
    from dlzoo.artefacts import METRICS_FILE, rebuild, write_json_atomic
    from dlzoo.pipeline import score

    stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
    out_dir = Path(run_dir).resolve() / "evals" / stamp
    run = rebuild(run_dir, ckpt_path or None, setup_data=True, output_dir=out_dir)
    scores = score(run, None, fitted=False, test=test)
    payload = {
        "run_dir": str(Path(run_dir).resolve()),
        "ckpt_path": run.checkpoint_path,
        "val": scores.val,
        "test": scores.test,
        "model": run.model_name,
        "data": run.data_name,
    }
    path = out_dir / METRICS_FILE
    write_json_atomic(path, payload)
    return path


def main() -> None:
    """Console script ``dlzoo-eval``."""
    from dlzoo.cli import run_entry

    def action(args: dict[str, Any]) -> None:
        path = evaluate(args["run_dir"], args["ckpt_path"] or None, args["test"])
        print(f"evaluation: {path}")

    run_entry(USAGE, DEFAULTS, {"run_dir"}, action)


if __name__ == "__main__":
    main()
