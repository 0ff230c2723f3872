"""The linear-chain CRF against brute-force enumeration of every tag path, plus the Keras layer.

The reference here shares no code with kbook.crf: it lists all K**L paths of each sequence with
itertools and scores them with plain Python loops in float64.
"""

import itertools

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp

from kbook.crf import (
    BMES,
    CRF,
    PAD_SCORE,
    CRFAccuracy,
    CRFLoss,
    crf_log_likelihood,
    crf_log_norm,
    crf_marginals,
    crf_path_score,
    bmes_tags,
    bmes_violations,
    mask_from_output,
    segmentation_prf,
    viterbi_decode,
    words_from_tags,
)

pytestmark = pytest.mark.keras

# --------------------------------------------------------------------------- brute force


def brute_paths(pot, trans, length, start=None, end=None):
    """All K**length paths of one sequence with their scores (float64, plain loops)."""
    num_tags = pot.shape[1]
    paths, scores = [], []
    for path in itertools.product(range(num_tags), repeat=length):
        score = 0.0
        for t, tag in enumerate(path):
            score += pot[t, tag]
            if t > 0:
                score += trans[path[t - 1], tag]
        if length and start is not None:
            score += start[path[0]]
        if length and end is not None:
            score += end[path[-1]]
        paths.append(path)
        scores.append(score)
    return paths, np.array(scores)


JAX = keras.backend.backend() == "jax"
# JAX compiles once per shape (seconds on a shared CPU): there the shapes come from a short list
# and every function runs under jax.jit, so each shape is compiled once per function.
SHAPES = [(1, 3), (4, 1), (5, 3), (3, 2)]  # (T, K)
EXAMPLES = 12 if JAX else 40


def run(fn, *args, **kwargs):
    """Call a kbook.crf function; under JAX through a cached jax.jit (static: parallel)."""
    if not JAX:
        return fn(*args, **kwargs)
    import functools

    import jax

    parallel = kwargs.pop("parallel", None)
    key = (fn, parallel)
    if key not in _jitted:
        _jitted[key] = jax.jit(fn if parallel is None else functools.partial(fn, parallel=parallel))
    return _jitted[key](*args, **kwargs)


_jitted = {}


@st.composite
def crf_case(draw, max_tags=3, max_steps=5):
    """Random potentials, transitions, prefix mask (lengths 0..T), tags and boundary scores."""
    if JAX:
        batch = 3
        steps, num_tags = draw(st.sampled_from([(t, k) for t, k in SHAPES if t <= max_steps and k <= max_tags]))
    else:
        batch = draw(st.integers(1, 3))
        num_tags = draw(st.integers(1, max_tags))
        steps = draw(st.integers(1, max_steps))
    seed = draw(st.integers(0, 2**31 - 1))
    scale = draw(st.sampled_from([0.1, 1.0, 5.0]))
    rng = np.random.default_rng(seed)
    pot = rng.normal(size=(batch, steps, num_tags)) * scale
    trans = rng.normal(size=(num_tags, num_tags)) * scale
    lengths = np.array([draw(st.integers(0, steps)) for _ in range(batch)])
    if draw(st.booleans()):
        lengths[0] = steps  # keep full-length rows common
    mask = np.arange(steps)[None, :] < lengths[:, None]
    tags = rng.integers(0, num_tags, size=(batch, steps))
    boundary = {}
    if draw(st.booleans()):
        boundary = {
            "start_transitions": rng.normal(size=num_tags) * scale,
            "end_transitions": rng.normal(size=num_tags) * scale,
        }
    return pot.astype("float32"), trans.astype("float32"), mask, lengths, tags, boundary


