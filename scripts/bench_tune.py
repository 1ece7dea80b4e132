"""Ray Tune's per-trial overhead beside Hydra multirun's, on the 8-trial ASHA search.

Runs ``dlzoo-tune tune_space=motions_gru_asha`` (8 trials of the BasicMotions GRU,
ASHA, one CPU per trial, as many at once as there are cores), then the same number of
trials of the same experiment as a Hydra multirun (``hydra_multirun`` from
``scripts/bench_sweeps.py``), and prints for each::

    per-trial overhead = (wall time - sum of the trials' fit_seconds) / trials

where ``fit_seconds`` is each trial's own ``metrics.json`` (``trainer.fit`` alone):
what is left is starting processes, importing, building, scoring and Ray's own
bookkeeping. It also prints how many trials ASHA stopped early and the best trial.
Run it on an idle machine::

    OMP_NUM_THREADS=1 python scripts/bench_tune.py               # the real measurement
    python scripts/bench_tune.py --trials 2 --max-t 1 --no-hydra tune.scheduler.grace_period=1
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from dlzoo.config.layout import METRICS_FILE


def fit_seconds(root: Path) -> tuple[float, int]:
    """The sum of ``fit_seconds`` over the run directories under ``root``, and their count."""
    payloads = [json.loads(p.read_text()) for p in root.rglob(METRICS_FILE)]
    return sum(float(p.get("fit_seconds") or 0.0) for p in payloads), len(payloads)


def overhead(wall: float, fit: float, trials: int) -> float:
    """Seconds per trial spent outside ``trainer.fit``."""
    return (wall - fit) / max(trials, 1)


def ray_search(args: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    """The ASHA search, in this process; its summary, wall and fit times."""
    from dlzoo.tune.search import tune

    argv = [
        f"tune_space={args.space}",
        f"tune.num_samples={args.trials}",
        "tune.verbose=0",
        f"paths.log_dir={log_dir}",
        *([f"tune.scheduler.max_t={args.max_t}"] if args.max_t else []),
        *args.overrides,
    ]
    start = time.perf_counter()
    summary = tune(argv)
    wall = time.perf_counter() - start
    fit, runs = fit_seconds(summary.plan.tune_dir)
    return {"summary": summary, "wall": wall, "fit": fit, "trials": runs}


def hydra_search(experiment: str, trials: int, epochs: int, log_dir: Path) -> dict[str, Any]:
    """``trials`` runs of ``experiment`` (seeds 1..trials, ``epochs`` each) as a Hydra
    multirun through ``scripts/bench_sweeps.py``; wall and fit times."""
    from bench_sweeps import hydra_multirun  # scripts/ is on sys.path when run as a script

    seeds = ",".join(str(s) for s in range(1, trials + 1))
    overrides = [f"experiment={experiment}", f"trainer.max_epochs={epochs}", f"seed={seeds}"]
    log_dir.mkdir(parents=True, exist_ok=True)
    result = hydra_multirun(overrides, log_dir)  # timed from its command line
    return {"wall": result["wall_s"], "fit": result["fit_s"], "trials": result["trials"]}


def report(name: str, result: dict[str, Any]) -> str:
    per_trial = overhead(result["wall"], result["fit"], result["trials"])
    return (
        f"{name:<16} {result['trials']:>6} {result['wall']:>8.1f} {result['fit']:>9.1f} "
        f"{per_trial:>14.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--space", default="motions_gru_asha")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--max-t", type=int, default=None, help="epochs (default: the space's)")
    parser.add_argument("--no-hydra", action="store_true", help="skip the Hydra multirun")
    parser.add_argument("--log-dir", type=Path, default=None, help="default: a temporary one")
    parser.add_argument("overrides", nargs="*", help="more dlzoo-tune overrides")
    args = parser.parse_args()
    log_dir = args.log_dir or Path(tempfile.mkdtemp(prefix="dlzoo-bench-tune-"))

    ray = ray_search(args, log_dir / "ray")
    summary = ray["summary"]
    print(f"\n{summary.stopped_line()}")
    print("\n".join(summary.best_lines()[:3]))
    rows = [report("ray tune (ASHA)", ray)]
    if not args.no_hydra:
        experiment = str(summary.plan.train_cfg.task_name)
        hydra = hydra_search(experiment, args.trials, summary.plan.max_t, log_dir / "hydra")
        rows.append(report("hydra multirun", hydra))
    print(f"\n{'':<16} {'trials':>6} {'wall_s':>8} {'fit_s':>9} {'overhead_s/trial':>14}")
    print("\n".join(rows))
    print(f"(runs under {log_dir})")


if __name__ == "__main__":
    main()
