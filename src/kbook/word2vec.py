"""Word2vec (CBOW and skip-gram) trained with a sampled ("random") softmax, in Keras 3.

See the chapter: notebooks/word2vec.ipynb (Part IV, "Word2vec with a sampled softmax").

The pieces, in the order the data flows:

- :func:`build_vocabulary` counts the tokens, keeps the words seen at least ``min_count`` times
  (most frequent first) and returns a :class:`Vocabulary`, which knows each word's keep
  probability under frequency subsampling (:meth:`Vocabulary.keep_probabilities`) and the
  distribution the sampled softmax draws from (:meth:`Vocabulary.sampling_distribution`);
- :class:`PairPlan` lays out one epoch: subsample, draw each position's (reduced) window, shuffle
  the positions and cut the training examples into fixed-size batches that are generated on
  demand (:meth:`PairPlan.batch`), so the pair list is never materialised;
- the Keras parts (loaded on first use from the private module ``kbook._word2vec_keras``):
  :func:`sampled_softmax_loss` in ``keras.ops``, the layer ``SampledSoftmax`` (sampled or full
  softmax, weights tied to the embedding or its own, no bias), the model ``Word2VecModel`` and the
  ``PairDataset`` (a ``keras.utils.PyDataset`` over a :class:`PairPlan`);
- :func:`train_word2vec` puts them together and returns :class:`WordVectors`.

Imports: NumPy at module level, nothing else; ``import kbook.word2vec`` does not import Keras,
TensorFlow or JAX. :func:`train_word2vec` and the lazily loaded names (``sampled_softmax_loss``,
``SampledSoftmax``, ``Word2VecModel``, ``PairDataset``) import Keras and its active backend. To
load a saved ``Word2VecModel``, look the name up first (``kbook.word2vec.Word2VecModel``), which
registers the classes with Keras.
"""

from __future__ import annotations

import numbers
import time
from collections import Counter

import numpy as np

from kbook import config as _config

__all__ = [
    "Vocabulary",
    "build_vocabulary",
    "PairPlan",
    "WordVectors",
    "plant_aliases",
    "alias_ranks",
    "neighbour_overlap",
    "train_word2vec",
    "sampled_softmax_loss",
    "full_softmax_loss",
    "SampledSoftmax",
    "Word2VecModel",
    "PairDataset",
]

MODES = ("cbow", "skipgram")
DISTRIBUTIONS = ("uniform", "unigram")

_LAZY = {
    "sampled_softmax_loss": "kbook._word2vec_keras",
    "full_softmax_loss": "kbook._word2vec_keras",
    "SampledSoftmax": "kbook._word2vec_keras",
    "Word2VecModel": "kbook._word2vec_keras",
    "PairDataset": "kbook._word2vec_keras",
}

__getattr__, __dir__ = _config.lazy_attributes(__name__, globals(), _LAZY)
_check_int = _config.check_int


# --------------------------------------------------------------------------- argument checks


def _check_real(name, value, low, high=None, low_open=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    too_low = value <= low if low_open else value < low
    if too_low or (high is not None and value > high) or not np.isfinite(value):
        bound = f"{'>' if low_open else '>='} {low}" + (f" and <= {high}" if high is not None else "")
        raise ValueError(f"{name} must be {bound}, got {value}")
    return value


def _check_choice(name, value, choices):
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(repr(c) for c in choices)}, got {value!r}")
    return value


def _check_sentences(sentences) -> list[list[str]]:
    if isinstance(sentences, (str, bytes)) or not hasattr(sentences, "__iter__"):
        raise TypeError(f"sentences must be an iterable of token lists, got {type(sentences).__name__}")
    out = []
    for number, sentence in enumerate(sentences):
        if isinstance(sentence, (str, bytes)) or not hasattr(sentence, "__iter__"):
            raise TypeError(
                f"sentences must hold lists of str tokens; sentence {number} is a {type(sentence).__name__}"
            )
        tokens = list(sentence)
        for token in tokens:
            if not isinstance(token, str):
                raise TypeError(f"tokens must be str; sentence {number} holds a {type(token).__name__}")
        out.append(tokens)
    return out


