"""kbook.word2vec against independent references: a NumPy sampled softmax, the closed-form
full-softmax gradient, brute-force pair enumeration, Counter, brute-force cosine, planted groups."""

from collections import Counter

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kbook.word2vec as w2v
from kbook.autodiff import value_and_grad
from kbook.word2vec import PairPlan, Vocabulary, WordVectors, build_vocabulary, train_word2vec


# --------------------------------------------------------------------------- NumPy references


def numpy_sampled_softmax(hidden, targets, weights, sampled, log_q=None, remove_hits=True):
    """Per example, written as a loop: softmax over [target] + sampled words, cross-entropy."""
    losses = []
    for b in range(len(targets)):
        row = sampled if sampled.ndim == 1 else sampled[b]
        words = [targets[b]] + list(row)
        logits = np.array([hidden[b] @ weights[j] for j in words], dtype=np.float64)
        if log_q is not None:
            logits = logits - log_q[words]
        for k, j in enumerate(row):
            if remove_hits and j == targets[b]:
                logits[k + 1] = -np.inf
        top = logits.max()
        losses.append(top + np.log(np.exp(logits - top).sum()) - logits[0])
    return np.array(losses)


def brute_force_pairs(ids, sentence, window):
    """Every (centre, context) word pair within ``window`` inside a sentence."""
    pairs = []
    for i in range(len(ids)):
        for j in range(max(0, i - window), min(len(ids), i + window + 1)):
            if j != i and sentence[j] == sentence[i]:
                pairs.append((int(ids[i]), int(ids[j])))
    return Counter(pairs)


def planted_corpus(groups=4, size=5, sentences=300, length=8, seed=0):
    """Sentences whose words all come from one group: words co-occur only within their group."""
    rng = np.random.default_rng(seed)
    words = [[f"g{g}w{i}" for i in range(size)] for g in range(groups)]
    corpus = [list(rng.choice(words[rng.integers(groups)], size=length)) for _ in range(sentences)]
    return corpus, {w: g for g in range(groups) for w in words[g]}


# --------------------------------------------------------------------------- the loss


@settings(max_examples=15)
@given(st.integers(0, 10_000), st.booleans(), st.booleans())
def test_sampled_loss_matches_numpy(seed, shared, correct):
    rng = np.random.default_rng(seed)
    batch, dim, vocab, k = 5, 4, 12, 6
    hidden = rng.normal(size=(batch, dim)).astype("float32")
    weights = rng.normal(size=(vocab, dim)).astype("float32")
    targets = rng.integers(vocab, size=batch)
    sampled = rng.integers(vocab, size=(k,) if shared else (batch, k))
    sampled[..., 0] = targets[0]  # make sure accidental hits occur
    log_q = np.log(rng.dirichlet(np.ones(vocab))).astype("float32") if correct else None
    ours = keras.ops.convert_to_numpy(w2v.sampled_softmax_loss(hidden, targets, weights, sampled, log_q))
    np.testing.assert_allclose(ours, numpy_sampled_softmax(hidden, targets, weights, sampled, log_q), rtol=1e-4, atol=1e-4)


def test_sampled_loss_is_finite_at_extreme_logits():
    hidden = np.array([[300.0, 0.0], [-300.0, 0.0]], "float32")
    weights = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]], "float32")
    loss = keras.ops.convert_to_numpy(w2v.sampled_softmax_loss(hidden, np.array([0, 0]), weights, np.array([1, 2])))
    assert np.all(np.isfinite(loss))
    np.testing.assert_allclose(loss, [0.0, 600.0], atol=1e-3)


def test_full_softmax_loss_matches_numpy():
    rng = np.random.default_rng(1)
    hidden, weights = rng.normal(size=(4, 3)), rng.normal(size=(7, 3))
    targets = np.array([0, 3, 6, 2])
    logits = hidden @ weights.T
    expected = np.log(np.exp(logits).sum(1)) - logits[np.arange(4), targets]
    ours = keras.ops.convert_to_numpy(w2v.full_softmax_loss(hidden.astype("float32"), targets, weights.astype("float32")))
    np.testing.assert_allclose(ours, expected, rtol=1e-5)


