"""Print a Markdown table of every run's result beside its baseline, from the
``metrics.json`` files under a folder (e.g. ``logs``, or a test run's ``--basetemp``).

    python scripts/results_table.py logs
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from dlzoo.report import baseline_label


def row(metrics: dict, config: str) -> str:
    test = metrics.get("test", {})
    if "test/acc" in test:
        result = f"acc {test['test/acc']:.3f}"
        base = ", ".join(
            f"{baseline_label(k)} {v:.3f}"
            for k, v in test.items()
            if k.startswith("test/baseline_")
        )
    else:
        result = f"MASE {test.get('test/mase', float('nan')):.3f}"
        base = (
            f"naive {test.get('test/naive_mase', float('nan')):.3f} "
            f"({test.get('test/mase_vs_naive', float('nan')):.2f} x)"
        )
    return (
        f"| {config} | {result} | {base} | {metrics.get('best_epoch')} / {metrics.get('epochs')} |"
    )


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "logs")
    print("| run | test | baselines | best / epochs |\n|---|---|---|---|")
    for path in sorted(root.rglob("metrics.json")):
        metrics = json.loads(path.read_text())
        if "test" not in metrics or "evals" in path.parts:
            continue
        print(row(metrics, f"{metrics.get('model')} on {metrics.get('data')} ({path.parent.name})"))


if __name__ == "__main__":
    main()