# --------------------------------------------------------------------------- vocabulary


class Vocabulary:
    """Words kept for training, most frequent first, with their counts.

    Attributes:
        words: list of V words in row order (descending count; ties in order of first appearance).
        counts: int64 array (V,), the count of each word in the corpus.
        index: dict word -> row.
    """

    def __init__(self, words, counts):
        self.words = list(words)
        self.counts = np.asarray(counts, dtype=np.int64)
        self.index = {word: row for row, word in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} words, {int(self.counts.sum()):,} tokens)"

    def encode(self, sentences) -> tuple[np.ndarray, np.ndarray]:
        """Token ids of every in-vocabulary token, and the sentence each one belongs to.

        Out-of-vocabulary tokens are dropped (as gensim does), so words around them become
        neighbours.

        Returns:
            ``(ids, sentence)``, two int32 arrays of length N (in-vocabulary tokens).

        Example:
            >>> vocab = build_vocabulary([["a", "b", "a"], ["c", "a"]], min_count=1)
            >>> vocab.encode([["a", "x", "b"], ["a"]])
            (array([0, 1, 0], dtype=int32), array([0, 0, 1], dtype=int32))
        """
        sentences = _check_sentences(sentences)
        ids, sentence_of = [], []
        index = self.index
        for number, tokens in enumerate(sentences):
            kept = [index[token] for token in tokens if token in index]
            ids.extend(kept)
            sentence_of.extend([number] * len(kept))
        return np.asarray(ids, dtype=np.int32), np.asarray(sentence_of, dtype=np.int32)

    def keep_probabilities(self, sample: float = 1e-3) -> np.ndarray:
        """Probability of keeping each occurrence of each word under frequency subsampling.

        With ``f`` a word's share of the corpus tokens and ``t = sample``, the word2vec C tool
        (and gensim) keep an occurrence with probability ``min(1, (sqrt(f/t) + 1) * t/f)``;
        Mikolov et al. (2013) wrote the discard probability as ``1 - sqrt(t/f)``, which is the same
        for frequent words up to the ``+ t/f`` term. ``sample = 0`` keeps everything.

        Returns:
            float64 array (V,) in (0, 1].

        Example:
            >>> vocab = Vocabulary(["the", "cat"], [990, 10])
            >>> vocab.keep_probabilities(1e-2).round(3)
            array([0.111, 1.   ])
        """
        sample = _check_real("sample", sample, 0.0)
        if sample == 0.0:
            return np.ones(len(self))
        share = self.counts / self.counts.sum()
        return np.minimum(1.0, (np.sqrt(share / sample) + 1.0) * sample / share)

    def sampling_distribution(self, kind: str = "unigram", power: float = 0.75) -> np.ndarray:
        """The distribution the sampled softmax draws words from: ``"uniform"``, or ``"unigram"``
        (counts raised to ``power``, 0.75 as in Mikolov et al.), normalised.

        Returns:
            float64 array (V,), positive, summing to 1.

        Example:
            >>> Vocabulary(["a", "b"], [16, 1]).sampling_distribution("unigram").round(3)
            array([0.889, 0.111])
        """
        _check_choice("kind", kind, DISTRIBUTIONS)
        power = _check_real("power", power, 0.0)
        weights = np.ones(len(self)) if kind == "uniform" else self.counts.astype(np.float64) ** power
        return weights / weights.sum()


