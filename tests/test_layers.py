"""Masked pooling, masked softmax and the mask-aware layers against per-sample NumPy computations
on the unpadded sequences, against Keras's own GlobalAveragePooling1D, and through save/load."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import keras
from keras import ops

from kbook.autodiff import value_and_grad
from kbook.layers import (
    AttentionPooling1D,
    MaskedGlobalPooling1D,
    masked_max,
    masked_mean,
    masked_softmax,
    masked_sum,
)

NUMPY_POOL = {
    "sum": lambda seq: seq.sum(axis=0),
    "mean": lambda seq: seq.mean(axis=0),
    "max": lambda seq: seq.max(axis=0),
}
POOL = {"sum": masked_sum, "mean": masked_mean, "max": masked_max}


def np_softmax(z):
    z = z - z.max()
    e = np.exp(z)
    return e / e.sum()


@st.composite
def padded_batches(draw, max_batch=4, max_len=7, max_d=3):
    """A ragged batch of real sequences, and a padded (batch, T, d) array holding them with extra
    padding steps inserted at random places (left, right, middle) filled with large garbage."""
    n = draw(st.integers(1, max_batch))
    d = draw(st.integers(1, max_d))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    lengths = [draw(st.integers(1, max_len)) for _ in range(n)]
    sequences = [rng.normal(size=(length, d)).astype(np.float32) for length in lengths]
    placements = []
    for length in lengths:
        where = draw(st.sampled_from(["left", "right", "middle", "scattered"]))
        extra = draw(st.integers(0, 5))
        real = np.ones(length, dtype=bool)
        if where == "left":
            row = np.concatenate([np.zeros(extra, bool), real])
        elif where == "right":
            row = np.concatenate([real, np.zeros(extra, bool)])
        elif where == "middle":
            cut = length // 2
            row = np.concatenate([real[:cut], np.zeros(extra, bool), real[cut:]])
        else:
            row = real.copy()
            for _ in range(extra):
                row = np.insert(row, rng.integers(0, len(row) + 1), False)
        placements.append(row)
    T = max(len(row) for row in placements)
    x = rng.normal(scale=1e4, size=(n, T, d)).astype(np.float32)  # garbage in every padded slot
    mask = np.zeros((n, T), dtype=bool)
    for i, (row, seq) in enumerate(zip(placements, sequences)):
        mask[i, : len(row)] = row  # steps beyond len(row) stay masked (right padding to T)
        x[i, np.flatnonzero(mask[i])] = seq
    return sequences, x, mask


@settings(max_examples=30, deadline=None)
@given(padded_batches(), st.sampled_from(["sum", "mean", "max"]))
def test_pooling_equals_the_unpadded_per_sample_computation(batch, mode):
    sequences, x, mask = batch
    expected = np.stack([NUMPY_POOL[mode](seq) for seq in sequences])
    got = ops.convert_to_numpy(POOL[mode](x, mask))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    layer_out = ops.convert_to_numpy(MaskedGlobalPooling1D(mode)(x, mask=mask))
    np.testing.assert_allclose(layer_out, expected, rtol=1e-5, atol=1e-5)


@settings(max_examples=30, deadline=None)
@given(padded_batches(max_d=1))
def test_softmax_equals_the_unpadded_softmax_and_is_zero_on_padding(batch):
    sequences, x, mask = batch
    logits = x[..., 0] * 3.0
    p = ops.convert_to_numpy(masked_softmax(logits, mask))
    assert np.all(p[~mask] == 0.0)
    for i, seq in enumerate(sequences):
        np.testing.assert_allclose(p[i, mask[i]], np_softmax(seq[:, 0] * 3.0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-5)


@settings(max_examples=15, deadline=None)
@given(padded_batches(max_d=2))
def test_attention_pooling_is_padding_invariant(batch):
    # The same layer on each unpadded sequence alone (no mask at all) and on the padded batch.
    sequences, x, mask = batch
    layer = AttentionPooling1D(units=3)
    padded = ops.convert_to_numpy(layer(x, mask=mask))
    alone = np.concatenate([ops.convert_to_numpy(layer(seq[None])) for seq in sequences])
    np.testing.assert_allclose(padded, alone, rtol=1e-4, atol=1e-4)
    # and a NumPy re-computation from the sub-layers' weights
    W, b = (ops.convert_to_numpy(w) for w in layer.hidden.weights)
    v = ops.convert_to_numpy(layer.score.kernel)[:, 0]
    ref = np.stack([np_softmax(np.tanh(seq @ W + b) @ v) @ seq for seq in sequences])
    np.testing.assert_allclose(padded, ref, rtol=1e-4, atol=1e-4)


def test_masked_mean_equals_keras_global_average_pooling_with_a_mask():
    # Keras's GlobalAveragePooling1D honours a mask (any pattern): both must agree.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 9, 4)).astype(np.float32)
    mask = rng.random((5, 9)) < 0.6
    mask[:, 0] = True  # Keras divides by the count: keep it positive for the comparison
    theirs = ops.convert_to_numpy(keras.layers.GlobalAveragePooling1D()(x, mask=mask))
    np.testing.assert_allclose(ops.convert_to_numpy(masked_mean(x, mask)), theirs, rtol=1e-6, atol=1e-6)
    # through an Embedding(mask_zero=True) the propagated mask reaches both layers
    tokens = np.array([[3, 1, 0, 0], [0, 2, 2, 5]])
    inputs = keras.Input((4,), dtype="int32")
    h = keras.layers.Embedding(7, 3, mask_zero=True)(inputs)
    model = keras.Model(inputs, [MaskedGlobalPooling1D("mean")(h), keras.layers.GlobalAveragePooling1D()(h)])
    ours, keras_out = model(tokens)
    np.testing.assert_allclose(ops.convert_to_numpy(ours), ops.convert_to_numpy(keras_out), rtol=1e-6, atol=1e-6)


def test_masking_layer_mask_reaches_the_pooling():
    x = np.array([[[1.0], [3.0], [0.0], [0.0]]], dtype=np.float32)
    inputs = keras.Input((4, 1))
    out = MaskedGlobalPooling1D("mean")(keras.layers.Masking(0.0)(inputs))
    np.testing.assert_allclose(ops.convert_to_numpy(keras.Model(inputs, out)(x)), [[2.0]])


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_pooling_gradients_are_zero_on_padding_and_match_numpy(mode):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 6, 2)).astype(np.float32)
    x[..., :] += np.arange(6)[None, :, None] * 0.01  # no ties for the max
    mask = np.array([[1, 1, 0, 1, 0, 0], [0, 0, 0, 0, 0, 0], [0, 1, 1, 1, 1, 1]], dtype=bool)
    w = rng.normal(size=(3, 2)).astype(np.float32)
    value, grad = value_and_grad(lambda t: ops.sum(POOL[mode](t, mask) * w), x)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    assert np.all(grad[~mask] == 0.0)
    expected = np.zeros_like(x)
    for i in range(3):
        real = np.flatnonzero(mask[i])
        if len(real) == 0:
            continue
        if mode == "sum":
            expected[i, real] = w[i]
        elif mode == "mean":
            expected[i, real] = w[i] / len(real)
        else:
            winners = real[np.argmax(x[i, real], axis=0)]
            expected[i, winners, np.arange(2)] = w[i]
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-6)


def test_all_masked_rows_are_finite_zero_with_zero_gradient():
    x = np.full((2, 4, 3), 7.0, dtype=np.float32)
    mask = np.zeros((2, 4), dtype=bool)
    for fn in POOL.values():
        value, grad = value_and_grad(lambda t: fn(t, mask), x)
        np.testing.assert_array_equal(value, 0.0)
        np.testing.assert_array_equal(grad, 0.0)
    value, grad = value_and_grad(lambda z: masked_softmax(z, mask), x[..., 0])
    np.testing.assert_array_equal(value, 0.0)
    np.testing.assert_array_equal(grad, 0.0)
    value, _ = value_and_grad(lambda t: AttentionPooling1D()(t, mask=mask), x)
    np.testing.assert_array_equal(value, 0.0)


def test_softmax_gradient_matches_the_jacobian_and_is_zero_on_padding():
    rng = np.random.default_rng(2)
    z = rng.normal(size=(2, 5)).astype(np.float32)
    mask = np.array([[1, 0, 1, 1, 0], [0, 1, 1, 0, 0]], dtype=bool)
    c = rng.normal(size=(2, 5)).astype(np.float32)
    _, grad = value_and_grad(lambda t: ops.sum(masked_softmax(t, mask) * c), z)
    assert np.all(grad[~mask] == 0.0)
    for i in range(2):
        real = mask[i]
        p = np_softmax(z[i, real])
        jac = np.diag(p) - np.outer(p, p)  # d p / d z for the real positions
        np.testing.assert_allclose(grad[i, real], jac @ c[i, real], rtol=1e-5, atol=1e-6)


def test_softmax_is_finite_at_extreme_logits_and_other_axes():
    z = np.array([[1e30, -1e30, 3e38], [-3e38, -3e38, -3e38]], dtype=np.float32)
    mask = np.array([[True, True, False], [True, True, False]])
    p = ops.convert_to_numpy(masked_softmax(z, mask))
    np.testing.assert_allclose(p, [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    # normalising over axis 0 with a broadcast (T,)-mask
    q = ops.convert_to_numpy(masked_softmax(np.zeros((3, 2)), np.array([True, False])[None, :], axis=0))
    np.testing.assert_allclose(q, [[1 / 3, 0.0]] * 3, rtol=1e-6)


def test_attention_sub_layers_are_tracked_trained_and_saved(tmp_path):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((6,), dtype="int32")
    h = keras.layers.Embedding(20, 4, mask_zero=True)(inputs)
    pooled = AttentionPooling1D(units=5, name="attn")(h)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(pooled))
    attn = model.get_layer("attn")
    paths = sorted(w.path for w in attn.trainable_weights)
    assert paths == ["attn/hidden/bias", "attn/hidden/kernel", "attn/score/kernel"]
    assert all(any(w is m for m in model.trainable_weights) for w in attn.trainable_weights)
    before = [ops.convert_to_numpy(w).copy() for w in attn.trainable_weights]
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 20, size=(64, 6))
    labels = (tokens[:, 0] > 10).astype("float32")
    model.compile("adam", "binary_crossentropy")
    model.fit(tokens, labels, epochs=2, verbose=0)
    after = [ops.convert_to_numpy(w) for w in attn.trainable_weights]
    assert all(not np.allclose(a, b) for a, b in zip(after, before)), "a sub-layer was not trained"
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    for a, b in zip(attn.trainable_weights, loaded.get_layer("attn").trainable_weights):
        np.testing.assert_array_equal(ops.convert_to_numpy(a), ops.convert_to_numpy(b))
    np.testing.assert_allclose(model.predict(tokens, verbose=0), loaded.predict(tokens, verbose=0), rtol=1e-6)


@pytest.mark.parametrize("mode", ["mean", "max", "sum"])
def test_pooling_layer_round_trips_through_save(tmp_path, mode):
    inputs = keras.Input((5,), dtype="int32")
    h = keras.layers.Embedding(9, 3, mask_zero=True)(inputs)
    out = keras.layers.Dense(2)(MaskedGlobalPooling1D(mode)(h))
    model = keras.Model(inputs, out)
    tokens = np.array([[1, 2, 0, 0, 0], [0, 0, 4, 5, 6]])
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.layers[2], MaskedGlobalPooling1D) and loaded.layers[2].mode == mode
    np.testing.assert_allclose(model.predict(tokens, verbose=0), loaded.predict(tokens, verbose=0), rtol=1e-6)
    config = AttentionPooling1D(units=3, return_attention=True).get_config()
    again = AttentionPooling1D.from_config(config)
    assert (again.units, again.return_attention) == (3, True)


def test_attention_returns_weights_that_are_zero_on_padding():
    x = np.random.default_rng(3).normal(size=(2, 4, 3)).astype(np.float32)
    mask = np.array([[1, 1, 0, 0], [0, 1, 0, 1]], dtype=bool)
    pooled, weights = AttentionPooling1D(return_attention=True)(x, mask=mask)
    weights = ops.convert_to_numpy(weights)
    assert np.all(weights[~mask] == 0) and np.allclose(weights.sum(-1), 1.0)
    np.testing.assert_allclose(ops.convert_to_numpy(pooled), np.einsum("bt,btd->bd", weights, x), rtol=1e-5)


def test_bad_inputs_raise_clear_errors():
    x = np.zeros((2, 3, 4), dtype=np.float32)
    with pytest.raises(ValueError, match="mask shape"):
        masked_mean(x, np.ones((2, 4), bool))
    with pytest.raises(ValueError, match="x must have rank 3"):
        masked_sum(x[0], np.ones((3,), bool))
    with pytest.raises(ValueError, match="mask must have rank 2"):
        masked_max(x, np.ones((2, 3, 1), bool))
    with pytest.raises(TypeError, match="mask must be boolean"):
        masked_mean(x, np.array([["a"] * 3] * 2))
    with pytest.raises(TypeError, match="x must"):
        masked_mean("abc", np.ones((2, 3), bool))
    with pytest.raises(ValueError, match="does not broadcast"):
        masked_softmax(np.zeros((2, 3)), np.ones((2, 4), bool))
    with pytest.raises(ValueError, match="axis"):
        masked_softmax(np.zeros((2, 3)), np.ones((2, 3), bool), axis=2)
    with pytest.raises(ValueError, match="mode must be one of"):
        MaskedGlobalPooling1D("median")
    with pytest.raises(TypeError, match="mode"):
        MaskedGlobalPooling1D(3)
    with pytest.raises(ValueError, match="units"):
        AttentionPooling1D(units=0)
    with pytest.raises(TypeError, match="units"):
        AttentionPooling1D(units=2.5)
    with pytest.raises(ValueError, match="rank 3"):
        MaskedGlobalPooling1D()(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="rank 3"):
        AttentionPooling1D()(np.zeros((2, 3), np.float32))


def test_masked_softmax_equals_keras_softmax_layer_with_a_mask():
    rng = np.random.default_rng(4)
    z = rng.normal(scale=5.0, size=(6, 7)).astype(np.float32)
    mask = rng.random((6, 7)) < 0.5
    mask[0] = False  # an all-padding row: Keras's Softmax layer gives zeros too
    theirs = ops.convert_to_numpy(keras.layers.Softmax()(z, mask=mask))
    np.testing.assert_allclose(ops.convert_to_numpy(masked_softmax(z, mask)), theirs, rtol=1e-5, atol=1e-6)
