"""The run's log file is rank zero's: the other ranks of a DDP run stop writing it."""

from __future__ import annotations

import logging
from pathlib import Path

from dlzoo.config.run_names import is_rank_zero_process


def quiet_other_ranks(run_dir: str | Path) -> bool:
    """On a rank other than zero, stop logging into files under ``run_dir``.

    Hydra sets up the run's log file in every process it starts, and every rank of a
    DDP run is one; rank zero's file is the run's log (other ranks still print to the
    console, where a launcher collects them).

    Returns:
        Whether this process is another rank than zero (and so was quieted).
    """
    if is_rank_zero_process():
        return False
    root = Path(run_dir).resolve()
    named = logging.root.manager.loggerDict.values()
    loggers = [logging.root, *(lg for lg in named if isinstance(lg, logging.Logger))]
    for logger in loggers:
        for handler in list(logger.handlers):
            path = getattr(handler, "baseFilename", None)
            if path and root in Path(path).resolve().parents:
                logger.removeHandler(handler)
                handler.close()
    return True
