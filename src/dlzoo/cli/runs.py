"""``dlzoo-runs [DIR] [sort=METRIC] [format=text|markdown|csv] [plot=METRIC]``: every run
under a folder in a table, or one metric per epoch across them in a PNG, without opening
TensorBoard (the columns and statuses: :mod:`dlzoo.run.runs_table`; the plot:
:mod:`dlzoo.run.runs_plot`)."""

from __future__ import annotations

import os
import sys
from typing import Any

from dlzoo.errors import ConfigError
from dlzoo.run.runs_table import collect, render, sort_rows

USAGE = """
dlzoo-runs [DIR | dir=DIR] [sort=METRIC] [format=text|markdown|csv]
dlzoo-runs [DIR | dir=DIR] plot=METRIC [plot_file=PATH]

A table of every run under DIR (default: logs, or $DLZOO_LOG_DIR): experiment,
overrides, the headline test metric beside its baselines, best epoch, fit time, status.
sort=test/acc (or any metric in the runs' metrics.json; a leading - sorts ascending).
plot=val/acc (any column of the runs' history.csv) draws that metric per epoch, a line
per run, into plot_file (default: DIR/runs_val_acc.png) and prints the file's path.
"""


def main() -> None:
    """Console script ``dlzoo-runs``."""
    from dlzoo.cli.frame import run_entry

    defaults = {
        "dir": os.environ.get("DLZOO_LOG_DIR", "logs"),
        "sort": "",
        "format": "text",
        "plot": "",
        "plot_file": "",
    }

    def action(args: dict[str, Any]) -> None:
        if args["plot"]:
            from dlzoo.run.runs_plot import plot_runs

            print(plot_runs(args["dir"], args["plot"], args["plot_file"] or None))
            return
        if args["plot_file"]:
            raise ConfigError("plot_file= needs plot=METRIC (e.g. plot=val/acc)")
        rows = sort_rows(collect(args["dir"]), args["sort"])
        print(render(rows, args["format"]), end="")

    if len(sys.argv) > 1 and "=" not in sys.argv[1] and not sys.argv[1].startswith("-"):
        sys.argv[1] = f"dir={sys.argv[1]}"  # dlzoo-runs DIR
    run_entry(USAGE, defaults, set(), action)


if __name__ == "__main__":
    main()