def build_vocabulary(sentences, min_count: int = 5, max_size: int | None = None) -> Vocabulary:
    """Count tokens and keep the words seen at least ``min_count`` times, most frequent first.

    Args:
        sentences: iterable of token lists (lists of str).
        min_count: minimum number of occurrences, at least 1.
        max_size: keep at most this many words (the most frequent), or None.

    Raises:
        TypeError: ``sentences`` is not an iterable of lists of str, or an argument has the wrong type.
        ValueError: ``min_count`` / ``max_size`` below 1, or no word reaches ``min_count`` (an
            empty corpus included).

    Example:
        >>> vocab = build_vocabulary([["a", "b", "a"], ["c", "a", "b"]], min_count=2)
        >>> vocab.words, vocab.counts.tolist()
        (['a', 'b'], [3, 2])
    """
    min_count = _check_int("min_count", min_count, 1)
    max_size = _check_int("max_size", max_size, 1, allow_none=True)
    counts = Counter()
    for tokens in _check_sentences(sentences):
        counts.update(tokens)
    if not counts:
        raise ValueError("sentences must contain at least one token, got an empty corpus")
    kept = [(word, count) for word, count in counts.items() if count >= min_count]
    if not kept:
        raise ValueError(
            f"no word occurs at least min_count={min_count} times (the most frequent occurs "
            f"{max(counts.values())} times): lower min_count or give a larger corpus"
        )
    kept.sort(key=lambda item: -item[1])  # stable: ties keep the order of first appearance
    if max_size is not None:
        kept = kept[:max_size]
    return Vocabulary([w for w, _ in kept], [c for _, c in kept])


# --------------------------------------------------------------------------- the pair stream


