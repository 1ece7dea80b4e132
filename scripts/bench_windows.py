"""How fast and how lean are the forecasting windows on a long series?

Builds a :class:`~dlzoo.data.series.windowed.WindowedSeriesDataModule` on a generated noisy
sine (float32) and serves one epoch of shuffled training batches, then prints:

- ``build_s``: seconds to scale the series and make the windows of all three parts;
- ``epoch_s``: seconds to iterate one epoch of training batches;
- ``peak_extra_mb`` / ``ratio``: the peak resident memory above the moment the series
  exists, in MB and as a multiple of the series' own size (the windows are views, so
  what remains is the scaled copy of the series, the epoch's index permutation and
  one gathered chunk of batches).

The measurement runs in a fresh child process, so nothing the parent imported counts;
the peak is ``getrusage(RUSAGE_SELF).ru_maxrss`` after resetting the kernel's high-water
mark once the series exists (``/proc/self/clear_refs``, Linux), so generating the
series does not hide a lower peak. Usage::

    python scripts/bench_windows.py                    # 10 million points
    python scripts/bench_windows.py --points 200000 --window 32 --horizon 4
    python scripts/bench_windows.py --threads 1        # steadier timings on a busy machine
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000_000, help="series length")
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--horizon", type=int, default=8)
    parser.add_argument("--stride", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--scaler", default="standard", choices=("standard", "minmax", "none"))
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's own)"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def rss_bytes() -> int:
    """The resident set size now."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: the peak so far is the best baseline there is
        return peak_bytes()


def peak_bytes() -> int:
    """The peak resident set size (ru_maxrss is in KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def reset_peak() -> None:
    """Set the peak RSS to the current RSS (Linux >= 4.0); elsewhere keep it."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def measure(args: argparse.Namespace) -> None:
    import numpy as np
    import torch

    from dlzoo.data.series.windowed import WindowedSeriesDataModule

    if args.threads:
        # on a shared machine, a parallel gather waits for its slowest thread at every
        # chunk: one thread gives steadier timings there
        torch.set_num_threads(args.threads)

    class GeneratedSeries(WindowedSeriesDataModule):
        """A given in-memory array as the series (load() hands it over as it is)."""

        name = "generated"

        def __init__(self, values: np.ndarray, **kwargs) -> None:
            super().__init__(**kwargs)
            self.values = values

        def load(self) -> tuple[np.ndarray, list[str], None]:
            return self.values, ["value"], None

    # a yearly sine plus noise, float32, generated in chunks so that no float64 copy of
    # the whole series ever exists
    series = np.empty((args.points, 1), dtype=np.float32)
    rng = np.random.default_rng(0)
    for start in range(0, args.points, 1 << 20):
        steps = np.arange(start, min(start + (1 << 20), args.points), dtype=np.float64)
        noise = 0.1 * rng.standard_normal(len(steps))
        series[start : start + len(steps), 0] = np.sin(2 * np.pi * steps / 365.25) + noise
    reset_peak()
    base = rss_bytes()

    dm = GeneratedSeries(
        series, window=args.window, horizon=args.horizon, stride=args.stride,
        batch_size=args.batch_size, scaler=args.scaler, seed=0,
    )  # fmt: skip
    start = time.perf_counter()
    dm.setup("fit")
    build_s = time.perf_counter() - start
    build_peak = peak_bytes() - base

    loader = dm.train_dataloader()
    seen = batches = 0
    start = time.perf_counter()
    for x, _ in loader:
        seen += x.shape[0]
        batches += 1
    epoch_s = time.perf_counter() - start
    peak = peak_bytes() - base

    windows = {stage: x.shape[0] for stage, (x, _) in dm.tensors.items()}
    expected = windows["train"] - (windows["train"] % args.batch_size == 1)
    if seen != expected:
        raise SystemExit(f"the epoch served {seen} windows, expected {expected}")
    size = series.nbytes
    mb = 1e6
    print(
        f"series {args.points} points float32 = {size / mb:.1f} MB "
        f"(window {args.window}, horizon {args.horizon}, stride {args.stride}, "
        f"scaler {args.scaler}, {torch.get_num_threads()} threads)"
    )
    print("windows " + "  ".join(f"{s} {n}" for s, n in windows.items()))
    print(f"build_s {build_s:.3f}")
    print(f"epoch_s {epoch_s:.3f} ({batches} batches of {args.batch_size})")
    print(f"build_extra_mb {build_peak / mb:.1f} ({build_peak / size:.2f} x series)")
    print(f"peak_extra_mb {peak / mb:.1f}")
    print(f"ratio {peak / size:.2f} (peak extra memory / series size; target < 2)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        measure(args)
        return 0
    # a fresh interpreter: the parent's imports and allocations stay out of the baseline
    child = [sys.executable, os.path.abspath(__file__), "--child", *(argv or sys.argv[1:])]
    return subprocess.run(child, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
