"""The decoder pair and its searches: searches against brute-force enumeration on toy models,
the attention layer against a NumPy reference, the model's causality (what makes step-wise
decoding by rerunning prefixes exact), save/load, and the data and measurement helpers."""

import itertools
import zlib

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kbook import bidirectional as bd

BOS, EOS, PAD = 1, 2, 0


# ------------------------------------------------------------------------------ toy models
def _logits(seed_bytes, v):
    rng = np.random.default_rng(zlib.crc32(seed_bytes))
    z = rng.normal(size=v) * 2.0
    return z - np.log(np.exp(z).sum())


def toy_one_way(seed, v):
    """Next-token log-probs as a fixed pseudo-random function of the whole prefix."""
    def step(prefixes):
        b, k, t = prefixes.shape
        out = np.empty((b, k, v))
        for i in range(b):
            for j in range(k):
                out[i, j] = _logits(bytes([seed, i]) + prefixes[i, j].astype(np.int8).tobytes(), v)
        return out
    return step


def toy_pair(seed, v):
    """Each side's log-probs depend on its own prefix and on the partner's (order matters)."""
    def step(left, right):
        b, k, t = left.shape
        out_l, out_r = np.empty((b, k, v)), np.empty((b, k, v))
        for i in range(b):
            for j in range(k):
                lb, rb = left[i, j].astype(np.int8).tobytes(), right[i, j].astype(np.int8).tobytes()
                out_l[i, j] = _logits(bytes([seed, i, 0]) + lb + b"|" + rb, v)
                out_r[i, j] = _logits(bytes([seed, i, 1]) + rb + b"|" + lb, v)
        return out_l, out_r
    return step


def all_hypotheses(v, max_len):
    """Every token list a search can return: ends with EOS, or has max_len tokens."""
    words = [t for t in range(v) if t not in (PAD, BOS, EOS)]
    hyps = []
    for n in range(max_len):
        hyps += [list(p) + [EOS] for p in itertools.product(words, repeat=n)]
    hyps += [list(p) for p in itertools.product(words, repeat=max_len)]
    return hyps


def one_way_score(step, item, tokens):
    total = 0.0
    for t, tok in enumerate(tokens):
        prefix = np.array([[[BOS] + tokens[:t]]])
        lp = step(prefix)
        total += lp[0, 0, tok]
    return total


def restrict(step, item):
    """Make a batch-1 view of item ``item`` of a batched toy step (the toy seeds by row index)."""
    def one(*prefixes):
        full = [np.zeros((item + 1,) + p.shape[1:], p.dtype) for p in prefixes]
        for f, p in zip(full, prefixes):
            f[item] = p[0]
        out = step(*full)
        return tuple(o[item:item + 1] for o in out) if isinstance(out, tuple) else out[item:item + 1]
    return one


# ------------------------------------------------------------------------------ one-way search
@settings(max_examples=15)
@given(st.integers(0, 200), st.integers(4, 5), st.integers(1, 3))
def test_beam_search_with_full_width_finds_the_exhaustive_optimum(seed, v, max_len):
    step = toy_one_way(seed, v)
    hyps = all_hypotheses(v, max_len)
    results = bd.beam_search(step, 2, BOS, EOS, len(hyps), max_len)
    for item in range(2):
        one = restrict(step, item)
        scores = [one_way_score(one, item, h) for h in hyps]
        best = int(np.argmax(scores))
        tokens, score = results[item][0]
        assert score == pytest.approx(scores[best], abs=1e-9)
        assert tokens == hyps[best]
        # every returned score is the sum of its tokens' log-probabilities, and all are found
        assert len(results[item]) == len(hyps)
        for tokens, score in results[item]:
            assert score == pytest.approx(one_way_score(one, item, tokens), abs=1e-9)


@settings(max_examples=15)
@given(st.integers(0, 200), st.integers(4, 6), st.integers(1, 4))
def test_beam_width_one_is_greedy(seed, v, max_len):
    step = toy_one_way(seed, v)
    tokens, _ = bd.beam_search(step, 1, BOS, EOS, 1, max_len)[0][0]
    greedy = []
    while len(greedy) < max_len and (not greedy or greedy[-1] != EOS):
        lp = step(np.array([[[BOS] + greedy]]))[0, 0].copy()
        lp[[PAD, BOS]] = -np.inf
        greedy.append(int(np.argmax(lp)))
    assert tokens == greedy


