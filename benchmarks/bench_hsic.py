"""Time and memory of exact HSIC against its large-n approximations (kbook.hsic).

    .venv/bin/python benchmarks/bench_hsic.py            # everything, ~10 minutes on 2 cores
    .venv/bin/python benchmarks/bench_hsic.py --quick    # skips the exact value at n = 100,000

Data: y = x² + 0.3·noise, x uniform on [−1, 1] (the chapter's noisy parabola). Targets from the
issue: exact biased HSIC at n = 4,000 under 1 s; an approximation at n = 100,000 under 10 s with a
relative error under 5% against the exact value, computed blockwise once for the check.

Each line prints the time and the peak memory traced by ``tracemalloc`` (NumPy reports its
allocations to it), and the growth factor from the previous n: about 4 per doubling for the exact
estimators (quadratic), about 2 for the approximations (linear).

Measured 2026-11-22 on the 2-core build machine, shared with other jobs (load 3 to 5), so times
are rough: exact in memory 0.79 s at n = 4,000 (244 MiB peak) and 3.1 s at n = 8,000 (977 MiB);
blockwise exact 7.8 s at n = 16,000 and 247 s at n = 100,000. At n = 100,000, Nyström (m = 256)
took 3.5 s with relative error 8e-8 (71x faster than blockwise exact) and random Fourier features
(D = 512) 5.4 s with relative error 6.8% (46x): the 5% target is met by Nyström, not by RFF at
D = 512, whose error at n = 4,000 was 7.7% for this seed.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from kbook.hsic import hsic, hsic_blockwise, hsic_nystrom, hsic_rff


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
    previous, values = None, {}
    for n in ns:
        x, y = data(n)
        value, seconds, peak = measure(function, x, y, **kwargs)
        growth = f"{seconds / previous:7.2f}" if previous else "       "
        print(f"{n:>9,} {seconds:9.3f} {peak:9.1f} {growth}", flush=True)
        previous, values[n] = seconds, (value, seconds)
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="skip the exact value at n = 100,000")
    args = parser.parse_args()

    exact = series("exact biased HSIC, Gram matrices in memory", hsic, [500, 1_000, 2_000, 4_000, 8_000])
    blockwise = series("exact biased HSIC, blockwise (block 1024)", hsic_blockwise,
                       [2_000, 4_000, 8_000, 16_000], block_size=1024)
    big = [10_000, 25_000, 50_000, 100_000]
    nystrom = series("Nyström, m = 256", hsic_nystrom, [4_000] + big, n_landmarks=256, seed=0)
    rff = series("random Fourier features, D = 512", hsic_rff, [4_000] + big, n_features=512, seed=0)

    print("\naccuracy at n = 4,000 against the exact in-memory value")
    reference = exact[4_000][0]
    for name, values in (("Nyström m=256", nystrom), ("RFF D=512", rff)):
        print(f"  {name:14} relative error {abs(values[4_000][0] / reference - 1):.2e}, "
              f"time ratio to exact {values[4_000][1] / exact[4_000][1]:.2f}")
    print(f"  target: exact at n = 4,000 under 1 s -> {exact[4_000][1]:.2f} s")

    if not args.quick:
        x, y = data(100_000)
        print("\nexact value at n = 100,000, blockwise (once; this is the slow part) ...", flush=True)
        reference, seconds, _ = measure(hsic_blockwise, x, y, block_size=1024)
        print(f"  {seconds:.0f} s, HSIC = {reference:.6g}")
        for name, values in (("Nyström m=256", nystrom), ("RFF D=512", rff)):
            value, approx_seconds = values[100_000]
            print(f"  {name:14} {approx_seconds:6.2f} s, relative error {abs(value / reference - 1):.2e}, "
                  f"speed-up over blockwise exact {seconds / approx_seconds:.0f}x")
        print("  target: an approximation under 10 s with relative error under 5%")


if __name__ == "__main__":
    main()
