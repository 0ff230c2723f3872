"""Word frequencies with jieba, in one process or over a pool of processes, timed phase by phase.

See the chapter: ``notebooks/multiprocess-speedup.ipynb`` ("When can a multiprocess speed-up beat
the process count?").

:func:`count_words` tokenizes and counts in the calling process; :func:`count_words_parallel`
cuts any iterable of texts (a generator over a file is the normal case) into chunks, has a pool of
worker processes tokenize and count each chunk into its own small ``Counter``, and merges the
chunk counts in the calling process. The two return exactly the same ``Counter``. With
``return_stats=True`` both also return a :class:`CountStats`: where the time went (reading,
initialising the tokenizer, tokenizing, counting, pickling in both directions, merging, waiting,
the cyclic garbage collector), the volumes (texts, characters, tokens, bytes) and the progress
curve (characters done against seconds).

Workers are plain :mod:`concurrent.futures` processes, so they start with any start method
(``fork`` on Linux, ``spawn`` on macOS and Windows, ``forkserver``): the tokenizer travels to each
worker pickled, jieba's dictionary is loaded once per worker (timed as the ``init`` phase), and an
exception raised in a worker is re-raised in the caller with its type and message.

CPU time is recorded next to wall time: ``cpu_main`` for the calling process and ``cpu_workers``
for the worker processes (their whole lives, from the operating system's accounting), so that
a comparison can be made in CPU seconds per token, which other processes on a shared machine
inflate far less than wall time (not by nothing: busy neighbours still share caches and memory). :func:`interleaved_rounds` and :func:`paired_ratio` are the small timing tools the
chapter uses: run every configuration once per round, alternating the order, and summarise the
ratio within each round by its median and range.

Imports: only the standard library at module level (no NumPy, Keras, TensorFlow or JAX; the
``kbook`` package itself loads its light spine, with NumPy, first).
jieba is imported lazily, by :class:`JiebaTokenizer`, in each process that tokenizes with it.
``resource`` (POSIX) is used for the workers' CPU time where it exists.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import dataclasses
import gc
import itertools
import logging
import multiprocessing
import numbers
import os
import pickle
import statistics
import time

try:  # POSIX only: the CPU time of terminated child processes
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None

__all__ = [
    "JiebaTokenizer",
    "CountStats",
    "GcClock",
    "count_words",
    "count_words_parallel",
    "interleaved_rounds",
    "paired_ratio",
    "RatioSummary",
]

_PROTOCOL = pickle.HIGHEST_PROTOCOL


class JiebaTokenizer:
    """``jieba.lcut`` as a small picklable object, so it can travel to worker processes.

    ``jieba.lcut`` itself is a bound method of jieba's global tokenizer, which holds a lock and
    (once loaded) a dictionary of about half a million words: it cannot be pickled, and should not
    be. This object pickles as its two options only; in every process it calls the global
    ``jieba.lcut``, which loads jieba's dictionary the first time (:meth:`initialize` does it
    eagerly and returns how long it took).

    Args:
        hmm: use jieba's HMM to glue unknown words (jieba's default, True).
        cut_all: jieba's "full mode" (all dictionary words, overlapping; default False).

    Example:
        >>> tokenize = JiebaTokenizer()
        >>> tokenize("我们在北京") == __import__("jieba").lcut("我们在北京")  # doctest: +SKIP
        True
        >>> import pickle; pickle.loads(pickle.dumps(tokenize)) == tokenize
        True
    """

    def __init__(self, hmm: bool = True, cut_all: bool = False):
        if not isinstance(hmm, bool):
            raise TypeError(f"hmm must be a bool, got {type(hmm).__name__}")
        if not isinstance(cut_all, bool):
            raise TypeError(f"cut_all must be a bool, got {type(cut_all).__name__}")
        self.hmm = hmm
        self.cut_all = cut_all

    def initialize(self) -> float:
        """Import jieba (quietly) and load its dictionary in this process; return the seconds spent.

        Nearly free when the dictionary is already loaded (a forked child of a process that loaded
        it inherits it).
        """
        start = time.perf_counter()
        import jieba

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        return time.perf_counter() - start

    def __call__(self, text: str) -> list[str]:
        import jieba

        return jieba.lcut(text, cut_all=self.cut_all, HMM=self.hmm)

    def __eq__(self, other) -> bool:
        return isinstance(other, JiebaTokenizer) and (self.hmm, self.cut_all) == (other.hmm, other.cut_all)

    def __hash__(self) -> int:
        return hash((JiebaTokenizer, self.hmm, self.cut_all))

    def __repr__(self) -> str:
        return f"JiebaTokenizer(hmm={self.hmm}, cut_all={self.cut_all})"


class GcClock:
    """Total seconds spent in CPython's cyclic garbage collector while the clock is installed.

    Uses ``gc.callbacks``, so it measures the collector itself (every generation), not its effect
    on caches. Use as a context manager, or :meth:`install` once for a whole process.

    Example:
        >>> import gc
        >>> with GcClock() as clock:
        ...     _ = gc.collect()
        >>> clock.seconds > 0 and clock.collections >= 1
        True
    """

    def __init__(self):
        self.seconds = 0.0
        self.collections = 0
        self._started = None

    def _callback(self, phase, info):
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started is not None:
            self.seconds += time.perf_counter() - self._started
            self.collections += 1
            self._started = None

    def install(self) -> "GcClock":
        """Start timing collections (idempotent)."""
        if self._callback not in gc.callbacks:
            gc.callbacks.append(self._callback)
        return self

    def remove(self) -> None:
        """Stop timing collections."""
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)

    def __enter__(self) -> "GcClock":
        return self.install()

    def __exit__(self, *exc) -> None:
        self.remove()


@dataclasses.dataclass
class CountStats:
    """Where the time of one counting run went, and how much it processed.

    Main-process phases (one thread, they add up to about ``wall``): ``read`` (pulling texts from
    the iterable and checking them), ``send`` (pickling chunks), ``wait`` (blocked until a worker
    finishes), ``receive`` (unpickling chunk counts), ``merge`` (adding them to the total),
    ``startup`` / ``shutdown`` (creating and joining the pool). In a serial run ``init``,
    ``tokenize`` and ``count`` also happen in the main process.

    Worker phases (summed over all workers, so they can add up to ``processes * wall``): ``init``
    (loading the tokenizer, e.g. jieba's dictionary, once per worker; per worker in
    ``init_per_worker``), ``load`` (unpickling a chunk), ``tokenize``, ``count``, ``dump``
    (pickling the chunk's counts). ``gc`` is the cyclic collector's time in all processes
    (``gc_main`` in the calling one) and ``gc_collections`` the number of collections.

    ``progress`` lists ``(characters counted so far, seconds since start)`` after each chunk, and
    ``max_in_flight`` the largest number of chunks that were out with workers at once.
    ``started`` is ``time.perf_counter()`` at the start of the run, and ``cpu_main`` the CPU time
    (``time.process_time()``, all threads) the calling process used during it: equal to ``wall``
    when a serial run was never descheduled. Likewise ``worker_cpu`` over ``worker_busy`` (CPU and
    wall seconds of the workers' tasks, summed) is below 1 when other processes took the workers'
    cores. ``cpu_workers`` is the CPU time of the worker processes over their whole lives
    (start-up, dictionary load, tasks, shutdown), read from the operating system's accounting of
    terminated children (``resource.RUSAGE_CHILDREN``; any other child process of the caller that
    ends during the run is counted too). Where ``resource`` does not exist (Windows) it falls
    back to ``worker_cpu``. It is 0 for a serial run; ``cpu_total`` is ``cpu_main + cpu_workers``.
    """

    mode: str
    processes: int
    start_method: str | None = None
    wall: float = 0.0
    read: float = 0.0
    send: float = 0.0
    wait: float = 0.0
    receive: float = 0.0
    merge: float = 0.0
    startup: float = 0.0
    shutdown: float = 0.0
    init: float = 0.0
    load: float = 0.0
    tokenize: float = 0.0
    count: float = 0.0
    dump: float = 0.0
    gc: float = 0.0
    gc_main: float = 0.0
    gc_collections: int = 0
    worker_busy: float = 0.0
    worker_cpu: float = 0.0
    n_texts: int = 0
    n_chars: int = 0
    n_tokens: int = 0
    n_chunks: int = 0
    max_in_flight: int = 0
    started: float = 0.0
    cpu_main: float = 0.0
    cpu_workers: float = 0.0
    bytes_sent: int = 0
    bytes_received: int = 0
    init_per_worker: dict = dataclasses.field(default_factory=dict)
    chunks_per_worker: dict = dataclasses.field(default_factory=dict)
    progress: list = dataclasses.field(default_factory=list)

    MAIN_PHASES = ("read", "send", "wait", "receive", "merge", "startup", "shutdown")
    WORKER_PHASES = ("init", "load", "tokenize", "count", "dump")

    @property
    def words_per_second(self) -> float:
        """Tokens counted per second of wall time."""
        return self.n_tokens / self.wall if self.wall > 0 else float("nan")

    @property
    def cpu_total(self) -> float:
        """CPU seconds of the calling process and of all worker processes: ``cpu_main + cpu_workers``."""
        return self.cpu_main + self.cpu_workers

    @property
    def cpu_per_token(self) -> float:
        """``cpu_total / n_tokens``: CPU seconds spent per token counted (nan for no tokens)."""
        return self.cpu_total / self.n_tokens if self.n_tokens else float("nan")

    @property
    def transfer(self) -> float:
        """Seconds spent moving data between processes: ``send + load + dump + receive``."""
        return self.send + self.load + self.dump + self.receive

    def as_dict(self) -> dict:
        """A plain dict of every field plus the derived ``words_per_second``, ``transfer``,
        ``cpu_total`` and ``cpu_per_token``."""
        out = dataclasses.asdict(self)
        out.update(words_per_second=self.words_per_second, transfer=self.transfer, cpu_total=self.cpu_total,
                   cpu_per_token=self.cpu_per_token)
        return out


# --------------------------------------------------------------------------------------- checks


def _check_positive_int(value, name: str, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        expected = "a positive int or None" if allow_none else "a positive int"
        raise TypeError(f"{name} must be {expected}, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def _check_bool(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool (True or False), got {type(value).__name__}")
    return value


def _children_cpu() -> float:
    """CPU seconds (user + system) of this process's terminated, waited-for children so far."""
    if resource is None:  # pragma: no cover - Windows
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _resolve_tokenize(tokenize):
    if tokenize is None:
        return JiebaTokenizer()
    if not callable(tokenize):
        raise TypeError(f"tokenize must be a callable str -> iterable of str, got {type(tokenize).__name__}")
    # jieba.lcut is a bound method of jieba's global Tokenizer, which cannot be pickled.
    owner = getattr(tokenize, "__self__", None)
    if getattr(tokenize, "__name__", None) == "lcut" and type(owner).__module__.startswith("jieba"):
        import jieba

        if owner is jieba.dt:
            return JiebaTokenizer()
    return tokenize


def _iter_texts(texts):
    if isinstance(texts, (str, bytes)):
        raise TypeError("texts must be an iterable of str (one text per item), not a single str/bytes")
    try:
        iterator = iter(texts)
    except TypeError:
        raise TypeError(f"texts must be an iterable of str, got {type(texts).__name__}") from None
    return iterator


def _take(iterator, size: int, offset: int) -> list:
    """The next ``size`` texts, type-checked (``offset`` is the index of the first, for messages)."""
    chunk = list(itertools.islice(iterator, size))
    for i, text in enumerate(chunk):
        if not isinstance(text, str):
            raise TypeError(f"texts must contain only str, but item {offset + i} is {type(text).__name__}")
    return chunk


def _prune(counter: collections.Counter, min_count: int) -> collections.Counter:
    if min_count > 1:
        return collections.Counter({token: n for token, n in counter.items() if n >= min_count})
    return counter


def _as_token_list(tokens, tokenize) -> list:
    """``list(tokens)``, refusing a str (it would be counted character by character) or a non-iterable."""
    if isinstance(tokens, (str, bytes)):
        raise TypeError(f"tokenize must return an iterable of tokens (e.g. a list of str), but {tokenize!r} "
                        f"returned a single {type(tokens).__name__}")
    try:
        return list(tokens)
    except TypeError:
        raise TypeError(f"tokenize must return an iterable of tokens (e.g. a list of str), but {tokenize!r} "
                        f"returned {type(tokens).__name__}") from None


def _count_chunk_into(counter, texts, tokenize):
    """Tokenize and count ``texts`` into ``counter``; return (tokenize s, count s, tokens, chars)."""
    clock = time.perf_counter
    update = counter.update
    tokenize_s = count_s = 0.0
    n_tokens = n_chars = 0
    for text in texts:
        a = clock()
        tokens = tokenize(text)
        if not isinstance(tokens, list):  # a generator (e.g. jieba.cut) is consumed while tokenizing
            tokens = _as_token_list(tokens, tokenize)
        b = clock()
        update(tokens)
        c = clock()
        tokenize_s += b - a
        count_s += c - b
        n_tokens += len(tokens)
        n_chars += len(text)
    return tokenize_s, count_s, n_tokens, n_chars


# --------------------------------------------------------------------------------------- serial


def count_words(texts, tokenize=None, *, batch_size=None, min_batch_count=1, return_stats=False,
                progress_every=500):
    """Count tokens over ``texts`` in the calling process.

    Args:
        texts: an iterable of str (a list, or a generator reading a file); consumed once.
        tokenize: a callable ``str -> iterable of str``; None means ``jieba.lcut``
            (a :class:`JiebaTokenizer`, whose dictionary load is timed as ``init``).
        batch_size: None counts everything into one ``Counter``. An int counts each batch of that
            many texts into a fresh, small ``Counter`` and merges it into the total, exactly what
            :func:`count_words_parallel` does per chunk (the single-process control for it).
        min_batch_count: with ``batch_size``, drop tokens seen fewer times than this within a batch
            before merging. 1 (default) is exact; more is an approximation that does less work.
        return_stats: also return a :class:`CountStats`.
        progress_every: record a point of ``stats.progress`` every this many texts.

    Returns:
        A ``collections.Counter`` token -> occurrences, or ``(Counter, CountStats)``.

    Raises:
        TypeError: ``texts`` is a str or not iterable, an item is not a str, ``tokenize`` is not
            callable or returns a str or a non-iterable, a size is not an int (``True`` is not
            one), or ``return_stats`` is not a bool.
        ValueError: ``batch_size``, ``min_batch_count`` or ``progress_every`` is below 1.

    Example:
        >>> count_words(["a b a", "b c", ""], tokenize=str.split)
        Counter({'a': 2, 'b': 2, 'c': 1})
        >>> counts, stats = count_words(["a b a"], tokenize=str.split, return_stats=True)
        >>> stats.n_texts, stats.n_tokens, stats.n_chars
        (1, 3, 5)
    """
    tokenize = _resolve_tokenize(tokenize)
    return_stats = _check_bool(return_stats, "return_stats")
    batch_size = _check_positive_int(batch_size, "batch_size", allow_none=True)
    min_batch_count = _check_positive_int(min_batch_count, "min_batch_count")
    progress_every = _check_positive_int(progress_every, "progress_every")
    if min_batch_count > 1 and batch_size is None:
        raise ValueError("min_batch_count > 1 needs a batch_size (pruning happens per batch)")
    iterator = _iter_texts(texts)
    stats = CountStats(mode="serial" if batch_size is None else "serial-batched", processes=1)
    total = collections.Counter()
    step = batch_size or progress_every
    clock = time.perf_counter
    with GcClock() as gc_clock:
        cpu_start = time.process_time()
        start = stats.started = clock()
        initialize = getattr(tokenize, "initialize", None)
        if callable(initialize):
            initialize()
            stats.init = clock() - start
        while True:
            a = clock()
            chunk = _take(iterator, step, stats.n_texts)
            stats.read += clock() - a
            if not chunk:
                break
            target = total if batch_size is None else collections.Counter()
            tok, cnt, n_tokens, n_chars = _count_chunk_into(target, chunk, tokenize)
            stats.tokenize += tok
            stats.count += cnt
            if batch_size is not None:
                b = clock()
                total.update(_prune(target, min_batch_count))
                stats.merge += clock() - b
            stats.n_texts += len(chunk)
            stats.n_tokens += n_tokens
            stats.n_chars += n_chars
            stats.n_chunks += 1
            stats.progress.append((stats.n_chars, clock() - start))
        stats.wall = clock() - start
        stats.cpu_main = time.process_time() - cpu_start
    stats.gc = stats.gc_main = gc_clock.seconds
    stats.gc_collections = gc_clock.collections
    return (total, stats) if return_stats else total


# ------------------------------------------------------------------------------------- workers

_WORKER: dict = {}


def _init_worker(payload: bytes) -> None:
    """Runs once in every worker: unpickle the tokenizer, load it, start the gc clock.

    Errors are kept and re-raised by the first task, so the caller sees their message (an
    exception escaping an initializer only breaks the pool, with a generic message).
    """
    start = time.perf_counter()
    _WORKER.clear()
    _WORKER["gc"] = GcClock().install()
    try:
        tokenize = pickle.loads(payload)
        initialize = getattr(tokenize, "initialize", None)
        if callable(initialize):
            initialize()
        _WORKER["tokenize"] = tokenize
    except BaseException as exc:  # noqa: BLE001 - reported to the caller by _count_task
        _WORKER["error"] = f"{type(exc).__name__}: {exc}"
    _WORKER["init"] = time.perf_counter() - start


def _count_task(blob: bytes, min_chunk_count: int):
    """Count one pickled chunk in a worker; return the pickled counts and the phase timings."""
    if "error" in _WORKER:
        raise RuntimeError(f"the worker process could not load tokenize: {_WORKER['error']}")
    clock = time.perf_counter
    cpu_start = time.process_time()
    gc_before, collections_before = _WORKER["gc"].seconds, _WORKER["gc"].collections
    a = clock()
    texts = pickle.loads(blob)
    b = clock()
    counter = collections.Counter()
    tokenize_s, count_s, n_tokens, n_chars = _count_chunk_into(counter, texts, _WORKER["tokenize"])
    c = clock()
    out = pickle.dumps(_prune(counter, min_chunk_count), protocol=_PROTOCOL)
    d = clock()
    cpu = time.process_time() - cpu_start
    info = dict(busy=d - a, cpu=cpu, pid=os.getpid(), init=_WORKER.pop("init", None), load=b - a,
                tokenize=tokenize_s, count=count_s, dump=d - c, gc=_WORKER["gc"].seconds - gc_before,
                gc_collections=_WORKER["gc"].collections - collections_before, n_tokens=n_tokens,
                n_chars=n_chars)
    return out, info


# ------------------------------------------------------------------------------------ parallel


def count_words_parallel(texts, processes=None, tokenize=None, chunk_size=500, *, start_method=None,
                         max_pending=None, min_chunk_count=1, return_stats=False):
    """Count tokens over ``texts`` with a pool of worker processes; equal to :func:`count_words`.

    The calling process reads ``chunk_size`` texts at a time, pickles the chunk and hands it to a
    worker; each worker tokenizes and counts its chunk into a fresh ``Counter`` and sends it back;
    the caller merges. At most ``max_pending`` chunks are in flight, so memory is bounded by the
    chunk size, not by the corpus: ``texts`` is never materialised.

    Args:
        texts: an iterable of str (a generator over a large file is the normal case).
        processes: number of worker processes; None means every core available to this process.
        tokenize: a picklable callable ``str -> iterable of str`` (a module-level function,
            a builtin such as ``str.split``, an instance of a module-level class); None (or
            ``jieba.lcut``) means a :class:`JiebaTokenizer`, initialised once in every worker.
        chunk_size: texts per chunk.
        start_method: ``"fork"``, ``"spawn"``, ``"forkserver"`` or None (the platform default).
        max_pending: chunks in flight at once; None means ``2 * processes``.
        min_chunk_count: drop tokens seen fewer times than this within a chunk before sending the
            counts back. 1 (default) is exact; more is an approximation that does less work.
        return_stats: also return a :class:`CountStats`.

    Returns:
        A ``collections.Counter`` token -> occurrences, or ``(Counter, CountStats)``.

    Raises:
        TypeError: ``texts`` is a str or not iterable, an item is not a str, ``tokenize`` is not
            callable, cannot be pickled, or returns a str or a non-iterable, a size (``processes``
            included) is not an int (``True`` is not one), ``start_method`` is not a str, or
            ``return_stats`` is not a bool.
        ValueError: ``processes``, ``chunk_size``, ``max_pending`` or ``min_chunk_count`` is below
            1, or ``start_method`` is unknown.
        Any exception raised by ``tokenize`` in a worker, re-raised here with its message.

    Example:
        >>> counts = count_words_parallel(["a b a", "b c", ""], processes=2, tokenize=str.split, chunk_size=1)
        >>> sorted(counts.items())  # chunks finish in any order, so compare contents, not insertion order
        [('a', 2), ('b', 2), ('c', 1)]
        >>> texts = (line for line in ["天气 很好", "很好"])  # any iterable, consumed lazily
        >>> count_words_parallel(texts, processes=1, tokenize=str.split) == collections.Counter({'很好': 2, '天气': 1})
        True
    """
    if processes is None:
        processes = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    processes = _check_positive_int(processes, "processes")
    return_stats = _check_bool(return_stats, "return_stats")
    chunk_size = _check_positive_int(chunk_size, "chunk_size")
    max_pending = _check_positive_int(max_pending, "max_pending", allow_none=True) or 2 * processes
    min_chunk_count = _check_positive_int(min_chunk_count, "min_chunk_count")
    if start_method is not None and not isinstance(start_method, str):
        raise TypeError(f"start_method must be a str or None, got {type(start_method).__name__}")
    if start_method is not None and start_method not in multiprocessing.get_all_start_methods():
        raise ValueError(
            f"start_method must be one of {multiprocessing.get_all_start_methods()} or None, got {start_method!r}"
        )
    tokenize = _resolve_tokenize(tokenize)
    try:
        payload = pickle.dumps(tokenize, protocol=_PROTOCOL)
    except Exception as exc:
        raise TypeError(
            f"tokenize must be picklable to reach the worker processes (use a module-level function or "
            f"a builtin, not a lambda or a closure); pickling {tokenize!r} failed: {exc}"
        ) from exc
    iterator = _iter_texts(texts)
    context = multiprocessing.get_context(start_method)

    stats = CountStats(mode="parallel", processes=processes, start_method=context.get_start_method())
    total = collections.Counter()
    clock = time.perf_counter
    executor = None
    pending = set()

    def collect(futures):
        for future in futures:
            out, info = future.result()  # re-raises a worker's exception here
            a = clock()
            counts = pickle.loads(out)
            b = clock()
            total.update(counts)
            stats.merge += clock() - b
            stats.receive += b - a
            stats.bytes_received += len(out)
            pid = info["pid"]
            if info["init"] is not None:
                stats.init_per_worker[pid] = info["init"]
                stats.init += info["init"]
            stats.chunks_per_worker[pid] = stats.chunks_per_worker.get(pid, 0) + 1
            for phase in ("load", "tokenize", "count", "dump", "gc", "gc_collections"):
                setattr(stats, phase, getattr(stats, phase) + info[phase])
            stats.worker_busy += info["busy"]
            stats.worker_cpu += info["cpu"]
            stats.n_tokens += info["n_tokens"]
            stats.n_chars += info["n_chars"]
            stats.progress.append((stats.n_chars, clock() - start))

    def wait_for(return_when):
        nonlocal pending
        a = clock()
        done, pending = cf.wait(pending, return_when=return_when)
        stats.wait += clock() - a
        collect(done)

    with GcClock() as gc_clock:
        cpu_start = time.process_time()
        children_start = _children_cpu()
        start = stats.started = clock()
        try:
            while True:
                a = clock()
                chunk = _take(iterator, chunk_size, stats.n_texts)
                stats.read += clock() - a
                if not chunk:
                    break
                if executor is None:
                    a = clock()
                    executor = cf.ProcessPoolExecutor(processes, mp_context=context, initializer=_init_worker,
                                                      initargs=(payload,))
                    stats.startup += clock() - a
                a = clock()
                blob = pickle.dumps(chunk, protocol=_PROTOCOL)
                pending.add(executor.submit(_count_task, blob, min_chunk_count))
                stats.send += clock() - a
                stats.bytes_sent += len(blob)
                stats.n_texts += len(chunk)
                stats.n_chunks += 1
                stats.max_in_flight = max(stats.max_in_flight, len(pending))
                while len(pending) >= max_pending:
                    wait_for(cf.FIRST_COMPLETED)
            while pending:
                wait_for(cf.FIRST_COMPLETED)
        finally:
            if executor is not None:
                a = clock()
                executor.shutdown(wait=True, cancel_futures=True)  # joins (and so reaps) the workers
                stats.shutdown += clock() - a
        stats.wall = clock() - start
        stats.cpu_main = time.process_time() - cpu_start
        stats.cpu_workers = _children_cpu() - children_start if resource is not None else stats.worker_cpu
    stats.gc_main = gc_clock.seconds
    stats.gc_collections += gc_clock.collections
    stats.gc += gc_clock.seconds
    return (total, stats) if return_stats else total


# ----------------------------------------------------------------------------- paired timing


def interleaved_rounds(configs, rounds):
    """Call every configuration once per round, for ``rounds`` rounds, alternating the order.

    Round 0 runs the configurations in the order given, round 1 in the reverse order, round 2 in
    the given order again, and so on, so that no configuration always runs first (or always
    right after the most expensive one). Comparing two configurations *within* a round, a few
    seconds apart, cancels the slow drift of a shared machine's speed; :func:`paired_ratio`
    summarises such within-round ratios.

    Args:
        configs: a dict ``name -> callable()`` (no arguments); at least one entry.
        rounds: the number of rounds, a positive int.

    Returns:
        A dict ``name -> list`` of the ``rounds`` values each callable returned, in round order.

    Raises:
        TypeError: ``configs`` is not a dict, a value is not callable, or ``rounds`` is not an int.
        ValueError: ``configs`` is empty or ``rounds`` is below 1.

    Example:
        >>> calls = []
        >>> out = interleaved_rounds({"a": lambda: calls.append("a") or 1, "b": lambda: calls.append("b") or 2}, 3)
        >>> calls
        ['a', 'b', 'b', 'a', 'a', 'b']
        >>> out
        {'a': [1, 1, 1], 'b': [2, 2, 2]}
    """
    if not isinstance(configs, dict):
        raise TypeError(f"configs must be a dict name -> callable, got {type(configs).__name__}")
    if not configs:
        raise ValueError("configs must contain at least one configuration")
    for name, run in configs.items():
        if not callable(run):
            raise TypeError(f"configs[{name!r}] must be callable with no arguments, got {type(run).__name__}")
    rounds = _check_positive_int(rounds, "rounds")
    names = list(configs)
    results = {name: [] for name in names}
    for r in range(rounds):
        for name in names if r % 2 == 0 else reversed(names):
            results[name].append(configs[name]())
    return results


@dataclasses.dataclass(frozen=True)
class RatioSummary:
    """Within-round ratios ``numerator[i] / denominator[i]`` and their median and range."""

    median: float
    low: float
    high: float
    values: tuple

    def __format__(self, spec: str) -> str:
        spec = spec or ".2f"
        return f"{format(self.median, spec)} [{format(self.low, spec)}, {format(self.high, spec)}]"


def paired_ratio(numerator, denominator) -> RatioSummary:
    """Ratios taken within each round, summarised by their median and range over the rounds.

    For wall times, ``paired_ratio(serial_walls, pool_walls)`` is the speed-up of the pool in each
    round; for CPU times, ``paired_ratio(pool_cpu, serial_cpu)`` is how much more CPU the pool
    spent on the same work.

    Args:
        numerator: a sequence of positive finite numbers, one per round.
        denominator: a sequence of the same length, one per round.

    Returns:
        A :class:`RatioSummary` (``median``, ``low``, ``high``, ``values``); formatting it
        (``f"{summary:.2f}"``) gives ``"median [low, high]"``.

    Raises:
        TypeError: an argument is not a sequence of real numbers.
        ValueError: the lengths differ, are zero, or a value is not positive and finite.

    Example:
        >>> s = paired_ratio([6.0, 9.0, 6.6], [3.0, 3.0, 3.3])
        >>> s.median, s.low, s.high
        (2.0, 2.0, 3.0)
        >>> f"{s:.1f}"
        '2.0 [2.0, 3.0]'
    """
    columns = []
    for name, values in (("numerator", numerator), ("denominator", denominator)):
        if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
            raise TypeError(f"{name} must be a sequence of numbers (one per round), got {type(values).__name__}")
        for v in values:
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise TypeError(f"{name} must contain real numbers, got {type(v).__name__}")
            if not (v > 0 and v != float("inf")):
                raise ValueError(f"{name} must contain positive finite numbers, got {v!r}")
        columns.append([float(v) for v in values])
    top, bottom = columns
    if len(top) != len(bottom):
        raise ValueError(f"numerator and denominator must have one value per round each, got {len(top)} "
                         f"and {len(bottom)}")
    if not top:
        raise ValueError("numerator and denominator must not be empty")
    ratios = tuple(a / b for a, b in zip(top, bottom))
    return RatioSummary(statistics.median(ratios), min(ratios), max(ratios), ratios)
