"""Words per second, CPU time and peak memory of jieba word counting: kbook.wordcount against plain loops.

    .venv/bin/python benchmarks/bench_wordcount.py             # ~4 minutes on 2 idle cores
    .venv/bin/python benchmarks/bench_wordcount.py --quick     # first 4,000 paragraphs, no scaling run
    .venv/bin/python benchmarks/bench_wordcount.py --rounds 7  # more rounds (default 5)

Corpus: People's Daily, January 1998 (``kbook.data.people_daily_text()``, 19,484 paragraphs), written
to a temporary file with one paragraph per line and read back lazily by every method.

Methods, each in its own fresh interpreter (so peak memory is its own), each loading jieba's
dictionary before its clock starts:

* ``plain loop``: ``Counter.update(jieba.lcut(line))`` over the file's lines — the reference;
* ``count_words``: kbook's serial counter (same work, plus per-phase timing);
* ``count_words_parallel P=k``: kbook's process pool, ``fork`` workers, chunks of 500 paragraphs;
* ``jieba.enable_parallel(k)``: jieba's own parallel mode, which needs the whole text as one
  string (it splits it into lines and maps them over a ``multiprocessing.Pool``).

The methods run in interleaved rounds (every method once per round, the order reversed in every
other round), and every ratio is taken within a round, against the plain loop and against
``count_words`` of the same round, then summarised by its median and range over the rounds; a
single run is never reported. Each run also records its CPU time (the method's own process plus its
worker processes, which are joined before the clock stops), which other processes on a shared
machine inflate far less than the wall time.

Every method's counts are checked against the reference (jieba's own mode also emits one ``"\\n"``
token per line, which is removed before comparing). Peak memory: the calling process's peak RSS
during the run (on Linux the peak mark is reset after jieba's dictionary is loaded, so the table's
"main MB" is the peak of the run itself; elsewhere it is the process's lifetime peak) and the
largest ``ru_maxrss`` among its worker processes. The scaling run repeats the corpus
three times: a streaming method's peak should not grow with it, a whole-text method's does.

Targets and timing checks (they depend on the machine and its load, which is why they live here and
not in the unit tests):

* with 2 processes on a 2-core machine, at least 1.8x the serial words per second (median of the
  paired rounds);
* a ``spawn`` worker loads jieba's dictionary itself, which takes real time (> 0.05 s per worker);
* a serial run's CPU time is at most its wall time, and so is the workers' task CPU time against
  their busy time (both up to 5% + 0.05 s of clock granularity).

The spread of the serial runs' wall times over the rounds is printed as the noise level: a ratio
that differs from another by less than that spread is not a difference.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path


def digest(counts: Counter) -> str:
    payload = json.dumps(sorted(counts.items()), ensure_ascii=False).encode()
    return hashlib.sha256(payload).hexdigest()[:16]


def read_texts(path):
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            yield line.rstrip("\n")


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_rss() -> int:
    """Current RSS in KiB, after resetting the kernel's peak-RSS mark (Linux) so that the peak read
    later belongs to the run, not to jieba's dictionary load before it."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass
    return _status_kb("VmRSS") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def peak_rss() -> int:
    """Peak RSS in KiB since :func:`reset_peak_rss` (Linux), else since the process started."""
    return _status_kb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def children_cpu() -> float:
    """CPU seconds of this process's finished (joined) child processes."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def summary(values) -> str:
    """'median [min, max]' of a list of numbers."""
    return f"{statistics.median(values):.2f} [{min(values):.2f}, {max(values):.2f}]"


def timing_checks(corpus: Path) -> None:
    """The machine-dependent bounds that used to be unit tests: printed, with met / NOT met."""
    import logging

    import jieba

    from kbook.wordcount import count_words, count_words_parallel

    jieba.setLogLevel(logging.WARNING)
    texts = list(read_texts(corpus))[:400]
    _, spawn = count_words_parallel(texts, processes=2, chunk_size=50, start_method="spawn", return_stats=True)
    inits = sorted(spawn.init_per_worker.values())
    print("spawn workers load jieba themselves, init per worker (s): "
          + ", ".join(f"{s:.2f}" for s in inits) + f"  (> 0.05 each: {'met' if all(s > 0.05 for s in inits) else 'NOT met'})")
    _, serial = count_words(texts, return_stats=True)
    ok = serial.cpu_main <= serial.wall * 1.05 + 0.05
    print(f"serial run: CPU {serial.cpu_main:.2f} s <= wall {serial.wall:.2f} s: {'met' if ok else 'NOT met'}")
    _, pool = count_words_parallel(texts, processes=2, chunk_size=50, return_stats=True)
    ok = pool.worker_cpu <= pool.worker_busy * 1.05 + 0.05
    print(f"workers' tasks: CPU {pool.worker_cpu:.2f} s <= busy {pool.worker_busy:.2f} s: {'met' if ok else 'NOT met'}")


def child(method: str, path: str, processes: int) -> None:
    """Run one method in this (fresh) process and print one JSON line of results."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    from kbook.wordcount import count_words, count_words_parallel

    base_rss = reset_peak_rss()
    cpu_start = time.process_time() + children_cpu()
    start = time.perf_counter()
    if method == "plain":
        counts = Counter()
        for text in read_texts(path):
            counts.update(jieba.lcut(text))
    elif method == "serial":
        counts = count_words(read_texts(path))
    elif method == "parallel":
        counts = count_words_parallel(read_texts(path), processes=processes, chunk_size=500, start_method="fork")
    elif method == "jieba":
        jieba.enable_parallel(processes)
        workers = jieba.pool
        text = Path(path).read_text(encoding="utf-8")
        counts = Counter(jieba.cut(text))
        del counts["\n"]
        jieba.disable_parallel()  # closes the pool; join it so that its CPU time is accounted
        workers.join()
    else:
        raise ValueError(f"unknown method {method!r}")
    wall = time.perf_counter() - start
    cpu = time.process_time() + children_cpu() - cpu_start
    print(json.dumps(dict(
        wall=wall, cpu=cpu, tokens=sum(counts.values()), digest=digest(counts),
        rss_start_mb=base_rss / 1024, rss_peak_mb=peak_rss() / 1024,
        workers_peak_mb=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    )))


