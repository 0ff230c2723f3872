"""kbook.wordcount: serial and parallel counts equal an independent count, on any start method.

References that do not share the module's code: ``str.count`` over the joined corpus (character
tokenizer), ``re.findall`` (whitespace tokenizer), and a plain ``Counter`` over ``jieba.lcut``.
"""

import collections
import itertools
import logging
import pickle
import re
import statistics

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kbook.wordcount import (
    CountStats,
    GcClock,
    JiebaTokenizer,
    RatioSummary,
    count_words,
    count_words_parallel,
    interleaved_rounds,
    paired_ratio,
)

jieba = pytest.importorskip("jieba")
jieba.setLogLevel(logging.WARNING)

# Texts mixing Chinese, Latin, digits, punctuation and whitespace; empty and punctuation-only
# texts and a few very long ones are drawn on purpose.
ALPHABET = "我们在北京天安门广场人民日报新年好的了,。!?、“”《》 \t\nab1"
text = st.text(alphabet=ALPHABET, max_size=40)
punctuation_only = st.text(alphabet=",。!?、“”《》 ", max_size=10)
long_text = st.builds(lambda s, n: s * n, st.text(alphabet=ALPHABET, min_size=1, max_size=20), st.integers(200, 600))
corpus = st.lists(st.one_of(text, text, st.just(""), punctuation_only, long_text), max_size=25)


def char_reference(texts):
    joined = "".join(texts)
    return collections.Counter({c: joined.count(c) for c in set(joined)})


def split_reference(texts):
    return collections.Counter(m for t in texts for m in re.findall(r"\S+", t))


def jieba_reference(texts):
    counts = collections.Counter()
    for t in texts:
        counts.update(jieba.lcut(t))
    return counts


# ------------------------------------------------------------------------------ exact counts


@settings(max_examples=40, deadline=None)
@given(corpus, st.integers(1, 7))
def test_serial_counts_equal_references(texts, batch_size):
    assert count_words(texts, tokenize=list) == char_reference(texts)
    assert count_words(texts, tokenize=str.split) == split_reference(texts)
    assert count_words(texts, tokenize=str.split, batch_size=batch_size) == split_reference(texts)


@settings(max_examples=12, deadline=None)
@given(corpus, st.integers(1, 3), st.integers(1, 6))
def test_parallel_counts_equal_references(texts, processes, chunk_size):
    assert count_words_parallel(texts, processes, tokenize=list, chunk_size=chunk_size) == char_reference(texts)
    got = count_words_parallel(iter(texts), processes, tokenize=str.split, chunk_size=chunk_size, max_pending=1)
    assert got == split_reference(texts)


@settings(max_examples=10, deadline=None)
@given(corpus, st.integers(1, 5))
def test_jieba_serial_and_parallel_equal_plain_loop(texts, chunk_size):
    jieba.initialize()  # loaded once here; forked workers inherit it
    reference = jieba_reference(texts)
    assert count_words(texts) == reference
    assert count_words(texts, tokenize=jieba.lcut) == reference
    assert count_words_parallel(texts, processes=2, chunk_size=chunk_size) == reference


def test_generator_input_is_consumed_lazily_and_once():
    consumed = []

    def lines():
        for i in range(50):
            consumed.append(i)
            yield f"w{i % 7} x"

    counts = count_words_parallel(lines(), processes=2, tokenize=str.split, chunk_size=4, max_pending=2)
    assert consumed == list(range(50))
    assert counts == collections.Counter({"x": 50, **{f"w{k}": len(range(k, 50, 7)) for k in range(7)}})


def test_parallel_reads_at_most_max_pending_chunks_ahead():
    # Memory is bounded by the chunk size: when text i is pulled from the generator, all but at most
    # (max_pending + 1) chunks of the texts before it have already been counted and merged.
    import time

    chunk_size, max_pending, pulled_at = 3, 2, []

    def lines():
        for i in range(90):
            pulled_at.append(time.perf_counter())
            yield "a b"

    _, stats = count_words_parallel(lines(), processes=2, tokenize=str.split, chunk_size=chunk_size,
                                    max_pending=max_pending, return_stats=True)
    assert stats.n_chunks == 30 and stats.max_in_flight <= max_pending
    merged_times = [stats.started + t for _, t in stats.progress]  # chunk k merged at merged_times[k]
    for i, when in enumerate(pulled_at):
        merged_texts = chunk_size * sum(t <= when for t in merged_times)
        assert i - merged_texts < (max_pending + 1) * chunk_size