def test_sampling_every_other_word_once_is_the_full_softmax():
    rng = np.random.default_rng(2)
    hidden, weights = rng.normal(size=(3, 4)).astype("float32"), rng.normal(size=(6, 4)).astype("float32")
    targets = np.array([0, 2, 5])
    others = np.array([[j for j in range(6) if j != t] for t in targets])
    sampled = keras.ops.convert_to_numpy(w2v.sampled_softmax_loss(hidden, targets, weights, others))
    full = keras.ops.convert_to_numpy(w2v.full_softmax_loss(hidden, targets, weights))
    np.testing.assert_allclose(sampled, full, rtol=1e-5)


def gradient_cosine(k, draws=400, seed=0, correct=True):
    """Cosine between the Monte Carlo mean of the sampled-softmax gradient (w.r.t. the hidden
    vector) and the full softmax's closed-form gradient sum_j p_j w_j - w_target."""
    rng = np.random.default_rng(seed)
    vocab, dim = 60, 8
    weights = (0.5 * rng.normal(size=(vocab, dim))).astype("float32")
    h = rng.normal(size=dim).astype("float32")
    target = 3
    q = rng.dirichlet(np.full(vocab, 2.0))  # a sampling distribution unrelated to the softmax's
    sampled = rng.choice(vocab, size=(draws, k), p=q)
    log_q = np.log(q).astype("float32")
    hidden = np.repeat(h[None], draws, axis=0)
    targets = np.full(draws, target)
    _, grad = value_and_grad(
        lambda x: w2v.sampled_softmax_loss(x, targets, weights, sampled, log_q if correct else None), hidden
    )
    mc = grad.mean(0)
    logits = weights @ h
    p = np.exp(logits - logits.max())
    p /= p.sum()
    full = p @ weights - weights[target]
    return float(mc @ full / np.linalg.norm(mc) / np.linalg.norm(full))


def test_expected_sampled_gradient_approaches_the_full_softmax_direction():
    cosines = [gradient_cosine(k) for k in (2, 20, 200)]
    assert cosines[0] < cosines[1] < cosines[2], cosines
    assert cosines[2] > 0.99, cosines
    # without the log q correction the estimate is biased towards frequently sampled words
    assert gradient_cosine(200, correct=False) < cosines[2] - 0.005


# --------------------------------------------------------------------------- the layer and model


def test_layer_full_mode_equals_full_loss_and_samples_follow_the_distribution():
    probabilities = np.array([0.5, 0.25, 0.125, 0.125])
    layer = w2v.SampledSoftmax(vocab_size=4, dim=2, num_sampled=3, own_weights=True, probabilities=probabilities, seed=3)
    drawn = keras.ops.convert_to_numpy(layer.sample((40_000,)))
    np.testing.assert_allclose(np.bincount(drawn, minlength=4) / drawn.size, probabilities, atol=0.01)
    hidden, targets = np.ones((2, 2), "float32"), np.array([1, 2])
    inference = keras.ops.convert_to_numpy(layer(hidden, targets, training=False))
    full = keras.ops.convert_to_numpy(w2v.full_softmax_loss(hidden, targets, layer.kernel))
    np.testing.assert_allclose(inference, full, rtol=1e-6)


def test_model_hidden_is_the_masked_mean_of_context_embeddings():
    model = w2v.Word2VecModel(vocab_size=5, dim=3, context_size=3, num_sampled=2, seed=0)
    table = keras.ops.convert_to_numpy(model.embedding.embeddings)
    context = np.array([[1, 2, -1], [4, -1, -1]])
    hidden = keras.ops.convert_to_numpy(model({"context": context, "target": np.array([0, 0])}))
    np.testing.assert_allclose(hidden, [(table[1] + table[2]) / 2, table[4]], rtol=1e-6)


@pytest.mark.parametrize("tie", [True, False])
def test_save_and_load_keeps_weights_and_sampling_distribution(tmp_path, tie):
    probabilities = np.array([0.4, 0.3, 0.2, 0.05, 0.05])
    model = w2v.Word2VecModel(vocab_size=5, dim=3, context_size=2, num_sampled=2, tie_weights=tie, seed=0,
                              probabilities=probabilities)
    x = {"context": np.array([[1, 2], [3, -1]]), "target": np.array([0, 4])}
    model.compile(optimizer="adam")
    model.fit(x, epochs=2, verbose=0)
    path = tmp_path / "w2v.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, w2v.Word2VecModel) and loaded.tie_weights == tie
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded.embedding.embeddings),
                               keras.ops.convert_to_numpy(model.embedding.embeddings))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded.softmax.log_q), np.log(probabilities), rtol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded.loss_on(x)),
                               keras.ops.convert_to_numpy(model.loss_on(x)), rtol=1e-5)


