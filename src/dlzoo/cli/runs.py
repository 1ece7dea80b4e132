"""``dlzoo-runs [DIR] [sort=METRIC] [format=text|markdown|csv]``: every run in a table.

Compare runs without opening TensorBoard: one row per run directory under ``DIR``
(default ``logs``, or ``$DLZOO_LOG_DIR``): the experiment, the overrides typed for it,
the headline test metric beside its baselines, the best epoch, the fit time and a
status: ``ok``; ``pruned`` (stopped by an Optuna pruner); ``failed`` (a sweep's trial
that raised: its ``error.json``, whose line is in the ``error`` column); ``unfinished``
for a run without either file (interrupted, still running, or stopped by bad input).
A cross-validated run is one row with its mean ± std; its ``fold_k`` directories are
not listed again. The same rows make a multirun's summary (:mod:`dlzoo.sweeps.summary`).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from dlzoo.run.runs_table import collect, render, sort_rows

USAGE = """
dlzoo-runs [DIR | dir=DIR] [sort=METRIC] [format=text|markdown|csv]

A table of every run under DIR (default: logs, or $DLZOO_LOG_DIR): experiment,
overrides, the headline test metric beside its baselines, best epoch, fit time, status.
sort=test/acc (or any metric in the runs' metrics.json; a leading - sorts ascending).
"""


def main() -> None:
    """Console script ``dlzoo-runs``."""
    from dlzoo.cli.frame import run_entry

    defaults = {"dir": os.environ.get("DLZOO_LOG_DIR", "logs"), "sort": "", "format": "text"}

    def action(args: dict[str, Any]) -> None:
        rows = sort_rows(collect(args["dir"]), args["sort"])
        print(render(rows, args["format"]), end="")

    if len(sys.argv) > 1 and "=" not in sys.argv[1] and not sys.argv[1].startswith("-"):
        sys.argv[1] = f"dir={sys.argv[1]}"  # dlzoo-runs DIR
    run_entry(USAGE, defaults, set(), action)


if __name__ == "__main__":
    main()