def test_empty_corpus_starts_no_pool():
    counts, stats = count_words_parallel([], processes=2, tokenize=list, return_stats=True)
    assert counts == collections.Counter() and stats.startup == 0 and stats.n_chunks == 0
    assert count_words([], tokenize=list) == collections.Counter()


# ----------------------------------------------------------------------------- start methods


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_builtin_tokenizer_on_every_start_method(method):
    texts = ["a b", "b c c", "", "c"] * 5
    got, stats = count_words_parallel(texts, processes=2, tokenize=str.split, chunk_size=3, start_method=method,
                                      return_stats=True)
    assert got == split_reference(texts)
    assert stats.start_method == method


def test_spawn_workers_load_jieba_themselves():
    texts = ["我们在北京天安门广场。", "人民日报新年献词", "我们在北京"] * 4
    got, stats = count_words_parallel(texts, processes=2, chunk_size=2, start_method="spawn", return_stats=True)
    assert got == jieba_reference(texts)
    # every worker that counted a chunk reported its own initialisation (how long it took is a
    # benchmark question: benchmarks/bench_wordcount.py, not a test that a loaded machine can fail)
    assert 1 <= len(stats.init_per_worker) <= 2
    assert set(stats.init_per_worker) == set(stats.chunks_per_worker)
    assert all(seconds >= 0 for seconds in stats.init_per_worker.values())


# ---------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_worker_exception_reaches_caller_with_its_message(method):
    with pytest.raises(ValueError, match="invalid literal for int.*'oops'"):
        count_words_parallel(["oops", "oops"], processes=2, tokenize=int, chunk_size=1, start_method=method)


def _refuse_to_unpickle(message):
    raise RuntimeError(message)


class UnloadableTokenizer:
    """Pickles fine, but fails when a worker unpickles it (like a __main__ function under spawn)."""

    def __call__(self, text):
        return [text]

    def __reduce__(self):
        return (_refuse_to_unpickle, ("this tokenizer cannot be loaded here",))


def test_tokenizer_that_fails_to_load_in_worker_reports_why():
    with pytest.raises(RuntimeError, match="could not load tokenize.*cannot be loaded here"):
        count_words_parallel(["a", "b"], processes=1, tokenize=UnloadableTokenizer())


def test_unpicklable_tokenizer_is_refused_before_starting():
    with pytest.raises(TypeError, match="tokenize must be picklable"):
        count_words_parallel(["a"], processes=1, tokenize=lambda t: t.split())


@pytest.mark.parametrize("processes, error", [(0, ValueError), (-2, ValueError), (1.5, TypeError), (True, TypeError)])
def test_bad_process_counts(processes, error):
    with pytest.raises(error, match="processes"):
        count_words_parallel(["a"], processes=processes, tokenize=list)


@pytest.mark.parametrize("kwargs, error, name", [
    (dict(chunk_size=0), ValueError, "chunk_size"),
    (dict(chunk_size="3"), TypeError, "chunk_size"),
    (dict(max_pending=0), ValueError, "max_pending"),
    (dict(min_chunk_count=0), ValueError, "min_chunk_count"),
    (dict(start_method="teleport"), ValueError, "start_method"),
    (dict(tokenize="jieba"), TypeError, "tokenize"),
])
def test_bad_parallel_arguments(kwargs, error, name):
    kwargs.setdefault("tokenize", list)
    with pytest.raises(error, match=name):
        count_words_parallel(["a"], processes=1, **kwargs)


@pytest.mark.parametrize("counter", [count_words, lambda t, **k: count_words_parallel(t, 1, **k)])
def test_non_str_texts_are_refused_with_their_position(counter):
    with pytest.raises(TypeError, match="item 2 is bytes"):
        counter(["a", "b", b"c"], tokenize=list)
    with pytest.raises(TypeError, match="not a single str"):
        counter("a whole text", tokenize=list)
    with pytest.raises(TypeError, match="iterable of str, got int"):
        counter(42, tokenize=list)


def returns_a_str(text):
    return text.upper()


def returns_an_int(text):
    return len(text)


@pytest.mark.parametrize("tokenize, what", [(returns_a_str, "single str"), (returns_an_int, "returned int")])
@pytest.mark.parametrize("parallel", [False, True])
def test_tokenizer_must_return_tokens_not_a_str(tokenize, what, parallel):
    # a str would be counted character by character: a silent wrong answer, so it is refused
    with pytest.raises(TypeError, match=f"tokenize must return an iterable of tokens.*{what}"):
        if parallel:
            count_words_parallel(["ab", "c"], processes=1, tokenize=tokenize)
        else:
            count_words(["ab", "c"], tokenize=tokenize)