def test_finished_hypotheses_are_kept_and_pad_is_never_emitted():
    # EOS is likely at once; PAD and BOS carry most mass but may never be written
    table = np.log(np.array([0.4, 0.3, 0.2, 0.1 / 2, 0.1 / 2]))
    step = lambda p: np.broadcast_to(table, p.shape[:2] + (5,))
    out = bd.beam_search(step, 1, BOS, EOS, 3, 3)[0]
    assert out[0] == ([EOS], pytest.approx(np.log(0.2)))
    assert all(PAD not in t and BOS not in t for t, _ in out)


# ------------------------------------------------------------------------------- joint search
@settings(max_examples=8)
@given(st.integers(0, 200), st.integers(4, 5), st.integers(1, 2))
def test_joint_search_with_full_width_finds_the_exhaustive_pair(seed, v, max_len):
    step = toy_pair(seed, v)
    hyps = all_hypotheses(v, max_len)
    pairs = [(a, b) for a in hyps for b in hyps]
    result = bd.joint_beam_search(step, 1, BOS, EOS, len(pairs), max_len)[0]
    scores = [bd.joint_score(step, a, b, BOS, EOS)[0] for a, b in pairs]
    best = int(np.argmax(scores))
    assert result[0]["score"] == pytest.approx(scores[best], abs=1e-9)
    assert (result[0]["left"], result[0]["right"]) == pairs[best]
    assert len(result) == len(pairs)
    for r in result[:20]:
        joint, left, right = bd.joint_score(step, r["left"], r["right"], BOS, EOS)
        assert r["score"] == pytest.approx(joint, abs=1e-9)
        assert (r["left_score"], r["right_score"]) == (pytest.approx(left, abs=1e-9), pytest.approx(right, abs=1e-9))


@settings(max_examples=10)
@given(st.integers(0, 200), st.integers(4, 6), st.integers(1, 4))
def test_joint_width_one_is_lockstep_greedy(seed, v, max_len):
    step = toy_pair(seed, v)
    got = bd.joint_beam_search(step, 1, BOS, EOS, 1, max_len)[0][0]
    left, right = [], []
    for t in range(max_len):
        done = [bool(s) and s[-1] == EOS for s in (left, right)]
        if all(done):
            break
        pre = [np.array([[[BOS] + s + [PAD] * (t - len(s))]]) for s in (left, right)]
        lps = step(*pre)
        for s, lp, d in zip((left, right), lps, done):
            if not d:
                lp = lp[0, 0].copy()
                lp[[PAD, BOS]] = -np.inf
                s.append(int(np.argmax(lp)))
    assert (got["left"], got["right"]) == (left, right)


def test_search_arguments_are_checked():
    step = toy_one_way(0, 4)
    with pytest.raises(ValueError, match="beam_width"):
        bd.beam_search(step, 1, BOS, EOS, 0, 3)
    with pytest.raises(ValueError, match="must differ"):
        bd.beam_search(step, 1, BOS, BOS, 2, 3)
    with pytest.raises(TypeError, match="max_len"):
        bd.joint_beam_search(toy_pair(0, 4), 1, BOS, EOS, 2, 2.0)
    with pytest.raises(TypeError, match="callable"):
        bd.beam_search(None, 1, BOS, EOS, 2, 3)
    with pytest.raises(ValueError, match="shape"):
        bd.beam_search(lambda p: np.zeros((1, 4)), 1, BOS, EOS, 2, 3)
    with pytest.raises(ValueError, match="NaN"):
        bd.beam_search(lambda p: np.full(p.shape[:2] + (4,), np.nan), 1, BOS, EOS, 2, 3)
    with pytest.raises(ValueError, match="pair"):
        bd.joint_beam_search(lambda l, r: np.zeros(l.shape[:2] + (4,)), 1, BOS, EOS, 2, 3)


# ------------------------------------------------------------------------------------ data
@given(st.integers(1, 20), st.integers(2, 12), st.integers(2, 9), st.integers(0, 10**6))
def test_clean_walks_are_rebuilt_by_their_steps_from_either_end(n, length, k, seed):
    sources, targets = bd.walk_pairs(n, length, n_symbols=k, seed=seed)
    for s, y in zip(sources, targets):
        assert len(s) == length + 1 and s[0] == y[0] and s[-1] == y[-1]
        forward = [s[0]]
        for d in s[1:-1]:
            forward.append((forward[-1] + d) % k)
        backward = [s[-1]]
        for d in reversed(s[1:-1]):
            backward.append((backward[-1] - d) % k)
        assert forward == y and backward[::-1] == y


