"""A trained run scored again: rebuilt from its directory, its datamodule set up from
the data as in training (the same seeded split), validation and test rerun, and
``metrics.json`` written to a new evaluation directory ``RUN/evals/<time>/``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path


def evaluate(
    run_dir: str | Path,
    ckpt_path: str | Path | None = None,
    test: bool = True,
    overrides: Sequence[str] = (),
) -> Path:
    """Rebuild ``run_dir``, score it, write ``metrics.json``; return the file's path.

    Args:
        run_dir: a run directory.
        ckpt_path: a checkpoint; by default the run's best (or last) one.
        test: also score the test split.
        overrides: of the trainer and the data loading, on top of the run's config
            (``trainer=cpu``, ``data.batch_size=64``); the run is scored on one device
            of this machine (see :func:`dlzoo.run.rebuild.rebuild`).

    Raises:
        ConfigError, DataError: not a run directory, a missing / bad checkpoint, or an
            override that is not allowed.
    """
    from omegaconf import OmegaConf

    from dlzoo.config.layout import METRICS_FILE
    from dlzoo.run.artefacts import write_json_atomic
    from dlzoo.run.pipeline import score
    from dlzoo.run.rebuild import rebuild

    # to the microsecond, as run directories: two evaluations never share a folder
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S_%f")
    out_dir = Path(run_dir).resolve() / "evals" / stamp
    run = rebuild(
        run_dir, ckpt_path or None, setup_data=True, output_dir=out_dir, overrides=overrides
    )
    scores = score(run, None, fitted=False, test=test)
    trainer = OmegaConf.to_container(run.cfg.trainer)
    payload = {
        "run_dir": str(Path(run_dir).resolve()),
        "ckpt_path": run.checkpoint_path,
        "val": scores.val,
        "test": scores.test,
        "model": run.model_name,
        "data": run.data_name,
        "overrides": list(overrides),
        # what it was scored on: the run's trainer or the fallback of this machine
        "trainer": {k: trainer.get(k) for k in ("accelerator", "devices", "precision")},
    }
    path = out_dir / METRICS_FILE
    write_json_atomic(path, payload)
    return path
