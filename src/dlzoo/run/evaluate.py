"""A trained run scored again: rebuilt from its directory, its datamodule set up from
the data as in training (the same seeded split), validation and test rerun, and
``metrics.json`` written to a new evaluation directory ``RUN/evals/<time>/``.
"""

from __future__ import annotations

import time
from pathlib import Path


def evaluate(run_dir: str | Path, ckpt_path: str | Path | None = None, test: bool = True) -> Path:
    """Rebuild ``run_dir``, score it, write ``metrics.json``; return the file's path.

    Raises:
        ConfigError, DataError: not a run directory, or a missing / bad checkpoint.
    """
    from dlzoo.config.layout import METRICS_FILE
    from dlzoo.run.artefacts import write_json_atomic
    from dlzoo.run.pipeline import score
    from dlzoo.run.rebuild import rebuild

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