@pytest.mark.parametrize("counter", [count_words, lambda t, **k: count_words_parallel(t, 1, **k)])
@pytest.mark.parametrize("value", [1, "yes", None])
def test_return_stats_must_be_a_bool(counter, value):
    with pytest.raises(TypeError, match="return_stats must be a bool"):
        counter(["a"], tokenize=str.split, return_stats=value)


def test_bad_serial_arguments():
    with pytest.raises(ValueError, match="batch_size"):
        count_words(["a"], tokenize=list, batch_size=0)
    with pytest.raises(ValueError, match="min_batch_count"):
        count_words(["a"], tokenize=list, min_batch_count=2)
    with pytest.raises(TypeError, match="tokenize"):
        count_words(["a"], tokenize=3)
    with pytest.raises(TypeError, match="hmm"):
        JiebaTokenizer(hmm="yes")


# ----------------------------------------------------------------- pruning, stats, helpers


def test_pruning_drops_exactly_the_rare_per_chunk_tokens():
    texts = ["a a b", "c", "a b b", "d d d"]
    # chunks of 2: {"a": 2, "b": 1, "c": 1} -> {"a": 2}; {"a": 1, "b": 2, "d": 3} -> {"b": 2, "d": 3}
    expected = collections.Counter({"a": 2, "b": 2, "d": 3})
    assert count_words(texts, tokenize=str.split, batch_size=2, min_batch_count=2) == expected
    assert count_words_parallel(texts, 2, tokenize=str.split, chunk_size=2, min_chunk_count=2) == expected


def test_stats_add_up():
    texts = ["一二三 四", "五 六六", ""] * 30
    for counts, stats in (count_words(texts, tokenize=str.split, return_stats=True),
                          count_words_parallel(texts, 2, tokenize=str.split, chunk_size=7, return_stats=True)):
        assert isinstance(stats, CountStats)
        assert stats.n_texts == 90 and stats.n_chars == sum(map(len, texts))
        assert stats.n_tokens == sum(counts.values()) == 120
        assert stats.progress[-1][0] == stats.n_chars
        assert all(t2 >= t1 for (_, t1), (_, t2) in itertools.pairwise(stats.progress))
        phases = stats.MAIN_PHASES + (("init", "tokenize", "count") if stats.mode == "serial" else ())
        # disjoint intervals of one thread, read from one clock, inside the wall interval
        assert sum(getattr(stats, p) for p in phases) <= stats.wall * 1.05 + 1e-3
        assert all(getattr(stats, p) >= 0 for p in stats.MAIN_PHASES + stats.WORKER_PHASES)
        assert stats.words_per_second > 0 and stats.cpu_main >= 0
        assert stats.cpu_per_token == pytest.approx(stats.cpu_total / stats.n_tokens)
    assert stats.n_chunks == 13 and sum(stats.chunks_per_worker.values()) == 13
    assert 0 < stats.worker_busy and 0 <= stats.worker_cpu
    assert stats.bytes_sent > 0 and stats.bytes_received > 0
    assert stats.transfer == pytest.approx(stats.send + stats.load + stats.dump + stats.receive)


def test_gc_clock_times_collections():
    import gc

    with GcClock() as clock:
        garbage = [[] for _ in range(1000)]
        for item in garbage:
            item.append(item)  # reference cycles: only the cyclic collector frees them
        del garbage, item
        freed = gc.collect()
    assert freed >= 1000
    assert clock.collections >= 1 and clock.seconds > 0
    before = clock.seconds
    gc.collect()
    assert clock.seconds == before  # removed on exit


def test_jieba_tokenizer_pickles_small_and_matches_jieba():
    tokenize = JiebaTokenizer(hmm=False)
    blob = pickle.dumps(tokenize)
    assert len(blob) < 200
    assert pickle.loads(blob) == tokenize and tokenize != JiebaTokenizer()
    assert tokenize("我们在北京天安门广场") == jieba.lcut("我们在北京天安门广场", HMM=False)


def burn(text):
    """A tokenizer that spends CPU time (a few ms per text) and returns the text's characters."""
    total = 0
    for i in range(20_000):
        total += i * i
    return list(text) if total >= 0 else []