# --------------------------------------------------------------------------- vocabulary and pairs


def test_vocabulary_matches_counter_and_subsampling_formula():
    corpus = [["a", "b", "a", "c"], ["a", "d", "b"], ["e"]]
    vocab = build_vocabulary(corpus, min_count=2)
    counts = Counter(token for s in corpus for token in s)
    assert vocab.words == ["a", "b"] and vocab.counts.tolist() == [counts["a"], counts["b"]]
    f = np.array([3, 2]) / 5
    np.testing.assert_allclose(vocab.keep_probabilities(0.1), np.minimum(1, np.sqrt(0.1 / f) + 0.1 / f))
    np.testing.assert_allclose(vocab.keep_probabilities(0), [1, 1])
    np.testing.assert_allclose(vocab.sampling_distribution("unigram"), np.array([3, 2]) ** 0.75 / (3**0.75 + 2**0.75))
    ids, sentence = vocab.encode(corpus)
    assert ids.tolist() == [0, 1, 0, 0, 1] and sentence.tolist() == [0, 0, 0, 1, 1]


@settings(max_examples=25)
@given(st.integers(0, 10_000), st.integers(1, 4), st.integers(1, 7))
def test_skipgram_pairs_match_brute_force(seed, window, batch_size):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 7, size=4)
    sentence = np.repeat(np.arange(4), lengths)
    ids = rng.integers(0, 5, size=sentence.size)
    plan = PairPlan(ids, sentence, window=window, mode="skipgram", batch_size=batch_size, seed=seed,
                    shrink=False, drop_remainder=False)
    got = Counter()
    for b in range(len(plan)):
        context, target = plan.batch(b)
        assert context.shape == (len(target), 1) and len(target) <= batch_size
        got.update(zip(context[:, 0].tolist(), target.tolist()))
    assert got == brute_force_pairs(ids, sentence, window)


@settings(max_examples=25)
@given(st.integers(0, 10_000), st.integers(1, 4))
def test_cbow_contexts_match_brute_force(seed, window):
    rng = np.random.default_rng(seed)
    sentence = np.repeat(np.arange(3), rng.integers(1, 7, size=3))
    ids = rng.integers(0, 6, size=sentence.size)
    plan = PairPlan(ids, sentence, window=window, mode="cbow", batch_size=3, seed=seed, shrink=False,
                    drop_remainder=False)
    got = Counter()
    for b in range(len(plan)):
        context, target = plan.batch(b)
        assert context.shape[1] == 2 * window
        for row, t in zip(context, target):
            got.update((int(t), int(c)) for c in row if c >= 0)
    assert got == brute_force_pairs(ids, sentence, window)  # (centre, context) pairs, both ways


def test_reduced_windows_are_uniform_and_subsampling_keeps_the_right_share():
    rng = np.random.default_rng(0)
    n, window = 60_000, 4
    plan = PairPlan(np.zeros(n, int), np.zeros(n, int), window=window, mode="skipgram", batch_size=100,
                    seed=1, shrink=True)
    inner = plan.left[window:-window]
    np.testing.assert_allclose(np.bincount(inner)[1:] / inner.size, np.full(window, 1 / window), atol=0.01)
    ids = rng.integers(0, 2, size=n)
    keep = np.array([0.25, 1.0])
    kept = PairPlan(ids, np.zeros(n, int), window=2, mode="cbow", batch_size=10, seed=2, keep=keep)
    share = np.bincount(kept.ids, minlength=2) / np.bincount(ids, minlength=2)
    np.testing.assert_allclose(share, keep, atol=0.02)


def test_plan_is_seeded():
    ids, sentence = np.arange(50) % 7, np.arange(50) // 10
    a = PairPlan(ids, sentence, window=3, mode="skipgram", batch_size=8, seed=5)
    b = PairPlan(ids, sentence, window=3, mode="skipgram", batch_size=8, seed=5)
    for i in range(len(a)):
        for x, y in zip(a.batch(i), b.batch(i)):
            np.testing.assert_array_equal(x, y)


# --------------------------------------------------------------------------- results and training


