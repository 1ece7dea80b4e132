"""``dlzoo-reproduce [only=NAMES] [budget=true] [out=FILE] [dir=DIR]``: run published
protocols one after another and write their table beside the papers' numbers (see
:mod:`dlzoo.reproduce`)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

USAGE = """
dlzoo-reproduce [only=NAME,NAME] [budget=true] [out=FILE] [dir=DIR] [protocols=FILE]

Run the published protocols of conf/reproduce.yaml (or protocols=FILE, or a shipped
file by name: protocols=zoo runs every classifier's default against its baselines) one
after another, each over its seeds or folds, and write a Markdown table to out
(default: DIR/reproduction.md): protocol, published number and source, dlzoo mean ±
std, baselines, whether it beats them, verdict (within the tolerance / above / below),
wall time. The table is also printed. only= runs the named protocols (and those they
compare against); budget=true runs each with its budget overrides (fewer epochs), and
the table says so. Runs go under dir (default: LOG_DIR/reproduce/<date>_<time>); the
same command with the same dir= goes on after a stop, reading back what finished.
"""


def _log_dir(given: str) -> Path:
    if given:
        return Path(given)
    root = Path(os.environ.get("DLZOO_LOG_DIR", "logs"))
    return root / "reproduce" / time.strftime("%Y-%m-%d_%H-%M-%S")


def main() -> None:
    """Console script ``dlzoo-reproduce``."""
    from dlzoo.cli.frame import run_entry

    defaults = {"only": "", "budget": False, "out": "", "dir": "", "protocols": ""}

    def action(args: dict[str, Any]) -> None:
        from dlzoo.reproduce.protocols import PROTOCOLS_FILE, load_protocols, page_title, select
        from dlzoo.reproduce.runner import reproduce
        from dlzoo.reproduce.table import render
        from dlzoo.run.artefacts import write_text_atomic

        source = args["protocols"] or PROTOCOLS_FILE
        protocols = select(load_protocols(source), args["only"])
        log_dir = _log_dir(args["dir"])
        out = Path(args["out"]) if args["out"] else log_dir / "reproduction.md"
        outcomes = reproduce(protocols, log_dir, args["budget"])
        command = " ".join(["dlzoo-reproduce", *sys.argv[1:]])
        page = render(outcomes, args["budget"], command, page_title(source))
        write_text_atomic(out, page)
        print(page)
        print(f"table: {out.resolve()}")

    run_entry(USAGE, defaults, set(), action)


if __name__ == "__main__":
    main()