def _np(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def _brute_row(pot, trans, length, boundary):
    return brute_paths(
        pot.astype(np.float64), trans.astype(np.float64), length,
        boundary.get("start_transitions"), boundary.get("end_transitions"),
    )  # fmt: skip


# --------------------------------------------------------------------------- against brute force


@settings(max_examples=EXAMPLES)
@given(crf_case())
def test_log_norm_matches_enumeration(case):
    pot, trans, mask, lengths, _, boundary = case
    got = _np(run(crf_log_norm, pot, trans, mask, **boundary))
    got_parallel = _np(run(crf_log_norm, pot, trans, mask, parallel=True, **boundary))
    for b, length in enumerate(lengths):
        _, scores = _brute_row(pot[b], trans, length, boundary)
        want = logsumexp(scores) if length else 0.0
        np.testing.assert_allclose(got[b], want, rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(got_parallel[b], want, rtol=1e-5, atol=1e-4)


@settings(max_examples=EXAMPLES)
@given(crf_case())
def test_log_likelihood_and_path_score_match_enumeration(case):
    pot, trans, mask, lengths, tags, boundary = case
    score = _np(run(crf_path_score, pot, tags, trans, mask, **boundary))
    loglik = _np(run(crf_log_likelihood, pot, tags, trans, mask, **boundary))
    for b, length in enumerate(lengths):
        paths, scores = _brute_row(pot[b], trans, length, boundary)
        index = paths.index(tuple(tags[b, :length]))
        np.testing.assert_allclose(score[b], scores[index], rtol=1e-5, atol=1e-4)
        want = scores[index] - (logsumexp(scores) if length else 0.0)
        np.testing.assert_allclose(loglik[b], want, rtol=1e-5, atol=1e-4)


@settings(max_examples=EXAMPLES)
@given(crf_case())
def test_viterbi_finds_the_best_enumerated_path(case):
    pot, trans, mask, lengths, _, boundary = case
    path, best = run(viterbi_decode, pot, trans, mask, **boundary)
    path, best = _np(path), _np(best)
    assert path.shape == pot.shape[:2] and path.dtype == np.int32
    for b, length in enumerate(lengths):
        paths, scores = _brute_row(pot[b], trans, length, boundary)
        np.testing.assert_allclose(best[b], scores.max() if length else 0.0, rtol=1e-5, atol=1e-4)
        # The decoded path itself scores the maximum (ties would make the argmax ambiguous).
        decoded = paths.index(tuple(path[b, :length]))
        np.testing.assert_allclose(scores[decoded], scores.max(), rtol=1e-5, atol=1e-4)
        assert (path[b, length:] == 0).all()


@settings(max_examples=EXAMPLES)
@given(crf_case())
def test_marginals_match_enumeration(case):
    pot, trans, mask, lengths, _, boundary = case
    got = _np(run(crf_marginals, pot, trans, mask, **boundary))
    num_tags = pot.shape[2]
    for b, length in enumerate(lengths):
        paths, scores = _brute_row(pot[b], trans, length, boundary)
        prob = np.exp(scores - logsumexp(scores))
        want = np.zeros((pot.shape[1], num_tags))
        for p, path in zip(prob, paths):
            for t, tag in enumerate(path):
                want[t, tag] += p
        np.testing.assert_allclose(got[b], want, atol=1e-5)


@settings(max_examples=min(EXAMPLES, 20))
@given(crf_case(max_tags=3, max_steps=4))
def test_probabilities_of_all_paths_sum_to_one(case):
    pot, trans, _, _, _, boundary = case
    steps, num_tags = pot.shape[1:]
    paths = np.array(list(itertools.product(range(num_tags), repeat=steps)))
    batch_pot = np.repeat(pot[:1], len(paths), axis=0)
    loglik = _np(run(crf_log_likelihood, batch_pot, paths, trans, **boundary))
    np.testing.assert_allclose(np.exp(loglik).sum(), 1.0, rtol=1e-4)


def _grad_log_norm(pot, trans, mask):
    """d(sum of log Z)/d potentials with the backend's own autodiff."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.constant(pot)
        with tf.GradientTape() as tape:
            tape.watch(x)
            total = tf.reduce_sum(crf_log_norm(x, trans, mask))
        return tape.gradient(total, x).numpy()
    if backend == "jax":
        import jax

        return np.asarray(jax.grad(lambda x: crf_log_norm(x, trans, mask).sum())(pot))
    pytest.skip(f"no gradient helper for backend {backend}")


@settings(max_examples=min(EXAMPLES, 15))
@given(crf_case())
def test_gradient_of_log_norm_is_the_marginals(case):
    pot, trans, mask, lengths, _, _ = case
    grad = _grad_log_norm(pot, trans, mask)
    for b, length in enumerate(lengths):
        paths, scores = _brute_row(pot[b], trans, length, {})
        prob = np.exp(scores - logsumexp(scores))
        want = np.zeros(pot.shape[1:])
        for p, path in zip(prob, paths):
            want[np.arange(length), list(path)] += p
        np.testing.assert_allclose(grad[b], want, atol=1e-5)


# --------------------------------------------------------------------------- masks and numerics


@settings(max_examples=min(EXAMPLES, 20))
@given(crf_case(), st.integers(1, 4), st.floats(-1e4, 1e4))
def test_padding_content_changes_nothing(case, extra, garbage):
    pot, trans, mask, lengths, tags, boundary = case
    batch, steps, num_tags = pot.shape
    pot2 = np.concatenate([pot, np.full((batch, extra, num_tags), garbage, "float32")], axis=1)
    pot2[~np.concatenate([mask, np.zeros((batch, extra), bool)], axis=1)] = garbage
    mask2 = np.concatenate([mask, np.zeros((batch, extra), bool)], axis=1)
    tags2 = np.concatenate([tags, np.full((batch, extra), -7)], axis=1)  # any value in padding
    tags2[~mask2] = -7
    tags = np.where(mask, tags, 0)
    for fn, args, args2 in [
        (crf_log_norm, (pot, trans, mask), (pot2, trans, mask2)),
        (crf_log_likelihood, (pot, tags, trans, mask), (pot2, tags2, trans, mask2)),
    ]:
        np.testing.assert_allclose(_np(run(fn, *args, **boundary)), _np(run(fn, *args2, **boundary)), rtol=1e-5, atol=1e-4)
    path, best = run(viterbi_decode, pot, trans, mask, **boundary)
    path2, best2 = run(viterbi_decode, pot2, trans, mask2, **boundary)
    np.testing.assert_array_equal(_np(path2)[:, :steps], _np(path))
    np.testing.assert_allclose(_np(best2), _np(best), rtol=1e-5, atol=1e-4)


def _forward_float64(pot, trans):
    alpha = pot[0].astype(np.float64)
    for t in range(1, len(pot)):
        alpha = logsumexp(alpha[:, None] + trans, axis=0) + pot[t]
    return logsumexp(alpha)


def test_long_sequences_with_large_scores_stay_finite_and_exact():
    rng = np.random.default_rng(0)
    pot = (rng.normal(size=(2, 300, 5)) * 300).astype("float32")
    trans = (rng.normal(size=(5, 5)) * 300).astype("float32")
    got = _np(run(crf_log_norm, pot, trans))
    want = np.array([_forward_float64(p, trans) for p in pot])
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, want, rtol=1e-5)
    parallel = _np(run(crf_log_norm, pot, trans, parallel=True))
    np.testing.assert_allclose(parallel, want, rtol=1e-5)
    tags = _np(run(viterbi_decode, pot, trans)[0])
    # log p(best path) is the largest log-likelihood: every single-tag change lowers the score.
    best = _np(run(crf_path_score, pot, tags, trans))
    for t in (0, 150, 299):
        other = tags.copy()
        other[:, t] = (other[:, t] + 1) % 5
        assert (_np(run(crf_path_score, pot, other, trans)) <= best).all()


def test_float16_inputs_are_computed_in_float32():
    pot = np.full((1, 400, 3), 60.0, dtype="float16")  # exp overflows float16; sums reach 24000
    trans = np.zeros((3, 3), "float16")
    got = _np(run(crf_log_norm, pot, trans))
    np.testing.assert_allclose(got, 400 * 60 + 400 * np.log(3), rtol=1e-5)


def test_compiled_with_unknown_length():
    pot = np.random.default_rng(1).normal(size=(2, 6, 3)).astype("float32")
    trans = np.eye(3, dtype="float32")
    mask = np.array([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]], bool)
    want = _np(crf_log_norm(pot, trans, mask))
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        spec = [tf.TensorSpec((None, None, 3)), tf.TensorSpec((3, 3)), tf.TensorSpec((None, None), tf.bool)]
        fn = tf.function(lambda p, a, m: crf_log_norm(p, a, m), input_signature=spec)
        decode = tf.function(lambda p, a, m: viterbi_decode(p, a, m)[0], input_signature=spec)
    else:
        import jax

        fn = jax.jit(lambda p, a, m: crf_log_norm(p, a, m))
        decode = jax.jit(lambda p, a, m: viterbi_decode(p, a, m)[0])
    np.testing.assert_allclose(_np(fn(pot, trans, mask)), want, rtol=1e-6)
    np.testing.assert_array_equal(_np(decode(pot, trans, mask)), _np(run(viterbi_decode, pot, trans, mask)[0]))


# --------------------------------------------------------------------------- errors


def test_bad_inputs_raise_clear_errors():
    pot = np.zeros((2, 3, 4), "float32")
    trans = np.zeros((4, 4), "float32")
    tags = np.zeros((2, 3), "int32")
    with pytest.raises(ValueError, match="potentials must have rank 3"):
        crf_log_norm(pot[0], trans)
    with pytest.raises(ValueError, match="transitions must have shape"):
        crf_log_norm(pot, np.zeros((3, 3), "float32"))
    with pytest.raises(ValueError, match="transitions must have rank 2"):
        crf_log_norm(pot, np.zeros(4, "float32"))
    with pytest.raises(TypeError, match="potentials must have a float dtype"):
        crf_log_norm(pot.astype("int32"), trans)
    with pytest.raises(ValueError, match=r"tags must lie in \[0, 4\)"):
        crf_log_likelihood(pot, tags + 4, trans)
    with pytest.raises(ValueError, match="tags must lie"):
        crf_log_likelihood(pot, tags - 1, trans)
    with pytest.raises(TypeError, match="tags must have an integer dtype"):
        crf_log_likelihood(pot, tags.astype("float32"), trans)
    with pytest.raises(ValueError, match="tags must have the shape"):
        crf_log_likelihood(pot, tags[:, :2], trans)
    with pytest.raises(ValueError, match="mask must mark a prefix"):
        crf_log_norm(pot, trans, np.array([[1, 0, 1], [1, 1, 1]], bool))
    with pytest.raises(ValueError, match="mask must have the shape"):
        viterbi_decode(pot, trans, np.ones((2, 4), bool))
    with pytest.raises(ValueError, match="mask must be boolean or hold only 0 and 1"):
        crf_log_norm(pot, trans, np.full((2, 3), 2))
    with pytest.raises(ValueError, match="start_transitions must have shape"):
        crf_log_norm(pot, trans, start_transitions=np.zeros(3, "float32"))
    with pytest.raises(ValueError, match="at least one time step"):
        crf_log_norm(np.zeros((2, 0, 4), "float32"), trans)
    with pytest.raises(TypeError, match="parallel must be a bool"):
        crf_log_norm(pot, trans, parallel=1)
    # Out-of-range tags in padded steps are fine: padding never counts.
    ok = crf_log_likelihood(pot, np.array([[0, 1, -1], [0, 9, 9]]), trans, np.array([[1, 1, 0], [1, 0, 0]], bool))
    assert np.isfinite(_np(ok)).all()
    with pytest.raises(ValueError, match="num_tags must be at least 1"):
        CRF(0)
    with pytest.raises(TypeError, match="num_tags must be an int"):
        CRF(2.5)
    with pytest.raises(ValueError, match=r"expects potentials of shape \(batch, T, 4\)"):
        CRF(4)(np.zeros((2, 3, 5), "float32"))
    with pytest.raises(TypeError, match="layer must be a kbook.crf.CRF"):
        CRFLoss(layer=keras.layers.Dense(2))


# --------------------------------------------------------------------------- the Keras layer


def _tagger(num_tags, vocab, use_boundary=False, **crf_kwargs):
    inputs = keras.Input((None,), dtype="int32")
    h = keras.layers.Embedding(vocab, 16, mask_zero=True)(inputs)
    crf = CRF(num_tags, use_boundary=use_boundary, name="crf", **crf_kwargs)
    return keras.Model(inputs, crf(keras.layers.Dense(num_tags)(h))), crf


def _copy_first_task(n=96, steps=8, seed=0):
    """Token 1 or 2 opens each sequence, then filler token 3: every tag repeats the first one.

    A per-step classifier sees only token 3 after the first step and cannot beat chance there;
    a CRF with the same per-step scores solves it through its transitions alone.
    """
    rng = np.random.default_rng(seed)
    first = rng.integers(1, 3, size=n)
    lengths = rng.integers(2, steps + 1, size=n)
    x = np.zeros((n, steps), "int32")
    y = np.zeros((n, steps), "int32")
    for i in range(n):
        x[i, 0] = first[i]
        x[i, 1 : lengths[i]] = 3
        y[i, : lengths[i]] = first[i] - 1
    return x, y


def test_layer_solves_a_task_only_transitions_can_solve():
    keras.utils.set_random_seed(0)
    x, y = _copy_first_task()
    model, crf = _tagger(2, 4)
    model.compile(keras.optimizers.Adam(0.05), loss=crf.get_loss())
    model.fit(x, y, batch_size=32, epochs=40, verbose=0)
    pred = model.predict(x, verbose=0)
    tags = _np(crf.decode(pred))
    mask = x > 0
    assert (tags[mask] == y[mask]).all()
    assert (tags[~mask] == 0).all()
    # Per-step argmax of the same potentials is at chance on the filler steps.
    filler = mask & (np.arange(x.shape[1]) > 0)
    assert (pred.argmax(-1)[filler] == y[filler]).mean() < 0.75
    trans = _np(crf.transitions)
    assert trans[0, 0] > trans[0, 1] and trans[1, 1] > trans[1, 0]


def test_layer_loss_equals_masked_negative_log_likelihood():
    keras.utils.set_random_seed(1)
    model, crf = _tagger(3, 10, use_boundary=True)
    model.compile("adam", loss=crf.get_loss())
    model.fit(np.array([[1, 2, 0]]), np.array([[0, 1, 0]]), epochs=1, verbose=0)  # builds all
    for var in crf.weights:
        var.assign(np.random.default_rng(2).normal(size=var.shape))
    x = np.array([[1, 2, 3, 0, 0], [4, 5, 6, 7, 8], [9, 0, 0, 0, 0]])
    y = np.array([[0, 1, 2, 0, 0], [2, 2, 1, 0, 1], [1, 0, 0, 0, 0]])
    pred = model.predict(x, verbose=0)
    np.testing.assert_array_equal(_np(mask_from_output(pred)), x > 0)
    assert (pred[x == 0] == PAD_SCORE).all()
    boundary = {"start_transitions": crf.start_transitions, "end_transitions": crf.end_transitions}
    manual = -_np(run(crf_log_likelihood, np.where(x[..., None] > 0, pred, 0), y, _np(crf.transitions), x > 0, **{k: _np(v) for k, v in boundary.items()}))
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), manual.mean(), rtol=1e-5)
    # More padding, different padded labels: same loss.
    x2 = np.pad(x, ((0, 0), (0, 3)))
    y2 = np.pad(y, ((0, 0), (0, 3)), constant_values=2)
    np.testing.assert_allclose(model.evaluate(x2, y2, verbose=0), manual.mean(), rtol=1e-5)
    np.testing.assert_array_equal(_np(crf.decode(model.predict(x2, verbose=0)))[:, :5], _np(crf.decode(pred)))


def test_explicit_mask_argument():
    potentials = keras.Input((None, 3))
    mask_in = keras.Input((None,), dtype="bool")
    crf = CRF(3)
    model = keras.Model([potentials, mask_in], crf(potentials, mask=mask_in))
    pot = np.random.default_rng(3).normal(size=(2, 4, 3)).astype("float32")
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], bool)
    out = model.predict([pot, mask], verbose=0)
    np.testing.assert_array_equal(_np(mask_from_output(out)), mask)
    np.testing.assert_array_equal(_np(crf.decode(out)), _np(run(viterbi_decode, pot, _np(crf.transitions), mask)[0]))


def test_accuracy_metric():
    keras.utils.set_random_seed(4)
    x, y = _copy_first_task(n=32)
    model, crf = _tagger(2, 4)
    model.compile(keras.optimizers.Adam(0.05), loss=crf.get_loss(), metrics=[crf.get_accuracy()])
    if keras.backend.backend() == "jax":
        with pytest.raises(RuntimeError, match="CRFAccuracy cannot read the CRF transitions"):
            model.fit(x, y, epochs=1, verbose=0)
        return
    model.fit(x, y, epochs=2, verbose=0)
    _, accuracy = model.evaluate(x, y, verbose=0)
    tags = _np(crf.decode(model.predict(x, verbose=0)))
    mask = x > 0
    np.testing.assert_allclose(accuracy, (tags[mask] == y[mask]).mean(), rtol=1e-6)


def test_save_and_load_round_trip(tmp_path):
    keras.utils.set_random_seed(5)
    model, crf = _tagger(4, 12, use_boundary=True)
    model.compile("adam", loss=crf.get_loss())
    x = np.array([[1, 2, 3, 0], [4, 5, 6, 7]])
    y = np.array([[0, 1, 2, 0], [3, 3, 1, 0]])
    model.fit(x, y, epochs=3, verbose=0)
    path = tmp_path / "tagger.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    loaded_crf = loaded.get_layer("crf")
    assert isinstance(loaded_crf, CRF) and loaded_crf.use_boundary and loaded_crf.num_tags == 4
    np.testing.assert_allclose(_np(loaded_crf.transitions), _np(crf.transitions))
    pred, pred2 = model.predict(x, verbose=0), loaded.predict(x, verbose=0)
    np.testing.assert_allclose(pred2, pred, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(_np(loaded_crf.decode(pred2)), _np(crf.decode(pred)))
    # The compiled loss comes back unbound and says how to rebind it.
    with pytest.raises(ValueError, match="not bound to a CRF layer"):
        loaded.fit(x, y, epochs=1, verbose=0)
    loaded.compile("adam", loss=loaded_crf.get_loss())
    np.testing.assert_allclose(loaded.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0), rtol=1e-5)
    config = CRF.from_config(crf.get_config()).get_config()
    assert config == crf.get_config()
    assert isinstance(keras.losses.deserialize(keras.losses.serialize(crf.get_loss())), CRFLoss)
    assert isinstance(keras.metrics.deserialize(keras.metrics.serialize(crf.get_accuracy())), CRFAccuracy)


# --------------------------------------------------------------------------- the loss: reductions


def _potential_model(steps, num_tags, **crf_kwargs):
    """A model whose input *is* the potentials, so the CRF's own scores are its only weights."""
    inputs = keras.Input((steps, num_tags))
    crf = CRF(num_tags, name="crf", **crf_kwargs)
    return keras.Model(inputs, crf(inputs)), crf


def _brute_nll(pot, tags, trans, start=None, end=None):
    """Per-sequence negative log-likelihood (full-length rows) by enumeration, float64."""
    out = []
    for b in range(len(pot)):
        paths, scores = brute_paths(pot[b].astype(np.float64), trans.astype(np.float64), pot.shape[1], start, end)
        out.append(logsumexp(scores) - scores[paths.index(tuple(tags[b]))])
    return np.array(out)


# Keras 3's documented reductions, written out in NumPy: l = per-sequence losses, w = weights.
REDUCTIONS = {
    "sum": lambda l, w: np.sum(w * l),
    "sum_over_batch_size": lambda l, w: np.sum(w * l) / len(l),
    "mean": lambda l, w: np.sum(w * l) / len(l),
    "mean_with_sample_weight": lambda l, w: np.sum(w * l) / np.sum(w),
    "none": lambda l, w: w * l,
    None: lambda l, w: w * l,
}


@pytest.mark.parametrize("reduction", list(REDUCTIONS))
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_reductions_and_sample_weights_match_numpy(reduction, weighted):
    rng = np.random.default_rng(11)
    steps, num_tags, batch = 3, 3, 4
    model, crf = _potential_model(steps, num_tags)
    crf._transitions.assign(rng.normal(size=(num_tags, num_tags)).astype("float32"))
    pot = rng.normal(size=(batch, steps, num_tags)).astype("float32")
    tags = rng.integers(0, num_tags, size=(batch, steps))
    weights = np.array([0.5, 2.0, 0.0, 1.5], "float32") if weighted else None
    per_sequence = _brute_nll(pot, tags, _np(crf.transitions))
    want = REDUCTIONS[reduction](per_sequence, np.ones(batch) if weights is None else weights)
    loss = CRFLoss(layer=crf, reduction=reduction)
    got = _np(loss(tags, model(pot), sample_weight=weights))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    if reduction in ("sum", "sum_over_batch_size", "mean_with_sample_weight"):
        # Through compile/evaluate too (one batch, so the reported loss is that batch's).
        model.compile("sgd", loss=CRFLoss(layer=crf, reduction=reduction))
        got = model.evaluate(pot, tags, sample_weight=weights, batch_size=batch, verbose=0)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_loss_rejects_per_step_weights_and_unknown_reductions():
    model, crf = _potential_model(3, 2)
    pot = np.zeros((2, 3, 2), "float32")
    tags = np.zeros((2, 3), "int32")
    with pytest.raises(ValueError, match="one weight per sequence"):
        crf.get_loss()(tags, model(pot), sample_weight=np.ones((2, 3), "float32"))
    np.testing.assert_allclose(  # (batch, 1) is one weight per sequence too
        _np(crf.get_loss()(tags, model(pot), sample_weight=np.ones((2, 1), "float32"))),
        _np(crf.get_loss()(tags, model(pot))), rtol=1e-6,
    )  # fmt: skip
    with pytest.raises(ValueError, match="reduction"):
        CRFLoss(layer=crf, reduction="average")


@pytest.mark.parametrize("reduction", ["sum", "mean_with_sample_weight", "none"])
def test_loss_reduction_survives_serialization(reduction):
    loss = CRFLoss(reduction=reduction, name="nll")
    again = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(again, CRFLoss) and again.reduction == loss.reduction and again.name == "nll"


# --------------------------------------------------------------------------- transition learning rate


def _brute_grad_transitions(pot, tags, trans):
    """d(mean NLL)/dA by enumeration: E_p[count of i->j] - gold count of i->j, averaged."""
    num_tags = trans.shape[0]
    grad = np.zeros((num_tags, num_tags))
    for b in range(len(pot)):
        paths, scores = brute_paths(pot[b].astype(np.float64), trans.astype(np.float64), pot.shape[1])
        prob = np.exp(scores - logsumexp(scores))
        for p, path in zip(prob, paths):
            for i, j in zip(path, path[1:]):
                grad[i, j] += p
        for i, j in zip(tags[b], tags[b][1:]):
            grad[i, j] -= 1
    return grad / len(pot)


def _one_step(optimizer, multiplier, pot, tags):
    model, crf = _potential_model(pot.shape[1], pot.shape[2], transition_lr_multiplier=multiplier)
    model.compile(optimizer, loss=crf.get_loss())
    before = _np(crf.transitions).copy()
    model.fit(pot, tags, batch_size=len(pot), epochs=1, shuffle=False, verbose=0)
    return _np(crf.transitions) - before


@pytest.mark.parametrize("multiplier", [1.0, 4.0])
def test_transition_lr_multiplier_scales_sgd_by_m_squared_and_adam_by_m(multiplier):
    rng = np.random.default_rng(12)
    pot = rng.normal(size=(3, 4, 3)).astype("float32")
    tags = rng.integers(0, 3, size=(3, 4))
    grad = _brute_grad_transitions(pot, tags, np.zeros((3, 3)))  # transitions start at zero
    lr = 0.01
    np.testing.assert_allclose(
        _one_step(keras.optimizers.SGD(lr), multiplier, pot, tags), -lr * multiplier**2 * grad, rtol=1e-4, atol=1e-7
    )
    # Adam's first step is lr * g / (|g| + eps) on the stored variable, so A moves by m * lr * sign(g).
    step = _one_step(keras.optimizers.Adam(lr), multiplier, pot, tags)
    clear = np.abs(grad) > 1e-3
    np.testing.assert_allclose(step[clear], -lr * multiplier * np.sign(grad[clear]), rtol=1e-3)


def test_transition_lr_multiplier_keeps_the_model_initializer_and_regularizer():
    m = 8.0
    crf = CRF(3, use_boundary=True, transition_lr_multiplier=m,
              transitions_initializer=keras.initializers.Constant(0.5),
              transitions_regularizer=keras.regularizers.L2(0.1))  # fmt: skip
    crf.build((None, 4, 3))
    np.testing.assert_allclose(_np(crf.transitions), np.full((3, 3), 0.5), rtol=1e-6)
    np.testing.assert_allclose(_np(crf._transitions), np.full((3, 3), 0.5 / m), rtol=1e-6)
    np.testing.assert_allclose(_np(sum(crf.losses)), 0.1 * 9 * 0.25, rtol=1e-5)
    crf._start_transitions.assign(np.array([1.0, 2.0, 3.0], "float32"))
    np.testing.assert_allclose(_np(crf.start_transitions), m * np.array([1.0, 2.0, 3.0]), rtol=1e-6)
    # The same scores give the same likelihood as with no multiplier.
    pot = np.random.default_rng(13).normal(size=(2, 4, 3)).astype("float32")
    tags = np.array([[0, 1, 2, 0], [2, 2, 1, 0]])
    plain = CRF(3, use_boundary=True)
    plain.build((None, 4, 3))
    plain._transitions.assign(_np(crf.transitions))
    plain._start_transitions.assign(_np(crf.start_transitions))
    plain._end_transitions.assign(_np(crf.end_transitions))
    np.testing.assert_allclose(_np(crf.log_likelihood(pot, tags)), _np(plain.log_likelihood(pot, tags)), rtol=1e-5)


def test_transition_lr_multiplier_round_trips_through_save(tmp_path):
    keras.utils.set_random_seed(14)
    model, crf = _tagger(3, 10, use_boundary=True, transition_lr_multiplier=5.0)
    model.compile(keras.optimizers.Adam(0.01), loss=crf.get_loss())
    x = np.array([[1, 2, 3, 0], [4, 5, 6, 7]])
    y = np.array([[0, 1, 2, 0], [2, 2, 1, 0]])
    model.fit(x, y, epochs=2, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    again = loaded.get_layer("crf")
    assert again.transition_lr_multiplier == 5.0
    np.testing.assert_allclose(_np(again.transitions), _np(crf.transitions), rtol=1e-6)
    np.testing.assert_allclose(_np(again.end_transitions), _np(crf.end_transitions), rtol=1e-6)
    np.testing.assert_array_equal(_np(again.decode(loaded.predict(x, verbose=0))), _np(crf.decode(model.predict(x, verbose=0))))


def test_transition_lr_multiplier_rejects_bad_values():
    for bad in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="transition_lr_multiplier must be finite and > 0"):
            CRF(3, transition_lr_multiplier=bad)
    for bad in ("10", True, None):
        with pytest.raises(TypeError, match="transition_lr_multiplier must be a number"):
            CRF(3, transition_lr_multiplier=bad)


# --------------------------------------------------------------------------- segmentation helpers

sentences = st.lists(st.text(alphabet="迈向充满希望的新世纪", min_size=1, max_size=4), min_size=1, max_size=8)


def test_one_bmes_decoder():
    import kbook.data

    assert words_from_tags is kbook.data.words_from_tags
    assert BMES == kbook.data.BMES == "BMES"


@given(sentences)
def test_tags_round_trip_to_the_same_words(words):
    tags = bmes_tags(words)
    assert len(tags) == len("".join(words))
    assert words_from_tags("".join(words), tags) == words
    assert words_from_tags("".join(words), [BMES.index(t) for t in tags]) == words
    assert words_from_tags("".join(words), np.array([BMES.index(t) for t in tags])) == words


@given(st.text(alphabet="BMES", min_size=0, max_size=12))
def test_decoder_cuts_where_the_rule_says_for_any_tags(tags):
    # Independent statement of the rule: a cut sits before character i (0 < i < n) exactly when
    # tag i is B or S, or tag i-1 is E or S. Valid or not, every tag string is cut by it.
    text = "".join(chr(0x4E00 + i) for i in range(len(tags)))
    cuts = [0] + [i for i in range(1, len(tags)) if tags[i] in "BS" or tags[i - 1] in "ES"] + [len(tags)]
    want = [text[a:b] for a, b in zip(cuts, cuts[1:])] if tags else []
    assert words_from_tags(text, tags) == want


def test_decoder_hand_cases():
    assert words_from_tags("abcd", "BBBB") == ["a", "b", "c", "d"]
    assert words_from_tags("abcd", "MMMM") == ["abcd"]
    assert words_from_tags("abcd", "EBSM") == ["a", "b", "c", "d"]
    assert words_from_tags("abcde", "MEMBE") == ["ab", "c", "de"]
    assert words_from_tags("", "") == []


def test_violations_are_zero_exactly_for_taggings_of_segmentations():
    # Enumerate every segmentation of n characters (2**(n-1) of them) and every tag string.
    for n in range(1, 7):
        valid = set()
        for cuts in itertools.product([False, True], repeat=n - 1):
            lengths, size = [], 1
            for cut in cuts:
                if cut:
                    lengths.append(size)
                    size = 1
                else:
                    size += 1
            lengths.append(size)
            valid.add(bmes_tags(["x" * k for k in lengths]))
        assert len(valid) == 2 ** (n - 1)
        for tags in itertools.product(BMES, repeat=n):
            tags = "".join(tags)
            assert (bmes_violations(tags) == (0, 0)) == (tags in valid), tags


def test_violations_hand_cases():
    assert bmes_violations("") == (0, 0)
    assert bmes_violations("S") == (0, 0)
    assert bmes_violations("B") == (0, 1)
    assert bmes_violations("M") == (0, 2)
    assert bmes_violations("EB") == (0, 2)  # E first, B last; E then B is allowed
    assert bmes_violations("BBSM") == (3, 1)  # B B, B S, S M; ends with M
    assert bmes_violations([3, 1, 2]) == (1, 0)  # S M is the only bad pair


def _words_by_enumeration(words):
    """Every span (i, j) that is a word: cuts at i and j and none strictly between."""
    n = sum(len(w) for w in words)
    cut = np.zeros(n + 1, bool)
    cut[np.cumsum([0] + [len(w) for w in words])] = True
    return {(i, j) for i in range(n) for j in range(i + 1, n + 1) if cut[i] and cut[j] and not cut[i + 1 : j].any()}


@given(st.lists(st.tuples(sentences, st.integers(0, 2**31 - 1)), min_size=1, max_size=4))
def test_prf_matches_enumerated_spans(pairs):
    gold, predicted = [], []
    correct = n_gold = n_pred = 0
    for words, seed in pairs:
        text = "".join(words)
        rng = np.random.default_rng(seed)
        guess_cuts = rng.random(len(text) - 1) < 0.5
        guess = words_from_tags(text, "".join("B" if i == 0 or guess_cuts[i - 1] else "M" for i in range(len(text))))
        gold.append(words)
        predicted.append(guess)
        g, q = _words_by_enumeration(words), _words_by_enumeration(guess)
        correct += len(g & q)
        n_gold += len(g)
        n_pred += len(q)
    p, r, f = segmentation_prf(gold, predicted)
    assert p == pytest.approx(correct / n_pred) and r == pytest.approx(correct / n_gold)
    assert f == pytest.approx(2 * correct / (n_gold + n_pred))  # F1 from the counts, not from p and r
    assert segmentation_prf(gold, gold) == (1.0, 1.0, 1.0)


def test_prf_hand_cases():
    # gold 迈向 / 新世纪, predicted 迈向 / 新 / 世纪: 1 of 3 predicted words right, 1 of 2 gold found.
    assert segmentation_prf([["迈向", "新世纪"]], [["迈向", "新", "世纪"]]) == pytest.approx((1 / 3, 1 / 2, 0.4))
    # Pooled over sentences: (1 + 0) correct of (3 + 1) predicted and (2 + 2) gold.
    p, r, f = segmentation_prf([["迈向", "新世纪"], ["充", "满"]], [["迈向", "新", "世纪"], ["充满"]])
    assert (p, r, f) == pytest.approx((1 / 4, 1 / 4, 1 / 4))
    assert segmentation_prf([], []) == (0.0, 0.0, 0.0)


def test_segmentation_helpers_reject_bad_input():
    with pytest.raises(TypeError, match="not one string"):
        bmes_tags("迈向")
    with pytest.raises(TypeError, match="words must hold strings"):
        bmes_tags(["迈向", 3])
    with pytest.raises(TypeError, match="words must be a list or tuple"):
        bmes_tags(5)
    with pytest.raises(ValueError, match="non-empty strings"):
        bmes_tags(["迈向", ""])
    with pytest.raises(ValueError, match="one entry per character"):
        words_from_tags("迈向", "B")
    with pytest.raises(ValueError, match="one entry per character"):
        words_from_tags("迈向", "BES")  # extra tags are an error, not ignored
    with pytest.raises(ValueError, match="letters of"):
        words_from_tags("迈向", "BX")
    with pytest.raises(ValueError, match="indices 0-3"):
        words_from_tags("迈向", [0, 4])
    with pytest.raises(ValueError, match="indices 0-3"):
        words_from_tags("迈向", [-1, 2])  # -1 is not S
    with pytest.raises(ValueError, match="indices 0-3"):
        words_from_tags("迈向", np.array([0, 7]))
    with pytest.raises(ValueError, match="one-dimensional"):
        words_from_tags("迈向", np.zeros((1, 2), "int32"))
    with pytest.raises(TypeError, match="chars must be a str"):
        words_from_tags(["迈", "向"], "BE")
    with pytest.raises(TypeError, match="integers or letters"):
        words_from_tags("迈向", [0, 2.0])
    with pytest.raises(TypeError, match="integers or letters"):
        words_from_tags("迈向", [True, False])
    with pytest.raises(TypeError, match="integers or letters"):
        words_from_tags("迈向", np.array([0.0, 2.0]))
    with pytest.raises(TypeError, match="tags must be a str, list"):
        words_from_tags("迈向", 3)
    with pytest.raises(ValueError, match="indices 0-3"):
        bmes_violations([0, 9])
    with pytest.raises(ValueError, match="as many sentences"):
        segmentation_prf([["迈向"]], [])
    with pytest.raises(ValueError, match="differs"):
        segmentation_prf([["迈向"]], [["迈", "进"]])
    with pytest.raises(TypeError, match="gold must be a list of sentences"):
        segmentation_prf("迈向", [["迈向"]])
    with pytest.raises(TypeError, match="predicted must hold sentences as lists of words"):
        segmentation_prf([["迈向"]], ["迈向"])
    with pytest.raises(TypeError, match="lists of strings"):
        segmentation_prf([["迈向"]], [[1]])
