"""``dlzoo-runs [DIR] [sort=METRIC] [format=text|markdown|csv]``: every run under a
folder in a table, without opening TensorBoard (the columns and statuses:
:mod:`dlzoo.run.runs_table`)."""

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
