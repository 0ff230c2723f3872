"""kbook.fid against SciPy's sqrtm, closed forms for diagonal covariances, a Keras model built from
the same weights, and the Fashion-MNIST test set (the classifier's accuracy is pinned)."""

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

import kbook.data
from kbook.fid import (
    classifier_info,
    fashion_features,
    fashion_fid,
    fashion_outputs,
    fashion_predict,
    feature_statistics,
    frechet_distance,
    load_classifier,
)

MIN_TEST_ACCURACY = 0.89
"""The accuracy the committed classifier must keep on the 10,000 test images."""


def scipy_frechet(mu1, sigma1, mu2, sigma2):
    # the textbook computation (as in the reference FID code): a general matrix square root
    covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
    covmean = np.real(covmean)
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def random_covariance(rng, d, rank=None):
    factor = rng.normal(size=(d, rank or d + 3))
    return factor @ factor.T / factor.shape[1]


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 12), st.integers(0, 2**32 - 1))
def test_matches_scipy_sqrtm_on_full_rank_covariances(d, seed):
    rng = np.random.default_rng(seed)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    sigma1, sigma2 = random_covariance(rng, d), random_covariance(rng, d)
    ours = frechet_distance(mu1, sigma1, mu2, sigma2)
    assert ours == pytest.approx(scipy_frechet(mu1, sigma1, mu2, sigma2), rel=1e-6, abs=1e-8)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 10), st.integers(0, 2**32 - 1), st.booleans())
def test_diagonal_covariances_match_the_closed_form(d, seed, with_zeros):
    # for diagonal covariances the distance is sum (mu1-mu2)^2 + sum (sqrt(s1) - sqrt(s2))^2
    rng = np.random.default_rng(seed)
    s1, s2 = rng.uniform(0, 3, d), rng.uniform(0, 3, d)
    if with_zeros:  # singular covariances: a sqrtm of the product is at its worst here
        s1[rng.random(d) < 0.5] = 0.0
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(s1) - np.sqrt(s2)) ** 2)
    assert frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_identities():
    rng = np.random.default_rng(1)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    sigma1, sigma2 = random_covariance(rng, 5), random_covariance(rng, 5, rank=2)
    assert frechet_distance(mu1, sigma1, mu1, sigma1) == pytest.approx(0.0, abs=1e-10)
    assert frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(frechet_distance(mu2, sigma2, mu1, sigma1))
    # equal covariances: only the means count (sigma2 has rank 2: the square roots of its three
    # round-off eigenvalues, ~1e-8 each, bound the accuracy)
    assert frechet_distance(mu1, sigma1, mu2, sigma1) == pytest.approx(np.sum((mu1 - mu2) ** 2), abs=1e-9)
    assert frechet_distance(mu1, sigma2, mu2, sigma2) == pytest.approx(np.sum((mu1 - mu2) ** 2), abs=1e-6)
    # commuting covariances (same eigenvectors): tr (S1 S2)^1/2 = sum sqrt(l1 l2)
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    l1, l2 = rng.uniform(0.1, 2, 5), rng.uniform(0.1, 2, 5)
    expected = np.sum((np.sqrt(l1) - np.sqrt(l2)) ** 2)
    assert frechet_distance(np.zeros(5), q @ np.diag(l1) @ q.T, np.zeros(5), q @ np.diag(l2) @ q.T) == pytest.approx(expected)


def test_rank_deficient_covariances_stay_finite_and_nonnegative():
    # fewer samples than dimensions: the situation of a small or collapsed sample set
    rng = np.random.default_rng(2)
    for _ in range(20):
        a, b = rng.normal(size=(4, 30)), rng.normal(size=(4, 30)) * 0.01
        value = frechet_distance(*feature_statistics(a), *feature_statistics(b))
        assert np.isfinite(value) and value >= 0.0


def test_feature_statistics_matches_a_direct_computation():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 3))
    mu, sigma = feature_statistics(x)
    centred = x - x.mean(axis=0)
    np.testing.assert_allclose(mu, x.sum(axis=0) / 40)
    np.testing.assert_allclose(sigma, centred.T @ centred / 39)
    mu1, sigma1 = feature_statistics(x[:, :1])  # one feature: still a (1, 1) matrix
    assert mu1.shape == (1,) and sigma1.shape == (1, 1)