def test_noise_misrecords_steps_at_the_given_rate_and_never_the_ends():
    q, k = 0.2, 5
    clean_s, ys = bd.walk_pairs(4000, 10, n_symbols=k, seed=7)
    noisy_s, ys2 = bd.walk_pairs(4000, 10, n_symbols=k, noise=q, seed=7)
    assert ys == ys2
    noisy, ys = np.array(noisy_s), np.array(ys)
    true_steps = (ys[:, 1:] - ys[:, :-1]) % k
    wrong = noisy[:, 1:-1] != true_steps
    assert abs(wrong.mean() - q) < 5 * np.sqrt(q * (1 - q) / wrong.size)
    assert (noisy[:, 0] == ys[:, 0]).all() and (noisy[:, -1] == ys[:, -1]).all()
    with pytest.raises(ValueError, match="noise"):
        bd.walk_pairs(1, 3, noise=1.5)
    with pytest.raises(TypeError, match="length"):
        bd.walk_pairs(1, 3.0)


def test_encode_pairs_aligns_both_directions():
    sources, targets = bd.walk_pairs(5, 6, n_symbols=4, seed=1)
    a = bd.encode_pairs(sources, targets)
    assert all(v.shape == (5, 7) and v.dtype == np.int32 for v in a.values())
    np.testing.assert_array_equal(a["r_src"], a["l_src"][:, ::-1])
    np.testing.assert_array_equal(a["l_in"][:, 1:], a["l_out"][:, :-1])
    np.testing.assert_array_equal(a["r_out"][:, :-1], a["l_out"][:, -2::-1])
    assert (a["l_in"][:, 0] == BOS).all() and (a["r_out"][:, -1] == EOS).all()
    with pytest.raises(ValueError, match="one more"):
        bd.encode_pairs([[1, 2]], [[1, 2]])
    with pytest.raises(ValueError, match="one length"):
        bd.encode_pairs([[1, 2, 3], [1, 2]], [[1, 2], [1]])


@given(st.lists(st.tuples(st.lists(st.integers(0, 3), max_size=6), st.lists(st.integers(0, 3), min_size=1, max_size=6)),
                min_size=1, max_size=8), st.booleans())
def test_position_accuracy_matches_a_direct_count(pairs, from_end):
    preds, golds = [p for p, _ in pairs], [g for _, g in pairs]
    acc, count = bd.position_accuracy(preds, golds, 6, from_end=from_end)
    for p in range(6):
        idx = (lambda s: len(s) - 1 - p) if from_end else (lambda s: p)
        rows = [(pr, g) for pr, g in zip(preds, golds) if len(g) > p]
        assert count[p] == len(rows)
        if rows:
            hits = [0 <= idx(pr) < len(pr) and pr[idx(pr)] == g[idx(g)] for pr, g in rows]
            assert acc[p] == pytest.approx(np.mean(hits))
        else:
            assert np.isnan(acc[p])


def test_pick_reading_follows_the_higher_own_score():
    pair = {"left": [3, 4, EOS], "right": [5, 3, EOS], "left_score": -1.0, "right_score": -1.0}
    assert bd.pick_reading(pair) == [3, 4]
    assert bd.pick_reading({**pair, "left_score": -1.5}) == [3, 5]


# ------------------------------------------------------------------------------------ Keras
def _attention_reference(q, k, v, key_ids, synchronous):
    logits = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[-1])
    visible = (key_ids != PAD)[:, None, :]
    if synchronous:
        visible = visible & (np.arange(k.shape[1])[None, :] <= np.arange(q.shape[1])[:, None])[None]
    w = np.where(visible, np.exp(logits - np.where(visible, logits, -np.inf).max(-1, keepdims=True)), 0.0)
    w = w / w.sum(-1, keepdims=True)
    return w @ v, w


@pytest.mark.parametrize("synchronous", [False, True])
def test_sync_attention_matches_numpy(synchronous):
    rng = np.random.default_rng(0)
    query = rng.normal(size=(3, 5, 4)).astype("float32")
    keys = rng.normal(size=(3, 6, 7)).astype("float32")
    ids = rng.integers(1, 9, size=(3, 6))
    ids[0, 3:] = PAD
    layer = bd.SyncAttention(8, synchronous=synchronous)
    context, weights = [keras.ops.convert_to_numpy(t) for t in layer([query, keys, ids])]
    q = query @ keras.ops.convert_to_numpy(layer.q_proj.kernel)
    k = keys @ keras.ops.convert_to_numpy(layer.k_proj.kernel)
    v = keys @ keras.ops.convert_to_numpy(layer.v_proj.kernel)
    ref_c, ref_w = _attention_reference(q, k, v, ids, synchronous)
    np.testing.assert_allclose(weights, ref_w, atol=1e-5)
    np.testing.assert_allclose(context, ref_c, atol=1e-4)
    assert np.isfinite(weights).all()


