"""Sequential against parallel Hydra multirun: the 8-trial TPE sweep of digits_cnn.

    python scripts/bench_sweeps.py                   # the real measurement (idle machine)
    python scripts/bench_sweeps.py --trials 2 --tiny # a check that it works (seconds)

Runs ``hparams_search=digits_cnn_tpe`` twice with the same trials (the sampler asks
``--per-round`` at a time in both, 2 by default): one after another with the basic
launcher, then on 2 joblib workers (each trial 1 torch thread); prints both wall times
and their ratio (target <= 0.65), the best trial's val/acc beside the default config's,
and Hydra multirun's per-trial overhead = (wall - sum of the trials' fit_seconds) /
trials. ``scripts/bench_tune.py`` imports :func:`hydra_multirun` to print that overhead
beside Ray Tune's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from omegaconf import OmegaConf

from dlzoo.run.runs_table import collect

ROOT = Path(__file__).resolve().parents[1]
TINY = ["trainer.max_epochs=1", "trainer.limit_train_batches=2"]


def _train(args: list[str], log_dir: Path) -> float:
    """``scripts/train.py ARGS`` with its output under ``log_dir``; the wall time."""
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "")}
    env = {k: v for k, v in env.items() if v}  # unset: torch's default threads
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "train.py"), *args, f"paths.log_dir={log_dir}"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"train.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return wall


def hydra_multirun(overrides: list[str], log_dir: Path) -> dict:
    """One Hydra multirun (``-m`` + ``overrides``) timed from the command line.

    Args:
        overrides: ``scripts/train.py`` overrides (a search file, the launcher, ...).
        log_dir: an empty folder for its runs.

    Returns:
        ``wall_s`` (the whole command), ``fit_s`` (sum of the trials' fit_seconds),
        ``trials``, ``overhead_s`` ((wall - fit) / trials), ``best_value`` (the best
        optimised value of the trials that finished, by their optimized_mode) and
        ``sweep_dir``.
    """
    wall = _train(["-m", *overrides], log_dir)
    sweep = sorted(log_dir.glob("*/multiruns/*"))[-1]  # the newest multirun there
    rows = collect(sweep)
    fit = sum(r.fit_seconds or 0.0 for r in rows)
    values = [r.optimized_value for r in rows if r.status == "ok" and r.optimized_value is not None]
    config = OmegaConf.load(next(sweep.glob("*/.hydra/config.yaml")))
    pick = min if config.get("optimized_mode") == "min" else max
    best = pick(values) if values else None
    trials = len(rows)
    return {
        "wall_s": wall,
        "fit_s": fit,
        "trials": trials,
        "overhead_s": (wall - fit) / max(trials, 1),
        "best_value": best,
        "sweep_dir": str(sweep),
    }


def _default_val_acc(extra: list[str], log_dir: Path) -> float:
    """val/acc of the default digits_cnn config (one run)."""
    _train(["experiment=digits_cnn", *extra], log_dir)
    (metrics,) = log_dir.glob("*/runs/*/metrics.json")
    return float(json.loads(metrics.read_text())["val"]["val/acc"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--tiny", action="store_true", help="1 epoch of 2 batches a trial")
    parser.add_argument(
        "--per-round",
        type=int,
        default=2,
        help="trials the sweeper asks for at a time (hydra.sweeper.n_jobs); the same in both",
    )
    args = parser.parse_args()
    extra = TINY if args.tiny else []
    sweep = [
        *("experiment=digits_cnn", "hparams_search=digits_cnn_tpe"),
        *(f"hydra.sweeper.n_trials={args.trials}", f"hydra.sweeper.n_jobs={args.per_round}"),
        *extra,
    ]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        seq = hydra_multirun(sweep, tmp / "sequential")
        par = hydra_multirun(
            [*sweep, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "threads=1"],
            tmp / "parallel",
        )
        default = _default_val_acc(extra, tmp / "default")
    ratio = par["wall_s"] / seq["wall_s"]
    tiny = " (tiny)" if args.tiny else ""
    print(f"{args.trials} TPE trials of digits_cnn, {args.per_round} a round{tiny}:")
    for name, run in (("sequential", seq), ("2 joblib workers", par)):
        print(
            f"  {name:17s} wall {run['wall_s']:7.1f} s  fit {run['fit_s']:7.1f} s  "
            f"overhead {run['overhead_s']:5.2f} s/trial  best val/acc {run['best_value']:.4f}"
        )
    verdict = "ok" if ratio <= 0.65 else "above the 0.65 target"
    print(f"  parallel / sequential wall time: {ratio:.2f} ({verdict})")
    best = max(v for v in (seq["best_value"], par["best_value"]) if v is not None)
    print(f"  best trial val/acc {best:.4f} against the default config's {default:.4f}")


if __name__ == "__main__":
    main()
