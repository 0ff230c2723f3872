"""Time and memory of exact HSIC against its large-n approximations (kbook.hsic).

    .venv/bin/python benchmarks/bench_hsic.py            # everything (5-10 minutes on 2 cores);
                                                         # writes src/kbook/results/bench_hsic.json
    .venv/bin/python benchmarks/bench_hsic.py --quick    # skips the exact value at n = 100,000 and
                                                         # writes nothing

Data: y = x² + 0.3·noise, x uniform on [−1, 1] (the chapter's noisy parabola). Targets from the
issue: exact biased HSIC at n = 4,000 under 1 s; an approximation at n = 100,000 under 10 s with a
relative error under 5% against the exact value, computed blockwise once for the check.

Each line prints the time and the peak memory traced by ``tracemalloc`` (NumPy reports its
allocations to it), and the growth factor from the previous n: about 4 per doubling for the exact
estimators (quadratic), about 2 for the approximations (linear).

The full run writes every number it prints to ``src/kbook/results/bench_hsic.json`` (package
data), which the chapter reads with ``kbook.data.benchmark_results("bench_hsic")``; the file also
records the date, the machine, its load average at the start and the NumPy version.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import time
import tracemalloc
from pathlib import Path

import numpy as np

from kbook.hsic import hsic, hsic_blockwise, hsic_nystrom, hsic_rff

# Package data, read by the chapter with kbook.data.benchmark_results("bench_hsic") (also on Colab).
OUT = Path(__file__).resolve().parents[1] / "src" / "kbook" / "results" / "bench_hsic.json"


def data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n)
    return x, x**2 + 0.3 * rng.normal(size=n)


def measure(function, *args, **kwargs):
    tracemalloc.start()
    start = time.perf_counter()
    value = function(*args, **kwargs)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return value, seconds, peak / 2**20


def series(name, function, ns, **kwargs):
    print(f"\n{name}")
    print(f"{'n':>9} {'seconds':>9} {'peak MiB':>9} {'growth':>7}")
    previous, values, rows = None, {}, []
    for n in ns:
        x, y = data(n)
        value, seconds, peak = measure(function, x, y, **kwargs)
        growth = f"{seconds / previous:7.2f}" if previous else "       "
        print(f"{n:>9,} {seconds:9.3f} {peak:9.1f} {growth}", flush=True)
        rows.append({"n": n, "seconds": seconds, "peak_mib": peak, "value": value,
                     "growth": seconds / previous if previous else None})
        previous, values[n] = seconds, (value, seconds)
    SERIES[name] = rows
    return values


SERIES: dict = {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="skip the exact value at n = 100,000")
    args = parser.parse_args()
    result = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, load average "
        f"{os.getloadavg()[0]:.1f} at start",
        "versions": {"numpy": np.__version__},
        "data": "x uniform on [-1, 1], y = x**2 + 0.3 * normal noise, seed 0",
        "series": SERIES,
    }

    exact = series("exact biased HSIC, Gram matrices in memory", hsic, [500, 1_000, 2_000, 4_000, 8_000])
    blockwise = series("exact biased HSIC, blockwise (block 1024)", hsic_blockwise,
                       [2_000, 4_000, 8_000, 16_000], block_size=1024)
    big = [10_000, 25_000, 50_000, 100_000]
    nystrom = series("Nyström, m = 256", hsic_nystrom, [4_000] + big, n_landmarks=256, seed=0)
    rff = series("random Fourier features, D = 512", hsic_rff, [4_000] + big, n_features=512, seed=0)

    print("\naccuracy at n = 4,000 against the exact in-memory value")
    reference = exact[4_000][0]
    result["at_4000"] = {"exact_seconds": exact[4_000][1]}
    for name, key, values in (("Nyström m=256", "nystrom", nystrom), ("RFF D=512", "rff", rff)):
        error, ratio = abs(values[4_000][0] / reference - 1), values[4_000][1] / exact[4_000][1]
        print(f"  {name:14} relative error {error:.2e}, time ratio to exact {ratio:.2f}")
        result["at_4000"][key] = {"relative_error": error, "time_ratio_to_exact": ratio}
    print(f"  target: exact at n = 4,000 under 1 s -> {exact[4_000][1]:.2f} s")

    if not args.quick:
        x, y = data(100_000)
        print("\nexact value at n = 100,000, blockwise (once; this is the slow part) ...", flush=True)
        reference, seconds, _ = measure(hsic_blockwise, x, y, block_size=1024)
        print(f"  {seconds:.0f} s, HSIC = {reference:.6g}")
        result["at_100000"] = {"exact_blockwise_seconds": seconds, "exact_value": reference}
        for name, key, values in (("Nyström m=256", "nystrom", nystrom), ("RFF D=512", "rff", rff)):
            value, approx_seconds = values[100_000]
            error = abs(value / reference - 1)
            print(f"  {name:14} {approx_seconds:6.2f} s, relative error {error:.2e}, "
                  f"speed-up over blockwise exact {seconds / approx_seconds:.0f}x")
            result["at_100000"][key] = {"seconds": approx_seconds, "value": value, "relative_error": error,
                                        "speedup_over_blockwise_exact": seconds / approx_seconds}
        print("  target: an approximation under 10 s with relative error under 5%")
        OUT.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {OUT}")
    else:
        print("(--quick: nothing written)")


if __name__ == "__main__":
    main()