class PairPlan:
    """One epoch of CBOW or skip-gram training examples, generated batch by batch.

    At construction the plan subsamples the tokens (each occurrence of word ``w`` is kept with
    probability ``keep[w]``), draws every position's window half-width ``b`` uniformly from
    ``1..window`` (``shrink=True``, as word2vec and gensim do; else ``b = window``), clips it at
    the sentence edges, and shuffles the positions. Memory is O(N) in the number of tokens; the
    examples themselves (up to ``2 * window * N`` pairs for skip-gram) are generated only when a
    batch is asked for.

    - ``mode="cbow"``: one example per position that has any context; ``context`` is (B, 2*window)
      with the neighbour ids, padded with -1, and ``target`` (B,) is the centre word.
    - ``mode="skipgram"``: one example per (centre, neighbour) pair; ``context`` is (B, 1) holding
      the centre word and ``target`` (B,) the neighbour.

    Args:
        ids, sentence: the output of :meth:`Vocabulary.encode` (int arrays of equal length N).
        window: maximum distance between the centre and a context word, at least 1.
        mode: ``"cbow"`` or ``"skipgram"``.
        batch_size: examples per batch, at least 1.
        seed: int or ``numpy.random.Generator``; fixes subsampling, windows and order.
        keep: None (keep every token) or a float array (V,) of keep probabilities.
        shrink: draw reduced windows (True) or always use ``window`` (False).
        drop_remainder: drop the last, smaller batch (fixed shapes for compiled training).

    Example:
        >>> plan = PairPlan([0, 1, 2], [0, 0, 0], window=1, mode="skipgram", batch_size=8,
        ...                 seed=0, shrink=False, drop_remainder=False)
        >>> len(plan), plan.n_examples
        (1, 4)
        >>> context, target = plan.batch(0)
        >>> sorted(zip(context[:, 0].tolist(), target.tolist()))
        [(0, 1), (1, 0), (1, 2), (2, 1)]
    """

    def __init__(self, ids, sentence, *, window, mode, batch_size, seed=None, keep=None, shrink=True,
                 drop_remainder=True):
        self.window = _check_int("window", window, 1)
        self.mode = _check_choice("mode", mode, MODES)
        self.batch_size = _check_int("batch_size", batch_size, 1)
        if not isinstance(shrink, bool) or not isinstance(drop_remainder, bool):
            raise TypeError("shrink and drop_remainder must be bools")
        ids = np.asarray(ids)
        sentence = np.asarray(sentence)
        if ids.ndim != 1 or sentence.shape != ids.shape:
            raise ValueError(f"ids and sentence must be 1-D of equal length, got {ids.shape} and {sentence.shape}")
        if ids.size and (ids.dtype.kind not in "iu" or sentence.dtype.kind not in "iu"):
            raise TypeError(f"ids and sentence must be integer arrays, got {ids.dtype} and {sentence.dtype}")
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        if keep is not None:
            keep = np.asarray(keep, dtype=np.float64)
            if ids.size and (keep.ndim != 1 or ids.max() >= keep.size):
                raise ValueError(f"keep must be a 1-D array with one probability per word, got shape {keep.shape}")
            mask = rng.random(ids.size) < keep[ids]
            ids, sentence = ids[mask], sentence[mask]
        self.ids = ids.astype(np.int32)
        n = self.ids.size
        positions = np.arange(n)
        if n:
            starts = np.r_[True, sentence[1:] != sentence[:-1]]
            first = np.maximum.accumulate(np.where(starts, positions, 0))
            ends = np.r_[sentence[1:] != sentence[:-1], True]
            last = np.minimum.accumulate(np.where(ends, positions, n - 1)[::-1])[::-1]
        else:
            first = last = positions
        half = rng.integers(1, self.window + 1, size=n) if shrink else np.full(n, self.window)
        self.left = np.minimum(half, positions - first).astype(np.int32)
        self.right = np.minimum(half, last - positions).astype(np.int32)
        has_context = (self.left + self.right) > 0
        order = rng.permutation(np.flatnonzero(has_context))
        self.order = order
        per_position = (self.left + self.right)[order] if self.mode == "skipgram" else np.ones(order.size, np.int64)
        self.ends = np.cumsum(per_position, dtype=np.int64)  # examples up to and including each position
        self.n_examples = int(self.ends[-1]) if self.ends.size else 0
        full, rest = divmod(self.n_examples, self.batch_size)
        self._len = full if drop_remainder or rest == 0 else full + 1

    def __len__(self) -> int:
        return self._len

    @property
    def n_tokens(self) -> int:
        """Tokens left after subsampling."""
        return int(self.ids.size)

    def batch(self, number: int) -> tuple[np.ndarray, np.ndarray]:
        """Examples ``number * batch_size`` up to the next batch's start, as ``(context, target)``.

        Returns:
            ``context`` int32 (B, 2*window) for CBOW (-1 pads) or (B, 1) for skip-gram, and
            ``target`` int32 (B,).
        """
        number = _check_int("number", number, 0)
        if number >= len(self):
            raise IndexError(f"batch {number} out of range for a plan of {len(self)} batches")
        lo = number * self.batch_size
        hi = min(lo + self.batch_size, self.n_examples)
        if self.mode == "cbow":
            centre = self.order[lo:hi]
            offsets = np.r_[np.arange(-self.window, 0), np.arange(1, self.window + 1)]
            where = centre[:, None] + offsets[None, :]
            valid = (offsets[None, :] >= -self.left[centre][:, None]) & (offsets[None, :] <= self.right[centre][:, None])
            context = np.where(valid, self.ids[np.clip(where, 0, self.ids.size - 1)], -1).astype(np.int32)
            return context, self.ids[centre]
        # skip-gram: the positions whose examples overlap [lo, hi), expanded, then cut to [lo, hi)
        first = int(np.searchsorted(self.ends, lo, side="right"))
        last = int(np.searchsorted(self.ends, hi - 1, side="right"))
        centre = self.order[first : last + 1]
        counts = self.left[centre] + self.right[centre]
        starts = self.ends[first : last + 1] - counts  # index of each position's first example
        repeated = np.repeat(centre, counts)
        within = np.arange(repeated.size) - np.repeat(starts - starts[0], counts)
        offset = within - np.repeat(self.left[centre], counts)
        offset = offset + (offset >= 0)  # skip the centre itself: -l..-1, 1..r
        take = slice(lo - int(starts[0]), hi - int(starts[0]))
        repeated, offset = repeated[take], offset[take]
        return self.ids[repeated][:, None], self.ids[repeated + offset]