@pytest.mark.parametrize(
    "args, error, match",
    [
        ((np.zeros(2), np.eye(2), np.zeros(3), np.eye(3)), ValueError, "same length"),
        ((np.zeros((2, 1)), np.eye(2), np.zeros(2), np.eye(2)), ValueError, "mu1 must be a vector"),
        ((np.zeros(2), np.eye(3), np.zeros(2), np.eye(2)), ValueError, r"sigma1 must have shape \(2, 2\)"),
        ((np.zeros(2), np.eye(2), np.zeros(2), np.ones(2)), ValueError, "sigma2 must be a square matrix"),
        ((np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]), np.zeros(2), np.eye(2)), ValueError, "sigma1 must be symmetric"),
        ((np.zeros(2), np.eye(2), np.zeros(2), np.diag([1.0, -1.0])), ValueError, "sigma2 must be positive semi-definite"),
        ((np.array([0.0, np.nan]), np.eye(2), np.zeros(2), np.eye(2)), ValueError, "NaN"),
        ((np.zeros(0), np.eye(0), np.zeros(0), np.eye(0)), ValueError, "at least one"),
        ((["a", "b"], np.eye(2), np.zeros(2), np.eye(2)), TypeError, "mu1 must be a numeric array"),
        ((np.zeros(2), np.eye(2, dtype=complex), np.zeros(2), np.eye(2)), TypeError, "sigma1 must be real"),
    ],
)
def test_bad_input_is_refused(args, error, match):
    with pytest.raises(error, match=match):
        frechet_distance(*args)


def test_feature_statistics_needs_two_rows():
    with pytest.raises(ValueError, match="at least 2"):
        feature_statistics(np.zeros((1, 4)))


# --------------------------------------------------------------------------- the classifier


@pytest.fixture(scope="module")
def weights():
    return load_classifier()


@pytest.fixture(scope="module")
def test_set():
    _, (x_test, y_test) = kbook.data.fashion_mnist()
    return x_test, y_test


@pytest.fixture(scope="module")
def test_outputs(weights, test_set):
    """Features and probabilities of the 10,000 test images (one NumPy pass, shared)."""
    return fashion_outputs(test_set[0], weights=weights)


def test_weights_are_small_and_described(weights):
    n_parameters = sum(value.size for key, value in weights.items() if key != "meta")
    assert n_parameters * 4 < 1_000_000
    info = classifier_info(weights)
    assert info["input_range"] == [-1.0, 1.0] and info["feature_layer"] == "dense1"


def test_classifier_accuracy_on_the_test_set(weights, test_set, test_outputs):
    x_test, y_test = test_set
    predicted = test_outputs[1].argmax(axis=1)
    accuracy = float(np.mean(predicted == y_test))
    assert accuracy >= MIN_TEST_ACCURACY
    # the number stored with the weights (measured by Keras at training time) is this one
    assert accuracy == pytest.approx(classifier_info(weights)["test_accuracy"], abs=0.002)