def test_most_similar_matches_brute_force_cosine():
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(30, 5))
    words = [f"w{i}" for i in range(30)]
    wv = WordVectors(vectors, words)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    cos = unit @ unit[7]
    expected = [words[i] for i in np.argsort(-cos) if i != 7][:10]
    got = wv.most_similar("w7")
    assert [w for w, _ in got] == expected
    np.testing.assert_allclose([s for _, s in got], np.sort(cos[np.arange(30) != 7])[::-1][:10], rtol=1e-5)


@pytest.mark.parametrize("mode", ["cbow", "skipgram"])
def test_planted_groups_are_recovered(mode):
    corpus, group = planted_corpus()
    wv = train_word2vec(corpus, dim=16, window=2, min_count=1, negatives=5, mode=mode, epochs=4, seed=0,
                        batch_size=64, sample=0, learning_rate=0.02)
    same = [group[n] == group[w] for w in wv.words for n, _ in wv.most_similar(w, topn=4)]
    assert np.mean(same) >= 0.9, np.mean(same)
    assert wv.vectors.dtype == np.float32 and wv.vectors.shape == (20, 16)
    assert [wv.index[w] for w in wv.words] == list(range(20))


def test_errors_name_the_problem():
    wv = WordVectors(np.eye(3), ["a", "b", "c"])
    with pytest.raises(KeyError, match="'zzz'"):
        wv.most_similar("zzz")
    with pytest.raises(TypeError, match="word"):
        wv.most_similar(3)
    with pytest.raises(ValueError, match="topn"):
        wv.most_similar("a", topn=0)
    with pytest.raises(ValueError, match="empty corpus"):
        train_word2vec([])
    with pytest.raises(ValueError, match="empty corpus"):
        train_word2vec([[], []])
    with pytest.raises(ValueError, match="min_count=5"):
        train_word2vec([["a", "b", "a"]], min_count=5)
    with pytest.raises(TypeError, match="sentences"):
        train_word2vec("a b c")
    with pytest.raises(TypeError, match="tokens must be str"):
        train_word2vec([["a", 1]])
    with pytest.raises(ValueError, match="mode"):
        train_word2vec([["a", "b"]] * 5, min_count=1, mode="glove")
    with pytest.raises(TypeError, match="dim"):
        train_word2vec([["a", "b"]] * 5, min_count=1, dim=2.5)
    with pytest.raises(ValueError, match="window"):
        train_word2vec([["a", "b"]] * 5, min_count=1, window=0)
    with pytest.raises(ValueError, match="fewer than one batch"):
        train_word2vec([["a", "b"]] * 5, min_count=1, batch_size=1000, sample=0)
    with pytest.raises(ValueError, match="sample"):
        Vocabulary(["a"], [1]).keep_probabilities(-1)
    with pytest.raises(IndexError):
        PairPlan([0, 1], [0, 0], window=1, mode="cbow", batch_size=1, shrink=False).batch(5)


def test_planted_aliases_split_every_occurrence_and_ranks_are_brute_force():
    corpus = [["x", "y", "x", "z", "x"], ["x", "y"]] * 50
    new, pairs = w2v.plant_aliases(corpus, ["x"], seed=0)
    counts = Counter(t for s in new for t in s)
    assert counts["x#A"] + counts["x#B"] == 200 and "x" not in counts and counts["y"] == 100
    assert 70 <= counts["x#A"] <= 130  # a fair coin over 200 flips
    assert [len(s) for s in new] == [len(s) for s in corpus]
    rng = np.random.default_rng(0)
    wv = WordVectors(rng.normal(size=(6, 3)), ["a#A", "a#B", "b", "c", "d", "e"])
    unit = wv.vectors / np.linalg.norm(wv.vectors, axis=1, keepdims=True)
    expected = []
    for x, y in ((0, 1), (1, 0)):
        others = [i for i in range(6) if i != x]
        order = sorted(others, key=lambda i: -unit[x] @ unit[i])
        expected.append(order.index(y) + 1)
    assert w2v.alias_ranks(wv, pairs=[("a#A", "a#B")]).tolist() == expected
    with pytest.raises(TypeError, match="WordVectors"):
        w2v.alias_ranks(object(), [("a#A", "a#B")])
    assert w2v.neighbour_overlap(wv, wv, ["b", "c"], topn=3).tolist() == [1.0, 1.0]
