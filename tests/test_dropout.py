"""Dropout against its closed-form moments, against Keras's own layer, and MC-dropout identities."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from kbook.dropout import dropout, dropout_moments, mutual_information, predictive_entropy

rates = st.floats(min_value=0.0, max_value=0.95, allow_nan=False)
arrays = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=0, max_dims=4, max_side=6),
    elements=st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
)


@given(arrays, rates, st.integers(0, 2**31))
def test_each_element_is_dropped_or_scaled_exactly(x, rate, seed):
    y = dropout(x, rate, seed=seed)
    assert y.shape == x.shape
    scaled = x / (1.0 - rate)
    assert np.all((y == 0) | np.isclose(y, scaled, rtol=1e-12, atol=0))


@given(arrays, rates)
def test_inference_and_zero_rate_are_the_identity(x, rate):
    np.testing.assert_array_equal(dropout(x, rate, training=False), x)
    np.testing.assert_array_equal(dropout(x, 0.0, seed=1), x)


@given(rates, st.integers(0, 2**31))
def test_same_seed_same_mask(rate, seed):
    x = np.arange(1.0, 50.0)
    np.testing.assert_array_equal(dropout(x, rate, seed=seed), dropout(x, rate, seed=seed))


@pytest.mark.parametrize("rate", [0.1, 0.3, 0.5, 0.8])
def test_mean_and_variance_match_the_closed_form(rate):
    # One fixed input value repeated n times: the sample mean and variance of the outputs must
    # fall within a few standard errors of x and x**2 rate / (1 - rate).
    n, x = 400_000, 1.7
    y = dropout(np.full(n, x), rate, seed=123)
    mean, var = dropout_moments(x, rate)
    # Y - x is x*rate/q with probability q and -x with probability rate: its fourth moment gives
    # the standard error of the sample variance, (m4 - var**2) / n.
    q = 1.0 - rate
    mean_se = math.sqrt(var / n)
    m4 = q * (x * rate / q) ** 4 + rate * x**4
    var_se = math.sqrt((m4 - var**2) / n)
    # At rate 0.5 that first-order term vanishes; the second-order one, (x/q)**2 (p_hat - p)**2,
    # is bounded with the same six-sigma drop-frequency error.
    var_se += (x / q) ** 2 * (math.sqrt(rate * q / n)) ** 2
    assert abs(y.mean() - mean) < 6 * mean_se
    assert abs(y.var() - var) < 6 * var_se
    dropped = (y == 0).mean()
    assert abs(dropped - rate) < 6 * math.sqrt(rate * q / n)


@pytest.mark.keras
@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_agrees_in_distribution_with_keras_dropout(rate):
    import keras

    n = 200_000
    layer = keras.layers.Dropout(rate, seed=5)
    ours = dropout(np.ones(n, dtype=np.float32), rate, seed=5)
    theirs = keras.ops.convert_to_numpy(layer(np.ones((1, n), dtype=np.float32), training=True))[0]
    # Same support {0, 1/(1-rate)} and the same drop frequency within sampling error.
    assert set(np.unique(theirs).round(5)) == set(np.unique(ours).round(5))
    se = math.sqrt(rate * (1 - rate) / n)
    assert abs((theirs == 0).mean() - (ours == 0).mean()) < 8 * se
    # and at inference both are the identity
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(np.ones((1, 4)), training=False)), np.ones((1, 4)))


@pytest.mark.parametrize("rate", [1.0, -0.1, 1.5, float("nan")])
def test_rates_outside_the_unit_interval_are_refused(rate):
    with pytest.raises(ValueError, match="rate"):
        dropout(np.ones(3), rate)


@pytest.mark.parametrize("rate", ["0.5", None, True])
def test_non_numeric_rates_are_type_errors(rate):
    with pytest.raises(TypeError, match="rate"):
        dropout(np.ones(3), rate)


def test_non_numeric_input_is_a_type_error():
    with pytest.raises(TypeError, match="x must be"):
        dropout(np.array(["a", "b"]), 0.5)
    with pytest.raises(TypeError, match="real"):
        dropout(np.ones(2) * 1j, 0.5)


def test_non_numeric_arrays_are_type_errors_everywhere():
    with pytest.raises(TypeError, match="x must be"):
        dropout_moments(np.array(["a"]), 0.5)
    with pytest.raises(TypeError, match="probs must be"):
        predictive_entropy(np.array([[["a", "b"]]]))
    with pytest.raises(TypeError, match="probs must be"):
        mutual_information([[[None, 1.0]]])


def test_integer_input_becomes_float():
    y = dropout(np.array([1, 2, 3]), 0.5, seed=0)
    assert y.dtype.kind == "f"


# ----------------------------------------------------------------- Monte Carlo dropout


def brute_entropy(p):
    return -sum(v * math.log(v) for v in p if v > 0)


@given(st.integers(1, 6), st.integers(1, 4), st.integers(2, 5), st.integers(0, 1000))
def test_entropy_and_mutual_information_against_scalar_formulas(samples, n, classes, seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(samples, n, classes)) * 3
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    total = predictive_entropy(probs)
    mi = mutual_information(probs)
    for i in range(n):
        mean = [sum(probs[s, i, c] for s in range(samples)) / samples for c in range(classes)]
        expected_total = brute_entropy(mean)
        expected_aleatoric = sum(brute_entropy(probs[s, i]) for s in range(samples)) / samples
        assert total[i] == pytest.approx(expected_total, abs=1e-9)
        assert mi[i] == pytest.approx(max(expected_total - expected_aleatoric, 0.0), abs=1e-9)
        assert 0 <= mi[i] <= total[i] + 1e-12 <= math.log(classes) + 1e-9


def test_identical_samples_have_zero_mutual_information():
    probs = np.tile(np.array([[0.2, 0.3, 0.5]]), (7, 1, 1))
    assert mutual_information(probs)[0] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    "probs, match",
    [(np.ones((2, 3)), "shape"), (np.full((1, 1, 2), 0.7), "sum to 1"), (np.array([[[1.5, -0.5]]]), "probabilities")],
)
def test_bad_probabilities_are_refused(probs, match):
    with pytest.raises(ValueError, match=match):
        predictive_entropy(probs)


@pytest.mark.keras
def test_mc_dropout_layer_samples_at_inference_and_survives_save_load(tmp_path):
    import keras

    from kbook.dropout import MCDropout, mc_predict

    inputs = keras.Input((16,))
    outputs = keras.layers.Dense(3, activation="softmax")(MCDropout(0.5, seed=3)(keras.layers.Dense(32)(inputs)))
    model = keras.Model(inputs, outputs)
    x = np.random.default_rng(0).normal(size=(10, 16)).astype("float32")
    a, b = model.predict(x, verbose=0), model.predict(x, verbose=0)
    assert not np.allclose(a, b), "MCDropout must stay active at inference"

    path = tmp_path / "mc.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    layer = [layer for layer in loaded.layers if isinstance(layer, MCDropout)][0]
    assert layer.rate == 0.5
    # With dropout switched off the weights reproduce the original network exactly.
    for src, dst in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(src), keras.ops.convert_to_numpy(dst))

    samples = mc_predict(loaded, x, n_samples=20, batch_size=4)
    assert samples.shape == (20, 10, 3)
    np.testing.assert_allclose(samples.sum(-1), 1.0, rtol=1e-5)
    assert mutual_information(samples).mean() > 0


@pytest.mark.keras
def test_mc_predict_validates_its_arguments():
    import keras

    from kbook.dropout import mc_predict

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="n_samples"):
        mc_predict(model, np.ones((2, 2)), n_samples=0)
    with pytest.raises(ValueError, match="batch_size"):
        mc_predict(model, np.ones((2, 2)), batch_size=0)
    with pytest.raises(ValueError, match="non-empty"):
        mc_predict(model, np.ones((0, 2)))
    for kwargs, match in (({"n_samples": True}, "n_samples"), ({"n_samples": 2.0}, "n_samples"),
                          ({"batch_size": True}, "batch_size"), ({"batch_size": "4"}, "batch_size")):
        with pytest.raises(TypeError, match=match):
            mc_predict(model, np.ones((2, 2)), **kwargs)
    with pytest.raises(TypeError, match="model"):
        mc_predict("model", np.ones((2, 2)))
    with pytest.raises(TypeError, match="x must be numeric"):
        mc_predict(model, np.array([["a", "b"]]))


def test_import_loads_no_backend_and_the_layer_loads_on_first_access():
    import subprocess
    import sys

    code = (
        "import sys, pickle, kbook.dropout as D\n"
        "heavy = [m for m in ('keras', 'tensorflow', 'jax', 'torch') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "from kbook.dropout import MCDropout\n"
        "import keras\n"
        "assert keras.saving.get_registered_object('kbook>MCDropout') is MCDropout is D.MCDropout\n"
        "assert pickle.loads(pickle.dumps(MCDropout)) is MCDropout\n"
        "assert 'MCDropout' in dir(D)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
