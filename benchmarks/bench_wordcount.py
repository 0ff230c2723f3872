"""Words per second and peak memory of jieba word counting: kbook.wordcount against plain loops.

    .venv/bin/python benchmarks/bench_wordcount.py             # ~2 minutes on 2 idle cores
    .venv/bin/python benchmarks/bench_wordcount.py --quick     # first 4,000 paragraphs, no scaling run

Corpus: People's Daily, January 1998 (``kbook.data.people_daily_text()``, 19,484 paragraphs), written
to a temporary file with one paragraph per line and read back lazily by every method.

Methods, each in its own fresh interpreter (so peak memory is its own), each loading jieba's
dictionary before its clock starts:

* ``plain loop``: ``Counter.update(jieba.lcut(line))`` over the file's lines — the reference;
* ``count_words``: kbook's serial counter (same work, plus per-phase timing);
* ``count_words_parallel P=k``: kbook's process pool, ``fork`` workers, chunks of 500 paragraphs;
* ``jieba.enable_parallel(k)``: jieba's own parallel mode, which needs the whole text as one
  string (it splits it into lines and maps them over a ``multiprocessing.Pool``).

Every method's counts are checked against the reference (jieba's own mode also emits one ``"\\n"``
token per line, which is removed before comparing). Peak memory: the calling process's peak RSS
during the run (on Linux the peak mark is reset after jieba's dictionary is loaded, so the table's
"main MB" is the peak of the run itself; elsewhere it is the process's lifetime peak) and the
largest ``ru_maxrss`` among its worker processes. The scaling run repeats the corpus
three times: a streaming method's peak should not grow with it, a whole-text method's does.

Target from the issue: with 2 processes on a 2-core machine, at least 1.8x the serial words per
second. The 1-minute load average is printed before and after: on a shared machine the ratios
are only as good as the cores were idle.
"""

from __future__ import annotations

import argparse
import hashlib
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


def child(method: str, path: str, processes: int) -> None:
    """Run one method in this (fresh) process and print one JSON line of results."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    from kbook.wordcount import count_words, count_words_parallel

    base_rss = reset_peak_rss()
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
        text = Path(path).read_text(encoding="utf-8")
        counts = Counter(jieba.cut(text))
        del counts["\n"]
        jieba.disable_parallel()
    else:
        raise ValueError(f"unknown method {method!r}")
    wall = time.perf_counter() - start
    print(json.dumps(dict(
        wall=wall, tokens=sum(counts.values()), digest=digest(counts),
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
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.file, args.processes[0])
        return

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

    results = {}
    plan = [("plain loop", "plain", 1), ("count_words", "serial", 1)]
    plan += [(f"count_words_parallel P={p}", "parallel", p) for p in process_counts]
    plan += [(f"jieba.enable_parallel({p})", "jieba", p) for p in process_counts if p > 1]
    header = f"{'method':<28} {'wall s':>7} {'words/s':>10} {'vs plain':>8} {'vs serial':>9} " \
             f"{'main MB':>8} {'+run MB':>7} {'worker MB':>9}  counts"
    print(header)
    for name, method, p in plan:
        r = results[name] = run(method, corpus, p)
        r["wps"] = r["tokens"] / r["wall"]
        plain, serial = results["plain loop"], results.get("count_words", r)
        same = "equal" if r["digest"] == plain["digest"] else "DIFFER"
        print(f"{name:<28} {r['wall']:7.2f} {r['wps']:10,.0f} {r['wps'] / plain['wps']:8.2f} "
              f"{r['wps'] / serial['wps']:9.2f} {r['rss_peak_mb']:8.0f} {r['rss_peak_mb'] - r['rss_start_mb']:7.0f} "
              f"{r['workers_peak_mb']:9.0f}  {same}",
              flush=True)

    two = results.get("count_words_parallel P=2")
    if two:
        ratio = two["wps"] / results["count_words"]["wps"]
        print(f"\ntarget: P=2 words/s >= 1.8x serial -> {ratio:.2f}x: {'met' if ratio >= 1.8 else 'NOT met'}")

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