def run(method: str, path: Path, processes: int = 1) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", method, "--file", str(path), "--processes",
                          str(processes)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="4,000 paragraphs, no scaling run")
    parser.add_argument("--processes", type=int, nargs="+", default=None, help="process counts (default 1..cores)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5, at least 5 for a claim)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.file, args.processes[0])
        return
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.rounds < 5:
        print(f"note: {args.rounds} round(s) check that the benchmark runs; a timing claim needs at least 5")

    import kbook.data

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    process_counts = args.processes or list(range(1, cores + 1))
    paragraphs = kbook.data.people_daily_text(limit=4_000 if args.quick else None)
    workdir = Path(tempfile.mkdtemp(prefix="bench_wordcount_"))
    corpus = workdir / "corpus.txt"
    corpus.write_text("\n".join(paragraphs) + "\n", encoding="utf-8")
    chars = sum(map(len, paragraphs))
    print(f"corpus: {len(paragraphs):,} paragraphs, {chars:,} characters; cores: {cores}")
    print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()), flush=True)

    plan = [("plain loop", "plain", 1), ("count_words", "serial", 1)]
    plan += [(f"count_words_parallel P={p}", "parallel", p) for p in process_counts]
    plan += [(f"jieba.enable_parallel({p})", "jieba", p) for p in process_counts if p > 1]
    runs = {name: [] for name, _, _ in plan}
    for r in range(args.rounds):
        for name, method, p in plan if r % 2 == 0 else plan[::-1]:
            run_result = run(method, corpus, p)
            run_result["wps"] = run_result["tokens"] / run_result["wall"]
            runs[name].append(run_result)
        print(f"round {r + 1} of {args.rounds} done", flush=True)
    reference_digest = runs["plain loop"][0]["digest"]

    print(f"\nmedian [min, max] over {args.rounds} interleaved rounds; ratios are taken within each round")
    header = f"{'method':<28} {'wall s':>18} {'CPU s':>18} {'words/s vs plain':>20} {'vs count_words':>20} " \
             f"{'main MB':>8} {'+run MB':>7} {'worker MB':>9}  counts"
    print(header)
    for name, _, _ in plan:
        rs = runs[name]
        vs_plain = [a["wall"] / b["wall"] for a, b in zip(runs["plain loop"], rs)]
        vs_serial = [a["wall"] / b["wall"] for a, b in zip(runs["count_words"], rs)]
        same = "equal" if all(x["digest"] == reference_digest for x in rs) else "DIFFER"
        peak = statistics.median(x["rss_peak_mb"] for x in rs)
        above = statistics.median(x["rss_peak_mb"] - x["rss_start_mb"] for x in rs)
        workers = statistics.median(x["workers_peak_mb"] for x in rs)
        print(f"{name:<28} {summary([x['wall'] for x in rs]):>18} {summary([x['cpu'] for x in rs]):>18} "
              f"{summary(vs_plain):>20} {summary(vs_serial):>20} {peak:8.0f} {above:7.0f} {workers:9.0f}  {same}",
              flush=True)
    serial_walls = [x["wall"] for x in runs["count_words"]]
    print(f"noise: the serial runs' wall times spread by {100 * (max(serial_walls) / min(serial_walls) - 1):.1f}% "
          "from fastest to slowest")

    if "count_words_parallel P=2" in runs:
        ratios = [a["wall"] / b["wall"] for a, b in zip(runs["count_words"], runs["count_words_parallel P=2"])]
        ratio = statistics.median(ratios)
        print(f"\ntarget: P=2 words/s >= 1.8x serial -> {summary(ratios)}x: {'met' if ratio >= 1.8 else 'NOT met'} "
              "(median of the paired rounds)")
    timing_checks(corpus)
    results = {name: rs[0] for name, rs in runs.items()}

    if not args.quick:
        big = workdir / "corpus_x3.txt"
        big.write_text(corpus.read_text(encoding="utf-8") * 3, encoding="utf-8")
        print("\nmemory against corpus size (peak MB of the calling process; corpus x1 -> x3)")
        p = min(2, max(process_counts))
        for name, method in ((f"count_words_parallel P={p}", "parallel"), (f"jieba.enable_parallel({p})", "jieba")):
            if name not in results:
                continue
            r3 = run(method, big, p)
            r1 = results[name]
            print(f"{name:<28} x1: {r1['rss_peak_mb'] - r1['rss_start_mb']:7.0f} MB above start   "
                  f"x3: {r3['rss_peak_mb'] - r3['rss_start_mb']:7.0f} MB above start   "
                  f"({r3['tokens'] / r3['wall']:,.0f} words/s)", flush=True)
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