def test_numpy_forward_pass_matches_keras(weights, test_set):
    import keras

    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2")(x)
    x = keras.layers.MaxPooling2D(2)(x)
    features = keras.layers.Dense(64, activation="relu", name="dense1")(keras.layers.Flatten()(x))
    logits = keras.layers.Dense(10, name="dense2")(features)
    model = keras.Model(inputs, [features, logits])
    for name in ("conv1", "conv2", "dense1", "dense2"):
        model.get_layer(name).set_weights([weights[f"{name}_kernel"], weights[f"{name}_bias"]])
    images = test_set[0][:64]
    keras_features, keras_logits = model.predict(images.astype("float32")[..., None] / 127.5 - 1.0, verbose=0)
    np.testing.assert_allclose(fashion_features(images, weights=weights, batch_size=17), keras_features, rtol=1e-4, atol=1e-4)
    probabilities = fashion_predict(images, weights=weights)
    expected = np.exp(keras_logits - keras_logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(probabilities, expected / expected.sum(axis=1, keepdims=True), rtol=1e-4, atol=1e-6)


def test_value_ranges_and_layouts_agree(weights, test_set):
    raw = test_set[0][:20]
    reference = fashion_features(raw, weights=weights)  # uint8: read as 0-255
    unit = raw.astype("float64") / 255.0
    np.testing.assert_allclose(fashion_features(unit, value_range=(0, 1), weights=weights), reference, atol=1e-4)
    np.testing.assert_allclose(fashion_features((2 * unit - 1)[..., None], weights=weights), reference, atol=1e-4)
    np.testing.assert_allclose(fashion_features(raw.astype("float32"), value_range=(0, 255), weights=weights), reference, atol=1e-4)


@pytest.mark.parametrize(
    "images, kwargs, error, match",
    [
        (np.zeros((4, 28, 27)), {}, ValueError, r"shape \(n, 28, 28\)"),
        (np.zeros((4, 28, 28, 3)), {}, ValueError, r"shape \(n, 28, 28\)"),
        (np.zeros((0, 28, 28)), {}, ValueError, "empty"),
        (np.full((2, 28, 28), 0.5) + np.eye(28), {}, ValueError, r"value_range \[-1, 1\]"),
        (np.full((2, 28, 28), 200.0), {"value_range": (0, 1)}, ValueError, r"value_range \[0, 1\]"),
        (np.zeros((2, 28, 28)), {"value_range": (1, 0)}, ValueError, "low < high"),
        (np.zeros((2, 28, 28)), {"value_range": 1.0}, TypeError, "value_range must be a pair"),
        (np.full((2, 28, 28), np.nan), {}, ValueError, "NaN"),
        (np.full((2, 28, 28), "x"), {}, TypeError, "images must be a numeric array"),
        (np.zeros((2, 28, 28)), {"batch_size": 0}, ValueError, "batch_size"),
        (np.zeros((2, 28, 28)), {"weights": {"conv1_kernel": np.zeros(3)}}, ValueError, "weights"),
    ],
)
def test_bad_images_are_refused(images, kwargs, error, match):
    with pytest.raises(error, match=match):
        fashion_features(images, **kwargs)


def test_fashion_fid_needs_two_images_per_set():
    with pytest.raises(ValueError, match="images_b must hold at least 2"):
        fashion_fid(np.zeros((3, 28, 28)), np.zeros((1, 28, 28)))


def test_fid_separates_real_from_degraded_images(weights, test_set, test_outputs):
    # two disjoint real halves are closer than real vs. noisy, and than real vs. one class only
    x, y = test_set
    features = test_outputs[0]
    rng = np.random.default_rng(0)
    order = rng.permutation(len(x))
    a, b = order[:1000], order[1000:2000]
    stats_a = feature_statistics(features[a])
    floor = frechet_distance(*stats_a, *feature_statistics(features[b]))
    noisy = np.clip(x[b] / 127.5 - 1 + rng.normal(0, 0.5, (1000, 28, 28)), -1, 1)
    noisy_fid = frechet_distance(*stats_a, *feature_statistics(fashion_features(noisy, weights=weights)))
    one_class = frechet_distance(*stats_a, *feature_statistics(features[y == 7][:1000]))
    assert 0 < floor < noisy_fid and floor < one_class
    # fashion_fid is the composition of the three steps
    assert fashion_fid(x[a], x[b], weights=weights) == pytest.approx(floor, rel=1e-9)
    assert fashion_fid(x[a[:50]], x[a[:50]], weights=weights) == pytest.approx(0.0, abs=1e-6)


def test_unit_range_images_under_the_default_range_warn(weights, test_set):
    import warnings

    unit = test_set[0][:100].astype("float32") / 255.0  # [0, 1]: passes the [-1, 1] range check
    with pytest.warns(UserWarning, match=r"value_range=\(0, 1\)"):
        fashion_features(unit, weights=weights)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fashion_features(unit, value_range=(0, 1), weights=weights)  # stated range: no warning
        fashion_features(2 * unit - 1, weights=weights)  # the same images in [-1, 1]
        fashion_features(unit[:99], weights=weights)  # too few to tell
        fashion_features(test_set[0][:100], weights=weights)  # uint8
    # the warning is right to fire: read as [-1, 1], [0, 1] images give other features
    with pytest.warns(UserWarning):
        misread = fashion_features(unit, weights=weights)
    right = fashion_features(unit, value_range=(0, 1), weights=weights)
    assert np.abs(misread - right).max() > 0.1 * np.abs(right).max()
