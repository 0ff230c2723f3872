"""Benchmark kbook.crf against pytorch-crf, and the sequential against the parallel-in-time log Z.

Run on demand, never in CI. pytorch-crf needs PyTorch, which the book does not, so use a
separate virtual environment (the project's .venv stays free of torch):

    python3 -m venv /tmp/crfbench
    /tmp/crfbench/bin/pip install -r benchmarks/requirements.txt -e .
    /tmp/crfbench/bin/python benchmarks/bench_crf.py          # writes src/kbook/results/bench_crf.json

What is measured (median of repeated runs, milliseconds, TensorFlow backend, CPU):

1. log-likelihood + gradient (w.r.t. potentials and all CRF parameters) and Viterbi decoding at
   batch 64, T 100, K 4/16/64, against pytorch-crf's ``CRF.forward`` + ``backward`` and
   ``CRF.decode`` in the same process. Both use start/end scores, full masks, and the values are
   checked to agree before timing. Each library gets one thread. kbook runs inside ``tf.function``; pytorch-crf runs eagerly,
   which is how it is used. Ratios (kbook / pytorch-crf, below 1 = kbook faster) are the result.
2. log Z + gradient by the sequential scan vs the parallel tree reduction
   (``crf_log_norm(..., parallel=True)``), batch 64, K 4 and 16, growing T.
3. Peak extra resident memory of one log Z + gradient evaluation (K 4, batch 64) for each form
   at T = 1024, 4096, 16384, each in a fresh process: linear in T means x4 per x4 in T.

The machine is shared with other jobs: absolute times are noisy, ratios measured in one run less so.
See the chapter: notebooks/crf.ipynb
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import warnings  # noqa: E402

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from kbook.crf import crf_log_likelihood, crf_log_norm, viterbi_decode  # noqa: E402

try:
    import torch
    import torchcrf
except ImportError as error:  # pragma: no cover - depends on the benchmark venv
    sys.exit(f"{error}: install the benchmark requirements (see this file's docstring)")

warnings.filterwarnings("ignore", message="where received a uint8")  # inside pytorch-crf
# Package data, read by the chapter with kbook.data.benchmark_results("bench_crf") (also on Colab).
OUT = Path(__file__).resolve().parents[1] / "src" / "kbook" / "results" / "bench_crf.json"
REPEATS = int(os.environ.get("BENCH_REPEATS", "7"))


def timed(fn, repeats=REPEATS, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def case(batch, steps, num_tags, seed=0):
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=(batch, steps, num_tags)).astype("float32"),
        rng.integers(0, num_tags, size=(batch, steps)).astype("int64"),
        rng.normal(size=(num_tags, num_tags)).astype("float32") * 0.1,
        rng.normal(size=num_tags).astype("float32") * 0.1,
        rng.normal(size=num_tags).astype("float32") * 0.1,
    )


def against_torch(num_tags, batch=64, steps=100):
    pot, tags, trans, start, end = case(batch, steps, num_tags)
    # --- kbook, compiled
    variables = [tf.Variable(trans), tf.Variable(start), tf.Variable(end)]
    pot_tf, tags_tf = tf.constant(pot), tf.constant(tags.astype("int32"))

    @tf.function
    def kbook_step(p, y):
        with tf.GradientTape() as tape:
            tape.watch(p)
            loss = -tf.reduce_mean(
                crf_log_likelihood(p, y, variables[0], start_transitions=variables[1], end_transitions=variables[2])
            )
        return loss, tape.gradient(loss, [p] + variables)

    @tf.function
    def kbook_decode(p):
        return viterbi_decode(p, variables[0], start_transitions=variables[1], end_transitions=variables[2])[0]

    # --- pytorch-crf
    model = torchcrf.CRF(num_tags, batch_first=True)
    with torch.no_grad():
        model.transitions.copy_(torch.from_numpy(trans))
        model.start_transitions.copy_(torch.from_numpy(start))
        model.end_transitions.copy_(torch.from_numpy(end))
    emissions = torch.from_numpy(pot).requires_grad_(True)
    tags_torch = torch.from_numpy(tags)

    def torch_step():
        model.zero_grad()
        emissions.grad = None
        loss = -model(emissions, tags_torch, reduction="mean")
        loss.backward()
        return loss

    def torch_decode():
        with torch.no_grad():
            return model.decode(emissions)

    ours = float(kbook_step(pot_tf, tags_tf)[0])
    theirs = float(torch_step().detach())
    assert abs(ours - theirs) <= 1e-3 * max(1.0, abs(theirs)), (ours, theirs)
    assert np.array_equal(kbook_decode(pot_tf).numpy(), np.array(torch_decode())), "Viterbi paths differ"
    rows = []
    for op, mine, ref in [
        ("log-likelihood + gradient", lambda: kbook_step(pot_tf, tags_tf), torch_step),
        ("Viterbi decode", lambda: kbook_decode(pot_tf).numpy(), torch_decode),
    ]:
        kbook_ms, torch_ms = timed(mine), timed(ref)
        rows.append(dict(op=op, K=num_tags, T=steps, kbook_ms=kbook_ms, torch_ms=torch_ms, ratio=kbook_ms / torch_ms))
        print(f"{op:26s} K={num_tags:3d} T={steps}: kbook {kbook_ms:8.2f} ms | pytorch-crf {torch_ms:8.2f} ms"
              f" | ratio {kbook_ms / torch_ms:5.2f}", flush=True)
    return rows


def sequential_vs_parallel(num_tags, steps, batch=64):
    pot, _, trans, _, _ = case(batch, steps, num_tags, seed=1)
    pot_tf, trans_tf = tf.constant(pot), tf.constant(trans)
    fns = {}
    for parallel in (False, True):

        @tf.function
        def step(p, a, parallel=parallel):
            with tf.GradientTape() as tape:
                tape.watch([p, a])
                total = tf.reduce_sum(crf_log_norm(p, a, parallel=parallel))
            return total, tape.gradient(total, [p, a])

        fns[parallel] = step
    seq_value = fns[False](pot_tf, trans_tf)[0].numpy()
    par_value = fns[True](pot_tf, trans_tf)[0].numpy()
    assert abs(seq_value - par_value) <= 1e-4 * abs(seq_value), (seq_value, par_value)
    seq_ms = timed(lambda: fns[False](pot_tf, trans_tf), repeats=5)
    par_ms = timed(lambda: fns[True](pot_tf, trans_tf), repeats=5)
    print(f"log Z + grad K={num_tags:3d} T={steps:5d}: sequential {seq_ms:8.2f} ms | parallel {par_ms:8.2f} ms"
          f" | speed-up {seq_ms / par_ms:5.2f}", flush=True)
    return dict(K=num_tags, T=steps, sequential_ms=seq_ms, parallel_ms=par_ms)


def memory_probe(form, steps, num_tags=4, batch=64):
    """Child process: peak resident memory added by one log Z + gradient evaluation, in MB."""
    import resource

    pot, _, trans, _, _ = case(batch, steps, num_tags, seed=2)
    pot_tf, trans_tf = tf.constant(pot), tf.constant(trans)
    parallel = form == "parallel"

    @tf.function
    def step(p, a):
        with tf.GradientTape() as tape:
            tape.watch([p, a])
            total = tf.reduce_sum(crf_log_norm(p, a, parallel=parallel))
        return total, tape.gradient(total, [p, a])

    step.get_concrete_function(pot_tf, trans_tf)  # trace first: tracing memory is not per step
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    step(pot_tf, trans_tf)[0].numpy()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print((after - before) / 1024)  # ru_maxrss is in kilobytes on Linux


def memory_vs_length(lengths=(1024, 4096, 16384), num_tags=4):
    """Peak extra memory of one evaluation per form and length, each in a fresh process."""
    import subprocess

    rows = []
    for form in ("sequential", "parallel"):
        for steps in lengths:
            out = subprocess.run(
                [sys.executable, __file__, "--memory-probe", form, str(steps)],
                capture_output=True, text=True, check=True,
            ).stdout.strip().splitlines()[-1]
            rows.append(dict(form=form, K=num_tags, T=steps, peak_extra_mb=float(out)))
            print(f"memory  {form:10s} K={num_tags} T={steps:6d}: {float(out):8.1f} MB", flush=True)
    return rows


def main():
    # One thread each: on a shared, oversubscribed CPU, multi-threaded small ops mostly measure
    # contention. Both libraries get the same single core's worth of threads.
    torch.set_num_threads(1)
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    result = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, 1 thread per library, load average "
        f"{os.getloadavg()[0]:.1f} at start (shared)",
        "versions": {"tensorflow": tf.__version__, "torch": torch.__version__, "pytorch-crf": "0.7.2"},
        "vs_torch": [],
        "parallel": [],
    }
    for num_tags in (4, 16, 64):
        result["vs_torch"] += against_torch(num_tags)
    for num_tags, lengths in ((4, (64, 256, 1024, 4096)), (16, (64, 256))):
        for steps in lengths:
            result["parallel"].append(sequential_vs_parallel(num_tags, steps))
    result["memory"] = memory_vs_length()
    OUT.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--memory-probe":
        memory_probe(sys.argv[2], int(sys.argv[3]))
    else:
        main()