def test_worker_cpu_time_covers_the_tasks_cpu_time():
    # Two CPU clocks of the same processes: the operating system's account of the workers' whole
    # lives (cpu_workers) includes the CPU time their tasks measured themselves (worker_cpu).
    texts = ["abc"] * 60
    counts, stats = count_words_parallel(texts, processes=2, tokenize=burn, chunk_size=5, return_stats=True)
    assert counts == char_reference(texts)
    assert stats.worker_cpu > 0
    assert stats.cpu_workers >= 0.9 * stats.worker_cpu - 0.01
    assert stats.cpu_total == stats.cpu_main + stats.cpu_workers
    _, serial = count_words(texts, tokenize=burn, return_stats=True)
    assert serial.cpu_workers == 0 and serial.cpu_total == serial.cpu_main > 0
    assert {"cpu_total", "cpu_per_token", "cpu_workers"} <= serial.as_dict().keys()


# ------------------------------------------------------------------------------ paired timing


def expected_schedule(names, rounds):
    """The documented order, written out by hand: given order in even rounds, reversed in odd ones."""
    schedule = []
    for r in range(rounds):
        schedule += names if r % 2 == 0 else names[::-1]
    return schedule


@given(st.integers(1, 5), st.integers(1, 7))
def test_interleaved_rounds_alternates_and_collects_in_round_order(n_configs, rounds):
    calls = []

    def make(name):
        def run():
            calls.append(name)
            return (name, sum(c == name for c in calls))  # the how-many-th call of this configuration

        return run

    names = [f"c{i}" for i in range(n_configs)]
    out = interleaved_rounds({name: make(name) for name in names}, rounds)
    assert calls == expected_schedule(names, rounds)
    assert list(out) == names
    assert all(out[name] == [(name, k) for k in range(1, rounds + 1)] for name in names)


@pytest.mark.parametrize("configs, rounds, error, match", [
    ([("a", print)], 3, TypeError, "configs must be a dict"),
    ({}, 3, ValueError, "at least one"),
    ({"a": 3}, 3, TypeError, "configs\\['a'\\] must be callable"),
    ({"a": print}, 0, ValueError, "rounds"),
    ({"a": print}, True, TypeError, "rounds"),
    ({"a": print}, 2.0, TypeError, "rounds"),
])
def test_interleaved_rounds_bad_input(configs, rounds, error, match):
    with pytest.raises(error, match=match):
        interleaved_rounds(configs, rounds)


positive = st.floats(1e-6, 1e6, allow_nan=False, allow_infinity=False)


@given(st.lists(st.tuples(positive, positive), min_size=1, max_size=15))
def test_paired_ratio_equals_numpy_on_the_within_round_ratios(pairs):
    top, bottom = zip(*pairs)
    summary = paired_ratio(list(top), np.array(bottom))
    ratios = np.array(top) / np.array(bottom)
    assert isinstance(summary, RatioSummary)
    assert summary.median == pytest.approx(float(np.median(ratios)), rel=1e-12)
    assert summary.low == pytest.approx(ratios.min(), rel=1e-12)
    assert summary.high == pytest.approx(ratios.max(), rel=1e-12)
    assert summary.low <= summary.median <= summary.high
    assert list(summary.values) == pytest.approx(list(ratios), rel=1e-12)


def test_paired_ratio_pairs_within_rounds_not_medians():
    # The ratio of the medians (2.0 / 1.0) differs from the median of the within-round ratios.
    serial, pool = [1.0, 2.0, 3.0], [1.0, 1.0, 1.0 / 3.0]
    assert statistics.median(serial) / statistics.median(pool) == 2.0
    assert paired_ratio(serial, pool).median == 2.0  # ratios 1, 2, 9
    assert paired_ratio(serial, pool).high == pytest.approx(9.0)
    assert f"{paired_ratio([3.0], [2.0]):.1f}" == "1.5 [1.5, 1.5]"


@pytest.mark.parametrize("top, bottom, error, match", [
    ([1.0, 2.0], [1.0], ValueError, "one value per round"),
    ([], [], ValueError, "empty"),
    ([1.0], [0.0], ValueError, "positive finite"),
    ([float("nan")], [1.0], ValueError, "positive finite"),
    ([float("inf")], [1.0], ValueError, "positive finite"),
    ([-1.0], [1.0], ValueError, "positive finite"),
    ("12", [1.0, 2.0], TypeError, "numerator must be a sequence"),
    ([1.0], 3.0, TypeError, "denominator must be a sequence"),
    ([True], [1.0], TypeError, "real numbers"),
    (["1"], [1.0], TypeError, "real numbers"),
])
def test_paired_ratio_bad_input(top, bottom, error, match):
    with pytest.raises(error, match=match):
        paired_ratio(top, bottom)