def test_layers_refuse_bad_arguments():
    with pytest.raises(TypeError, match="synchronous"):
        bd.SyncAttention(4, synchronous="yes")
    with pytest.raises(ValueError, match="units"):
        bd.SyncAttention(0)
    with pytest.raises(ValueError, match="max_len"):
        bd.AddPosition(2, 3)(np.zeros((1, 4, 3), "float32"))
    with pytest.raises(TypeError, match="mutual"):
        bd.pair_model(8, 4, mutual=1)


def _feed(n=2, length=5, seed=0):
    s, y = bd.walk_pairs(n, length, n_symbols=4, seed=seed)
    a = bd.encode_pairs(s, y)
    return {k: a[k] for k in ("l_src", "l_in", "r_src", "r_in")}


def test_mutual_pair_is_synchronous_and_causal():
    # What decoding by rerunning padded prefixes relies on: the left output at step i does not
    # change when anything after step i changes, on either side.
    keras.utils.set_random_seed(0)
    model = bd.pair_model(7, 5, units=8, mutual=True)
    feed = _feed()
    base = {k: keras.ops.convert_to_numpy(v) for k, v in model(feed).items()}
    for i in range(5):
        changed = {k: v.copy() for k, v in feed.items()}
        changed["l_in"][:, i + 1:] = 3
        changed["r_in"][:, i + 1:] = 4
        out = {k: keras.ops.convert_to_numpy(v) for k, v in model(changed).items()}
        np.testing.assert_allclose(out["l2r"][:, : i + 1], base["l2r"][:, : i + 1], atol=1e-5)
        np.testing.assert_allclose(out["r2l"][:, : i + 1], base["r2l"][:, : i + 1], atol=1e-5)
    # and the partner does matter at step i through its steps 0..i
    changed = {k: v.copy() for k, v in feed.items()}
    changed["r_in"][:, 1] = 6
    out = keras.ops.convert_to_numpy(model(changed)["l2r"])
    assert not np.allclose(out[:, 1], base["l2r"][:, 1])


def test_independent_pair_ignores_the_partner():
    keras.utils.set_random_seed(0)
    model = bd.pair_model(7, 5, units=8, mutual=False)
    feed = _feed()
    changed = dict(feed, r_in=np.zeros_like(feed["r_in"]))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(changed)["l2r"]),
                               keras.ops.convert_to_numpy(model(feed)["l2r"]), atol=1e-6)


def test_model_step_matches_a_full_forward_pass():
    keras.utils.set_random_seed(1)
    model = bd.pair_model(7, 5, units=8)
    feed = _feed(3)
    left = np.repeat(feed["l_in"][:, None, :3], 2, axis=1)
    right = np.repeat(feed["r_in"][:, None, :3], 2, axis=1)
    lp_l, lp_r = bd.model_step(model, feed, "both")(left, right)
    out = model.predict_on_batch(feed)
    for name, lp in (("l2r", lp_l), ("r2l", lp_r)):
        z = np.asarray(out[name], np.float64)[:, 2]
        ref = z - np.log(np.exp(z - z.max(-1, keepdims=True)).sum(-1, keepdims=True)) - z.max(-1, keepdims=True)
        np.testing.assert_allclose(lp[:, 0], ref, atol=1e-5)
        np.testing.assert_allclose(lp[:, 1], ref, atol=1e-5)
    with pytest.raises(ValueError, match="part"):
        bd.model_step(model, feed, "sideways")


def test_pair_model_survives_save_and_load(tmp_path):
    keras.utils.set_random_seed(2)
    model = bd.pair_model(7, 5, units=8, mutual=True)
    feed = _feed()
    before = model.predict_on_batch(feed)
    path = tmp_path / "pair.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    after = loaded.predict_on_batch(feed)
    for name in ("l2r", "r2l"):
        np.testing.assert_allclose(after[name], before[name], atol=1e-6)
    layer = loaded.get_layer("l2r_reads_r2l")
    assert isinstance(layer, bd.SyncAttention) and layer.get_config()["synchronous"] is True
    assert isinstance(loaded.get_layer("l_position"), bd.AddPosition)
