"""Step time of the kbook.optimizers wrappers against their bare inner optimizer, in one run.

    .venv/bin/python benchmarks/bench_optimizers.py                 # ~3 minutes on 2 cores
    .venv/bin/python benchmarks/bench_optimizers.py --rounds 3      # quicker, noisier
    KERAS_BACKEND=jax .venv/bin/python benchmarks/bench_optimizers.py --no-save

Two workloads, each trained with ``model.fit`` (one epoch = ``steps`` batches, verbose=0):

* dense: an MLP 784-256-256-10 on random data, batch 128. Programs: bare Adam, Lookahead(Adam),
  LRMultiplier(Adam) with two matched layers, GradientTransform(Adam) clipping one layer,
  LazyOptimizer(Adam) over every variable. Target from issue 12: Lookahead and the LR multiplier
  within 1.2x of bare Adam.
* embedding: Embedding(100,000 × 32) → mean → Dense(1), batch 64 × 10 ids (a few hundred rows
  touched per step). Programs: dense Adam, LazyOptimizer(Adam) (the post's semantics) and
  LazyOptimizer(Adam, freeze_moments=True).

Paired and interleaved: every round runs each program once, in a rotating order, and each
wrapper's time is divided by the bare optimizer's time *of the same round*. Reported: the median
and the range of these ratios over the rounds, for wall time and for process CPU time (all
threads). Compilation is excluded (one warm-up epoch per program). Results go to
``src/kbook/results/bench_optimizers.json`` (read by the lookahead-lazy chapter) unless
``--no-save``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402

import kbook.config  # noqa: E402

kbook.config.quiet()
import keras  # noqa: E402

from kbook.optimizers import GradientTransform, LazyOptimizer, Lookahead, LRMultiplier  # noqa: E402

RESULTS = Path(__file__).resolve().parents[1] / "src" / "kbook" / "results" / "bench_optimizers.json"


def dense_workload(steps):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128 * steps, 784)).astype("float32")
    y = rng.integers(0, 10, size=128 * steps)

    def model():
        keras.utils.set_random_seed(0)
        return keras.Sequential(
            [
                keras.Input((784,)),
                keras.layers.Dense(256, activation="relu", name="d1"),
                keras.layers.Dense(256, activation="relu", name="d2"),
                keras.layers.Dense(10, name="out"),
            ]
        )

    programs = {
        "adam": lambda: keras.optimizers.Adam(1e-3),
        "lookahead": lambda: Lookahead(keras.optimizers.Adam(1e-3), sync_period=5),
        "lr_multiplier": lambda: LRMultiplier(keras.optimizers.Adam(1e-3), {"d1": 0.1, "out": 2.0}),
        "gradient_transform": lambda: GradientTransform(keras.optimizers.Adam(1e-3), {"d1": ("clip_norm", 1.0)}),
        "lazy": lambda: LazyOptimizer(keras.optimizers.Adam(1e-3)),
    }
    return model, programs, (x, y), 128


def embedding_workload(steps, rows=100_000, dim=32, batch=64, length=10):
    rng = np.random.default_rng(1)
    # Zipf-like ids: a few hundred distinct rows per batch of 640 ids.
    ids = np.minimum(rng.zipf(1.3, size=(batch * steps, length)), rows) - 1
    y = (ids.sum(axis=1) % 2).astype("float32")
    touched = float(np.mean([len(np.unique(ids[i : i + batch])) for i in range(0, len(ids), batch)]))

    def model():
        keras.utils.set_random_seed(0)
        return keras.Sequential(
            [
                keras.Input((length,), dtype="int32"),
                keras.layers.Embedding(rows, dim, name="embed"),
                keras.layers.GlobalAveragePooling1D(),
                keras.layers.Dense(1, name="out"),
            ]
        )

    programs = {
        "adam": lambda: keras.optimizers.Adam(1e-3),
        "lazy": lambda: LazyOptimizer(keras.optimizers.Adam(1e-3), pattern="embed"),
        "lazy_frozen_moments": lambda: LazyOptimizer(keras.optimizers.Adam(1e-3), pattern="embed", freeze_moments=True),
    }
    return model, programs, (ids.astype("int32"), y), batch, touched


def timed_epoch(model, data, batch):
    wall, cpu = time.perf_counter(), time.process_time()
    model.fit(*data, batch_size=batch, epochs=1, shuffle=False, verbose=0)
    return time.perf_counter() - wall, time.process_time() - cpu


def compare(name, make_model, programs, data, batch, steps, rounds, loss):
    models = {}
    for key, make_opt in programs.items():
        m = make_model()
        m.compile(optimizer=make_opt(), loss=loss)
        timed_epoch(m, data, batch)  # warm-up: traces and compiles the step
        models[key] = m
    keys = list(programs)
    wall = {k: [] for k in keys}
    cpu = {k: [] for k in keys}
    for r in range(rounds):
        order = keys[r % len(keys):] + keys[: r % len(keys)]
        for key in order:
            w, c = timed_epoch(models[key], data, batch)
            wall[key].append(w / steps)
            cpu[key].append(c / steps)
    summary = {}
    print(f"\n{name}: {steps} steps per epoch, {rounds} rounds; ratio to bare Adam in the same round")
    print(f"{'program':22} {'ms/step':>8} {'wall ratio (median [min, max])':>32} {'CPU ratio':>26}")
    for key in keys:
        rw = np.array(wall[key]) / np.array(wall["adam"])
        rc = np.array(cpu[key]) / np.array(cpu["adam"])
        summary[key] = {
            "ms_per_step_median": 1e3 * float(np.median(wall[key])),
            "wall_ratio": {"median": float(np.median(rw)), "min": float(rw.min()), "max": float(rw.max()), "all": rw.tolist()},
            "cpu_ratio": {"median": float(np.median(rc)), "min": float(rc.min()), "max": float(rc.max()), "all": rc.tolist()},
        }
        print(
            f"{key:22} {summary[key]['ms_per_step_median']:8.2f} "
            f"{np.median(rw):12.3f} [{rw.min():.3f}, {rw.max():.3f}]      "
            f"{np.median(rc):8.3f} [{rc.min():.3f}, {rc.max():.3f}]",
            flush=True,
        )
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    model, programs, data, batch = dense_workload(args.steps)
    dense = compare(
        "dense MLP", model, programs, data, batch, args.steps, args.rounds,
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model, programs, data, batch, touched = embedding_workload(args.steps)
    print(f"\nembedding: 100,000 rows, on average {touched:.0f} distinct rows touched per step")
    embedding = compare(
        "embedding 100k x 32", model, programs, data, batch, args.steps, args.rounds,
        keras.losses.BinaryCrossentropy(from_logits=True),
    )
    result = {
        "what": "step time of kbook.optimizers wrappers / bare Adam, paired and interleaved (benchmarks/bench_optimizers.py)",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "load_average_before": load_before,
        "load_average_after": os.getloadavg()[0],
        "rounds": args.rounds,
        "steps_per_epoch": args.steps,
        "dense": dense,
        "embedding": {"rows": 100_000, "dim": 32, "mean_rows_touched_per_step": touched, "programs": embedding},
    }
    if not args.no_save:
        RESULTS.write_text(json.dumps(result, indent=1) + "\n")
        print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