# --------------------------------------------------------------------------- results


class WordVectors:
    """Trained word vectors with a cosine nearest-neighbour query.

    Attributes:
        vectors: float32 array (V, dim), one row per word.
        index: dict word -> row.
        words: list of V words in row order.
        model: the trained Keras ``Word2VecModel`` (None if built from arrays).
        history: per-epoch losses, and ``seconds`` (training wall time) and ``n_examples``.
    """

    def __init__(self, vectors, words, model=None, history=None):
        vectors = np.asarray(vectors, dtype=np.float32)
        words = list(words)
        if vectors.ndim != 2 or vectors.shape[0] != len(words):
            raise ValueError(f"vectors must be (len(words), dim), got {vectors.shape} for {len(words)} words")
        self.vectors = vectors
        self.words = words
        self.index = {word: row for row, word in enumerate(words)}
        self.model = model
        self.history = dict(history or {})
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self._unit = vectors / np.where(norms > 0, norms, 1.0)

    def __repr__(self) -> str:
        return f"WordVectors({len(self.words)} words, dim {self.vectors.shape[1]})"

    def __contains__(self, word) -> bool:
        return word in self.index

    def most_similar(self, word: str, topn: int = 10) -> list[tuple[str, float]]:
        """The ``topn`` words of highest cosine similarity to ``word``, best first, ``word`` excluded.

        Raises:
            TypeError: ``word`` is not a str or ``topn`` not an int.
            KeyError: ``word`` is not in the vocabulary (the message names it).
            ValueError: ``topn`` below 1.

        Example:
            >>> wv = WordVectors([[1, 0], [0.9, 0.1], [0, 1]], ["a", "b", "c"])
            >>> [(w, round(s, 3)) for w, s in wv.most_similar("a", topn=2)]
            [('b', 0.994), ('c', 0.0)]
        """
        if not isinstance(word, str):
            raise TypeError(f"word must be a str, got {type(word).__name__}")
        topn = _check_int("topn", topn, 1)
        if word not in self.index:
            raise KeyError(f"word {word!r} is not in the vocabulary ({len(self.words)} words)")
        row = self.index[word]
        cosine = self._unit @ self._unit[row]
        cosine[row] = -np.inf
        topn = min(topn, len(self.words) - 1)
        best = np.argpartition(-cosine, topn - 1)[:topn] if topn < len(cosine) else np.arange(len(cosine))
        best = best[np.argsort(-cosine[best], kind="stable")]
        return [(self.words[i], float(cosine[i])) for i in best if i != row][:topn]


# --------------------------------------------------------------------------- evaluation


def plant_aliases(sentences, words, seed=0):
    """Split each of ``words`` into two pseudo-words that mean exactly the same thing.

    Every occurrence of ``w`` becomes ``w#A`` or ``w#B`` with probability 1/2 each (seeded). The two
    aliases then have the same distribution of contexts, so a good embedding must place each one
    among the nearest neighbours of the other: a planted structure whose right answer is known
    without anyone's judgement of which words are "similar".

    Args:
        sentences: iterable of token lists. words: the words to split (str, distinct).
        seed: int or ``numpy.random.Generator``.

    Returns:
        ``(new_sentences, pairs)``: the corpus with aliases, and the list of ``(w#A, w#B)`` pairs.

    Example:
        >>> new, pairs = plant_aliases([["x", "y", "x", "x"]], ["x"], seed=0)
        >>> pairs, sorted(set(new[0]))
        ([('x#A', 'x#B')], ['x#A', 'x#B', 'y'])
    """
    sentences = _check_sentences(sentences)
    if isinstance(words, str) or not all(isinstance(w, str) for w in words):
        raise TypeError("words must be a list of str")
    words = list(words)
    if len(set(words)) != len(words):
        raise ValueError("words must be distinct")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    chosen = set(words)
    out = []
    for tokens in sentences:
        coins = rng.random(len(tokens)) < 0.5
        out.append([f"{t}#{'A' if c else 'B'}" if t in chosen else t for t, c in zip(tokens, coins)])
    return out, [(f"{w}#A", f"{w}#B") for w in words]


def alias_ranks(vectors: "WordVectors", pairs) -> np.ndarray:
    """Rank of each alias among the other's neighbours (1 = nearest), both directions.

    Returns:
        int array (2 * len(pairs),); pairs with an alias missing from the vocabulary are skipped.

    Example:
        >>> wv = WordVectors([[1, 0], [0.9, 0.1], [0, 1]], ["a#A", "a#B", "c"])
        >>> alias_ranks(wv, [("a#A", "a#B")]).tolist()
        [1, 1]
    """
    if not isinstance(vectors, WordVectors):
        raise TypeError(f"vectors must be a WordVectors, got {type(vectors).__name__} (wrap gensim's as "
                        "WordVectors(kv.vectors, kv.index_to_key))")
    unit = vectors._unit
    ranks = []
    for a, b in pairs:
        if a not in vectors.index or b not in vectors.index:
            continue
        for x, y in ((a, b), (b, a)):
            cos = unit @ unit[vectors.index[x]]
            cos[vectors.index[x]] = -np.inf
            ranks.append(1 + int(np.sum(cos > cos[vectors.index[y]])))
    return np.asarray(ranks, dtype=np.int64)


def neighbour_overlap(first, second, words, topn=10) -> np.ndarray:
    """Per word, the share of ``first``'s top-``topn`` neighbours that are also in ``second``'s.

    ``first`` and ``second`` are anything with a gensim-style ``most_similar(word, topn=...)``
    returning ``(word, score)`` pairs (a :class:`WordVectors` or gensim's ``KeyedVectors``).

    Example:
        >>> wv = WordVectors([[1, 0], [0.9, 0.1], [0, 1]], ["a", "b", "c"])
        >>> neighbour_overlap(wv, wv, ["a", "b"], topn=1).tolist()
        [1.0, 1.0]
    """
    topn = _check_int("topn", topn, 1)
    shares = []
    for word in words:
        ours = {w for w, _ in first.most_similar(word, topn=topn)}
        theirs = {w for w, _ in second.most_similar(word, topn=topn)}
        shares.append(len(ours & theirs) / topn)
    return np.asarray(shares)


# --------------------------------------------------------------------------- training


def train_word2vec(
    sentences,
    dim: int = 100,
    window: int = 5,
    min_count: int = 5,
    negatives: int | None = 64,
    mode: str = "cbow",
    epochs: int = 5,
    tie_weights: bool = True,
    seed: int = 0,
    batch_size: int = 1024,
    sample: float = 1e-3,
    distribution: str = "unigram",
    learning_rate: float = 0.003,
    shared_samples: bool = True,
    max_vocab: int | None = None,
) -> WordVectors:
    """Train CBOW or skip-gram word vectors with a sampled ("random") softmax in Keras.

    For every example the model predicts the target word from a hidden vector (the mean of the
    context embeddings for CBOW, the centre word's embedding for skip-gram) with a softmax over
    the vocabulary whose weights are the embedding matrix itself (``tie_weights=True``) or a
    second matrix, and no bias. The softmax is evaluated only over the target and ``negatives``
    sampled words (:func:`sampled_softmax_loss`), or over all words with ``negatives=None``.

    Args:
        sentences: iterable of token lists (lists of str).
        dim: vector size. window: maximum context distance (reduced windows drawn per position).
        min_count: minimum count of a word to get a vector. max_vocab: keep at most this many.
        negatives: sampled words per batch (``shared_samples=True``, drawn once per batch as in
            TensorFlow's ``sampled_softmax_loss``) or per example; None for the full softmax.
        mode: ``"cbow"`` or ``"skipgram"``. epochs: passes over the corpus.
        tie_weights: the softmax uses the embedding matrix (True) or its own matrix (False).
        seed: fixes initialisation, subsampling, windows, order and samples.
        batch_size: examples per step. learning_rate: Adam's step size.
        sample: subsampling threshold (0 keeps every token).
        distribution: ``"uniform"`` or ``"unigram"`` (counts to the power 0.75).

    Returns:
        :class:`WordVectors` (the input embedding as ``vectors``), with the Keras model and the
        history (loss per epoch, wall ``seconds``, ``n_examples`` per epoch, ``n_tokens``).

    Raises:
        TypeError: wrong argument types (``sentences`` not lists of str, a non-int size, ...).
        ValueError: empty corpus, no word reaching ``min_count``, a corpus that yields no batch,
            or an out-of-range argument.

    Example:
        >>> corpus = [["a", "b"] * 10, ["c", "d"] * 10] * 10
        >>> wv = train_word2vec(corpus, dim=8, window=1, min_count=1, negatives=2, epochs=1,
        ...                     batch_size=16, sample=0)
        >>> wv.vectors.shape, wv.words[:2], len(wv.most_similar("a", topn=2))
        ((4, 8), ['a', 'b'], 2)
    """
    dim = _check_int("dim", dim, 1)
    window = _check_int("window", window, 1)
    negatives = _check_int("negatives", negatives, 1, allow_none=True)
    epochs = _check_int("epochs", epochs, 1)
    seed = _check_int("seed", seed, 0)
    batch_size = _check_int("batch_size", batch_size, 1)
    mode = _check_choice("mode", mode, MODES)
    distribution = _check_choice("distribution", distribution, DISTRIBUTIONS)
    sample = _check_real("sample", sample, 0.0)
    learning_rate = _check_real("learning_rate", learning_rate, 0.0, low_open=True)
    for name, value in (("tie_weights", tie_weights), ("shared_samples", shared_samples)):
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    sentences = _check_sentences(sentences)
    vocab = build_vocabulary(sentences, min_count=min_count, max_size=max_vocab)
    ids, sentence = vocab.encode(sentences)
    keep = vocab.keep_probabilities(sample)
    probe = PairPlan(ids, sentence, window=window, mode=mode, batch_size=batch_size, seed=seed, keep=keep)
    if len(probe) == 0:
        raise ValueError(
            f"the corpus yields {probe.n_examples} {mode} examples after subsampling, fewer than one "
            f"batch of {batch_size}: lower batch_size or sample, or give a longer corpus"
        )

    import keras

    from kbook._word2vec_keras import PairDataset, Word2VecModel

    keras.utils.set_random_seed(seed)
    model = Word2VecModel(
        vocab_size=len(vocab),
        dim=dim,
        context_size=2 * window if mode == "cbow" else 1,
        num_sampled=negatives,
        tie_weights=tie_weights,
        shared_samples=shared_samples,
        seed=seed,
        probabilities=vocab.sampling_distribution(distribution),
    )
    # XLA: under TensorFlow it lowers the CPU time per step (benchmarks/bench_word2vec.py); JAX
    # compiles anyway; other backends keep Keras's default. 32 steps per call of the compiled
    # function: fewer Python round trips per epoch (the benchmark's profile measures the effect).
    jit = True if keras.backend.backend() in ("tensorflow", "jax") else "auto"
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), jit_compile=jit, steps_per_execution=32)
    data = PairDataset(ids, sentence, window=window, mode=mode, batch_size=batch_size, seed=seed, keep=keep)
    start = time.perf_counter()
    fitted = model.fit(data, epochs=epochs, verbose=0)
    seconds = time.perf_counter() - start
    vectors = keras.ops.convert_to_numpy(model.embedding.embeddings)
    history = {
        "loss": [float(v) for v in fitted.history.get("loss", [])],
        "seconds": seconds,
        "n_examples": data.examples_per_epoch,
        "n_tokens": data.tokens_per_epoch,
        "n_corpus_tokens": int(ids.size),
    }
    return WordVectors(vectors, vocab.words, model=model, history=history)
