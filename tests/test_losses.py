"""Tests for kbook.losses against independent float64 NumPy closed forms, Keras's own losses and
hand-derived gradients, plus tests that pin the Keras focal-loss behaviours the focal-loss chapter
describes. Every test touches Keras (the losses are keras.ops code), so all run under TensorFlow
and JAX."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from kbook.config import quiet

quiet()
import keras  # noqa: E402

from kbook import losses  # noqa: E402
from kbook.autodiff import value_and_grad  # noqa: E402

pytestmark = [
    pytest.mark.keras,
    # raised inside Keras's own evaluate() under numpy 2, not by kbook
    pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),
]
SETTINGS = settings(max_examples=25, deadline=None)


# --------------------------------------------------------------------------- references (float64)


def np_log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


def np_sigmoid(x):
    return np.exp(np_log_sigmoid(x))


def ref_bce(y, x):
    return -(y * np_log_sigmoid(x) + (1 - y) * np_log_sigmoid(-x))


def ref_hard(y, p, m):
    """Brute force: loop over every output and apply the rule in words."""
    out = np.zeros_like(p, dtype=np.float64)
    for idx in np.ndindex(p.shape):
        yy, pp = float(y[idx]), float(p[idx])
        right = (yy > m and pp > m) or (yy < 1 - m and pp < 1 - m)
        ce = -(yy * np.log(pp) + (1 - yy) * np.log(1 - pp))
        out[idx] = 0.0 if right else ce
    return out.mean(axis=-1)


def ref_soft(y, x, k, m=0.5):
    t = np.log(m / (1 - m))
    pos = -np_sigmoid(-k * (x - t)) * np_log_sigmoid(x)
    neg = -np_sigmoid(k * (x + t)) * np_log_sigmoid(-x)
    return (y * pos + (1 - y) * neg).mean(axis=-1)


def ref_focal(y, x, gamma, alpha):
    p = np_sigmoid(x)
    a1, a0 = (1.0, 1.0) if alpha is None else (alpha, 1 - alpha)
    pos = -a1 * (1 - p) ** gamma * np_log_sigmoid(x)
    neg = -a0 * p**gamma * np_log_sigmoid(-x)
    return (y * pos + (1 - y) * neg).mean(axis=-1)


def ref_categorical_focal(y, x, gamma, alpha):
    log_p = x - np.logaddexp.reduce(x, axis=-1, keepdims=True)
    p = np.exp(log_p)
    w = 1.0 if alpha is None else np.asarray(alpha)
    return -(w * y * (1 - p) ** gamma * log_p).sum(axis=-1)


def gradient(fn, x):
    """d sum(fn(x)) / dx, with whichever backend Keras runs on (the spine's helper)."""
    return value_and_grad(fn, x)[1]


# --------------------------------------------------------------------------- strategies

# A few fixed shapes: under JAX every new shape costs a compilation.
shapes = st.sampled_from([(1, 1), (4, 3)])
logits_in = lambda shape, bound=25.0: hnp.arrays(  # noqa: E731
    np.float64, shape, elements=st.floats(-bound, bound, allow_nan=False)
)


@st.composite
def labelled_logits(draw, soft=False, bound=25.0):
    shape = draw(shapes)
    x = draw(logits_in(shape, bound))
    if soft:
        y = draw(hnp.arrays(np.float64, shape, elements=st.floats(0, 1)))
    else:
        y = draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0])))
    return y, x


def close(actual, expected, rtol=2e-4, atol=2e-5):
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected, rtol=rtol, atol=atol)


# --------------------------------------------------------------------------- closed forms


@SETTINGS
@given(data=labelled_logits(), margin=st.floats(0.51, 0.95))
def test_hard_truncation_matches_brute_force(data, margin):
    y, x = data
    p = np.clip(np_sigmoid(x / 5), 1e-4, 1 - 1e-4)  # probabilities spread over (0, 1)
    assume(np.all(np.abs(p - margin) > 1e-4) and np.all(np.abs(p - (1 - margin)) > 1e-4))
    close(losses.hard_truncation_loss(y, p, margin=margin), ref_hard(y, p, margin))


@SETTINGS
@given(data=labelled_logits(soft=True), margin=st.floats(0.51, 0.95))
def test_hard_truncation_from_logits_is_exact(data, margin):
    y, x = data
    threshold = np.log(margin / (1 - margin))
    assume(np.all(np.abs(np.abs(x) - threshold) > 1e-3))
    right = ((y > margin) & (x > threshold)) | ((y < 1 - margin) & (x < -threshold))
    expected = np.where(right, 0.0, ref_bce(y, x)).mean(axis=-1)
    close(losses.hard_truncation_loss(y, x, margin=margin, from_logits=True), expected)


def test_truncation_weight_step_convention():
    # θ(0) = 0: an output exactly at the margin is not yet "right", so it still gets gradient.
    w = losses.truncation_weight([[1.0, 0.0, 1.0, 0.0]], [[0.75, 0.25, 0.8, 0.2]], margin=0.75)
    assert np.asarray(w).tolist() == [[1.0, 1.0, 0.0, 0.0]]


@SETTINGS
@given(data=labelled_logits(soft=True), k=st.floats(0.1, 20), margin=st.one_of(st.just(0.5), st.floats(0.5, 0.95)))
def test_soft_truncation_matches_closed_form(data, k, margin):
    y, x = data
    close(losses.soft_truncation_loss(y, x, k=k, margin=margin), ref_soft(y, x, k, margin))


@pytest.mark.parametrize("margin", [0.6, 0.8])
def test_soft_truncation_tends_to_hard_truncation_as_k_grows(margin):
    # away from the step, σ(k(x - t)) → θ: the soft loss at k = 400 equals the hard one
    t = np.log(margin / (1 - margin))
    x = np.array([[t - 2.0, t - 0.5, t + 0.5, t + 2.0, -t - 1.0, -t + 1.0]])
    for label in (0.0, 1.0):
        y = np.full_like(x, label)
        soft = losses.soft_truncation_loss(y, x, k=400.0, margin=margin)
        hard = losses.hard_truncation_loss(y, x, margin=margin, from_logits=True)
        close(soft, np.asarray(hard), rtol=1e-6, atol=1e-7)


@SETTINGS
@given(data=labelled_logits(soft=True))
def test_soft_truncation_with_k_one_is_focal_gamma_one(data):
    y, x = data
    close(
        losses.soft_truncation_loss(y, x, k=1.0),
        np.asarray(losses.binary_focal_loss(y, x, gamma=1.0, from_logits=True)),
    )


@SETTINGS
@given(
    data=labelled_logits(soft=True),
    gamma=st.floats(0.0, 5.0),
    alpha=st.one_of(st.none(), st.floats(0.0, 1.0)),
)
def test_binary_focal_from_logits_matches_closed_form(data, gamma, alpha):
    y, x = data
    close(losses.binary_focal_loss(y, x, gamma=gamma, alpha=alpha, from_logits=True), ref_focal(y, x, gamma, alpha))


@SETTINGS
@given(data=labelled_logits(bound=8.0), gamma=st.floats(0.0, 5.0), alpha=st.one_of(st.none(), st.floats(0.0, 1.0)))
def test_binary_focal_from_probabilities_matches_closed_form(data, gamma, alpha):
    y, x = data
    p = np_sigmoid(x)
    close(losses.binary_focal_loss(y, p, gamma=gamma, alpha=alpha), ref_focal(y, x, gamma, alpha), rtol=1e-3)


@SETTINGS
@given(data=labelled_logits(soft=True))
def test_focal_with_gamma_zero_is_cross_entropy(data):
    y, x = data
    ours = losses.binary_focal_loss(y, x, gamma=0.0, alpha=None, from_logits=True)
    close(ours, ref_bce(y, x).mean(axis=-1))
    close(ours, np.asarray(keras.losses.binary_crossentropy(y, x, from_logits=True)))


@SETTINGS
@given(
    data=labelled_logits(bound=4.0),
    gamma=st.floats(0.0, 4.0),
    alpha=st.floats(0.05, 0.95),
    from_logits=st.booleans(),
)
def test_agrees_with_keras_binary_focal_where_keras_is_exact(data, gamma, alpha, from_logits):
    # Keras clips probabilities at 1e-7, so it is exact only away from saturation (|logit| ≤ 4).
    y, x = data
    y_pred = x if from_logits else np_sigmoid(x)
    reference = keras.losses.BinaryFocalCrossentropy(
        apply_class_balancing=True, alpha=alpha, gamma=gamma, from_logits=from_logits, reduction=None
    )
    close(
        losses.binary_focal_loss(y, y_pred, gamma=gamma, alpha=alpha, from_logits=from_logits),
        np.asarray(reference(y, y_pred)),
        rtol=1e-3,
        atol=1e-5,
    )


def test_exact_where_keras_clips():
    # label 0, logit 30, γ = 0: the exact loss is log(1 + e^30) = 30.000000000000092.
    ours = float(np.asarray(losses.binary_focal_loss([[0.0]], [[30.0]], gamma=0.0, from_logits=True))[0])
    assert ours == pytest.approx(30.0, abs=1e-4)
    ours = float(np.asarray(losses.binary_focal_loss([[1.0]], [[-200.0]], gamma=2.0, from_logits=True))[0])
    assert ours == pytest.approx(200.0, rel=1e-6)  # (1 - σ(-200))^2 · 200


@SETTINGS
@given(
    shape=st.sampled_from([(1, 2), (4, 4)]),
    data=st.data(),
    gamma=st.floats(0.0, 4.0),
    with_alpha=st.booleans(),
)
def test_categorical_focal_from_logits_matches_closed_form(shape, data, gamma, with_alpha):
    x = data.draw(logits_in(shape, 20.0))
    y = np.eye(shape[1])[data.draw(hnp.arrays(np.int64, shape[:1], elements=st.integers(0, shape[1] - 1)))]
    alpha = data.draw(hnp.arrays(np.float64, shape[1:], elements=st.floats(0, 2))) if with_alpha else None
    ours = losses.categorical_focal_loss(y, x, gamma=gamma, alpha=None if alpha is None else alpha.tolist(), from_logits=True)
    close(ours, ref_categorical_focal(y, x, gamma, alpha), rtol=1e-3, atol=1e-5)
    p = np.exp(x - np.logaddexp.reduce(x, axis=-1, keepdims=True))
    p_ok = np.all(p > 1e-6) and np.all(p < 1 - 1e-6)
    if p_ok:  # from probabilities the clipping at 1e-7 matters only near saturation
        ours_p = losses.categorical_focal_loss(y, p, gamma=gamma, alpha=None if alpha is None else alpha.tolist())
        close(ours_p, ref_categorical_focal(y, x, gamma, alpha), rtol=1e-3, atol=1e-4)


def test_categorical_focal_reduces_to_keras():
    rng = np.random.default_rng(0)
    x = rng.normal(scale=3.0, size=(16, 4))
    y = np.eye(4)[rng.integers(0, 4, size=16)]
    close(
        losses.categorical_focal_loss(y, x, gamma=0.0, from_logits=True),
        np.asarray(keras.losses.categorical_crossentropy(y, x, from_logits=True)),
    )
    # Keras's categorical focal loss applies one scalar alpha (default 0.25) to every class.
    keras_focal = keras.losses.CategoricalFocalCrossentropy(gamma=2.0, from_logits=True, reduction=None)
    close(
        losses.categorical_focal_loss(y, x, gamma=2.0, alpha=0.25, from_logits=True),
        np.asarray(keras_focal(y, x)),
        rtol=1e-3,
        atol=1e-6,
    )


def test_per_sample_shape():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, size=(2, 3, 4)).astype("float32")
    x = rng.normal(size=(2, 3, 4)).astype("float32")
    assert tuple(losses.hard_truncation_loss(y, x, from_logits=True).shape) == (2, 3)
    assert tuple(losses.soft_truncation_loss(y, x).shape) == (2, 3)
    assert tuple(losses.binary_focal_loss(y, x, from_logits=True).shape) == (2, 3)
    assert tuple(losses.categorical_focal_loss(y, x, from_logits=True).shape) == (2, 3)


# --------------------------------------------------------------------------- gradients


EXTREMES = np.array([[-200.0, -50.0, -1.0, 0.0, 1.0, 50.0, 200.0]])


@pytest.mark.parametrize("label", [0.0, 1.0])
@pytest.mark.parametrize(
    "fn",
    [
        lambda y, x: losses.hard_truncation_loss(y, x, from_logits=True),
        lambda y, x: losses.soft_truncation_loss(y, x, k=5.0),
        lambda y, x: losses.binary_focal_loss(y, x, gamma=2.0, alpha=0.25, from_logits=True),
        lambda y, x: losses.binary_focal_loss(y, x, gamma=0.5, from_logits=True),
        lambda y, x: losses.binary_focal_loss(y, x, gamma=0.0, from_logits=True),
    ],
    ids=["hard", "soft", "focal-2", "focal-0.5", "focal-0"],
)
def test_values_and_gradients_finite_at_extreme_logits(fn, label):
    y = np.full_like(EXTREMES, label)
    assert np.all(np.isfinite(np.asarray(fn(y, EXTREMES))))
    assert np.all(np.isfinite(gradient(lambda x: fn(y, x), EXTREMES)))


def test_categorical_gradients_finite_at_extreme_logits():
    x = np.array([[200.0, -200.0, 0.0], [-200.0, 200.0, 200.0], [0.0, 0.0, 0.0], [50.0, -50.0, 49.0]])
    for gamma in (0.0, 0.5, 2.0):
        for label in range(3):
            y = np.zeros_like(x)
            y[:, label] = 1.0
            fn = lambda v: losses.categorical_focal_loss(y, v, gamma=gamma, from_logits=True)  # noqa: E731
            assert np.all(np.isfinite(np.asarray(fn(x))))
            assert np.all(np.isfinite(gradient(fn, x)))
    # exact where it matters: label on a class at -200 below the top costs 200 (γ = 0)
    y = np.array([[0.0, 1.0, 0.0]])
    value = np.asarray(losses.categorical_focal_loss(y, np.array([[200.0, 0.0, 0.0]]), gamma=0.0, from_logits=True))
    assert float(value[0]) == pytest.approx(200.0, rel=1e-6)


@SETTINGS
@given(x=st.floats(-15, 15), gamma=st.floats(0.0, 4.0), label=st.sampled_from([0.0, 1.0]))
def test_focal_gradient_matches_hand_derivative(x, gamma, label):
    # d/dx of −(1−p)^γ log p, p = σ(x):  γ(1−p)^γ p log p − (1−p)^(γ+1); label 0 by symmetry x → −x.
    s = 1.0 if label == 1.0 else -1.0
    p = np_sigmoid(s * x)
    expected = s * (gamma * (1 - p) ** gamma * p * np.log(p) - (1 - p) ** (gamma + 1))
    got = gradient(lambda v: losses.binary_focal_loss([[label]], v, gamma=gamma, from_logits=True), np.array([[x]]))
    close(got[0, 0], expected, rtol=2e-3, atol=1e-5)


def test_hard_truncation_gradient_vanishes_exactly_beyond_margin():
    y = np.array([[1.0, 1.0, 0.0, 0.0]])
    x = np.array([[0.0, 3.0, 0.0, -3.0]])  # σ(3) = 0.95 > 0.6: right by the margin
    g = gradient(lambda v: losses.hard_truncation_loss(y, v, margin=0.6, from_logits=True), x)
    assert g[0, 1] == 0.0 and g[0, 3] == 0.0
    close(g[0, [0, 2]], np.array([-0.5, 0.5]) / 4)  # (σ(x) − y) / d


# --------------------------------------------------------------------------- Keras's focal losses
# The focal-loss chapter describes four behaviours of Keras's built-in focal losses (Keras 3.15).
# These tests assert the behaviour itself, so that a Keras release that changes it turns the build
# red. If one of them fails, Keras fixed (or changed) it: update the chapter's "Since the post"
# section and this test.


def test_keras_binary_focal_saturates_on_jax_and_is_exact_on_tensorflow():
    """If this fails, Keras fixed it — update the chapter (focal-loss, "Since the post", finding 1)."""
    x = np.array([[5.0], [30.0], [100.0]], dtype="float32")
    keras_focal = lambda t: keras.losses.binary_focal_crossentropy(np.zeros_like(x), t, gamma=0.0, from_logits=True)  # noqa: E731
    value, grad = value_and_grad(keras_focal, x)
    exact = np.logaddexp(0.0, x[:, 0].astype(np.float64))
    close(value[0], exact[0], rtol=1e-5)  # exact away from saturation on every backend
    backend = keras.backend.backend()
    if backend == "jax":
        # sigmoid, then clip to [eps, 1 - eps]: the loss stops at -log(float32(1e-7)-ish) and the
        # gradient is zero beyond the clip
        assert np.all(np.abs(value[1:] - 15.94) < 0.05), value
        assert np.all(grad[1:, 0] == 0.0), grad
    elif backend == "tensorflow":
        # the TensorFlow backend keeps the logits on the sigmoid's output and uses them: exact
        close(value[1:], exact[1:], rtol=1e-6)
        close(grad[1:, 0], np.ones(2), rtol=1e-6)
    else:
        pytest.skip(f"the chapter measures tensorflow and jax, not {backend}")
    # ours is exact on every backend
    close(losses.binary_focal_loss(np.zeros_like(x), x, gamma=0.0, from_logits=True), exact, rtol=1e-6)


@pytest.mark.parametrize("gamma", [0.1, 0.5, 0.9])
def test_keras_binary_focal_gradient_is_nan_for_gamma_below_one(gamma):
    """If this fails, Keras fixed it — update the chapter (focal-loss, "Since the post", finding 2)."""
    x = np.array([[5.0], [16.0], [17.0], [30.0]], dtype="float32")  # σ(x) rounds to 1 in float32 from 17 on
    ones = np.ones_like(x)
    _, grad = value_and_grad(lambda t: keras.losses.binary_focal_crossentropy(ones, t, gamma=gamma, from_logits=True), x)
    assert np.isfinite(grad[:2, 0]).all() and np.isnan(grad[2:, 0]).all(), grad
    _, ours = value_and_grad(lambda t: losses.binary_focal_loss(ones, t, gamma=gamma, from_logits=True), x)
    assert np.isfinite(ours).all()


@pytest.mark.parametrize("gamma", [1.0, 2.0])
def test_keras_binary_focal_gradient_is_finite_from_gamma_one(gamma):
    x = np.array([[17.0], [30.0], [100.0]], dtype="float32")
    ones = np.ones_like(x)
    _, grad = value_and_grad(lambda t: keras.losses.binary_focal_crossentropy(ones, t, gamma=gamma, from_logits=True), x)
    assert np.isfinite(grad).all()


def test_keras_binary_focal_ignores_alpha_without_class_balancing():
    """If this fails, Keras fixed it — update the chapter (focal-loss, "Since the post", finding 3)."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, (64, 1)).astype("float32")
    x = rng.normal(size=(64, 1)).astype("float32")

    def keras_bfc(alpha, balanced):
        return np.asarray(keras.losses.binary_focal_crossentropy(y, x, alpha=alpha, apply_class_balancing=balanced, from_logits=True))

    np.testing.assert_array_equal(keras_bfc(0.25, False), keras_bfc(0.9, False))
    assert np.max(np.abs(keras_bfc(0.25, True) - keras_bfc(0.9, True))) > 0.1


def test_keras_categorical_focal_always_applies_alpha():
    """If this fails, Keras fixed it — update the chapter (focal-loss, "Since the post", finding 3)."""
    rng = np.random.default_rng(0)
    y = np.eye(4, dtype="float32")[rng.integers(0, 4, 32)]
    x = rng.normal(size=(32, 4)).astype("float32")
    focal = np.asarray(keras.losses.categorical_focal_crossentropy(y, x, gamma=0.0, from_logits=True))
    plain = np.asarray(keras.losses.categorical_crossentropy(y, x, from_logits=True))
    close(focal / plain, np.full(32, 0.25), rtol=1e-5)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("margin", [0.5, 1.0, 0.3, 1.2])
def test_margin_outside_open_interval(margin):
    with pytest.raises(ValueError, match="margin"):
        losses.hard_truncation_loss([[1.0]], [[0.7]], margin=margin)
    with pytest.raises(ValueError, match="margin"):
        losses.HardTruncationLoss(margin=margin)


def test_bad_arguments():
    with pytest.raises(ValueError, match="gamma"):
        losses.binary_focal_loss([[1.0]], [[0.7]], gamma=-1.0)
    with pytest.raises(ValueError, match="gamma"):
        losses.categorical_focal_loss([[1.0, 0.0]], [[0.7, 0.3]], gamma=-0.5)
    with pytest.raises(ValueError, match="alpha"):
        losses.binary_focal_loss([[1.0]], [[0.7]], alpha=1.5)
    with pytest.raises(ValueError, match="alpha"):
        losses.categorical_focal_loss([[1.0, 0.0]], [[0.7, 0.3]], alpha=[1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="k"):
        losses.soft_truncation_loss([[1.0]], [[0.7]], k=0.0)
    with pytest.raises(ValueError, match="margin"):
        losses.soft_truncation_loss([[1.0]], [[0.7]], margin=1.0)
    with pytest.raises(TypeError, match="gamma"):
        losses.binary_focal_loss([[1.0]], [[0.7]], gamma="2")
    with pytest.raises(ValueError, match="same shape"):
        losses.binary_focal_loss([[1.0, 0.0]], [[0.7]])
    with pytest.raises(ValueError, match="same shape"):
        losses.hard_truncation_loss(np.ones((3, 1)), np.ones((3,)) * 0.7)
    with pytest.raises(ValueError, match="same shape"):
        losses.categorical_focal_loss(np.ones((2, 3)), np.ones((2, 4)))


def test_wrong_types_are_type_errors():
    with pytest.raises(TypeError, match="gamma"):
        losses.binary_focal_loss([[1.0]], [[0.7]], gamma=True)
    with pytest.raises(TypeError, match="margin"):
        losses.HardTruncationLoss(margin=True)
    with pytest.raises(TypeError, match="from_logits"):
        losses.BinaryFocalLoss(from_logits="yes")
    with pytest.raises(TypeError, match="from_logits"):
        losses.hard_truncation_loss([[1.0]], [[0.7]], from_logits=1)
    with pytest.raises(TypeError, match="alpha"):
        losses.categorical_focal_loss([[1.0, 0.0]], [[0.7, 0.3]], alpha="0.5")
    with pytest.raises(TypeError, match="alpha"):
        losses.binary_focal_loss([[1.0]], [[0.7]], alpha=[0.5])
    with pytest.raises(TypeError, match="y_pred"):
        losses.binary_focal_loss([[1.0]], "0.7")
    with pytest.raises(TypeError, match="does not take"):
        losses.LossFunction(losses.binary_focal_loss, margin=0.6)
    with pytest.raises(TypeError, match="fn"):
        losses.LossFunction(3)
    with pytest.raises(ValueError, match="fn"):
        losses.LossFunction(keras.losses.binary_crossentropy)
    with pytest.raises(ValueError, match="fn"):
        losses.LossFunction("kbook>no_such_loss")
    with pytest.raises(ValueError, match="wraps"):
        losses.HardTruncationLoss(fn="kbook>binary_focal_loss")
    with pytest.raises(ValueError, match="reduction"):
        losses.BinaryFocalLoss(reduction="average")


# --------------------------------------------------------------------------- Keras integration


LOSS_OBJECTS = [
    lambda: losses.HardTruncationLoss(margin=0.7, from_logits=True),
    lambda: losses.SoftTruncationLoss(k=3.0),
    lambda: losses.BinaryFocalLoss(gamma=1.5, alpha=0.3, from_logits=True),
    lambda: losses.LossFunction(losses.binary_focal_loss, gamma=0.5, from_logits=True, reduction="sum"),
]


@pytest.mark.parametrize("make", LOSS_OBJECTS, ids=["hard", "soft", "focal", "wrapper"])
def test_binary_losses_train_save_and_load(make, tmp_path):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")  # shape (batch,) against outputs (batch, 1)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss=make())
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded.loss) is type(model.loss)
    assert loaded.loss.get_config() == model.loss.get_config()
    np.testing.assert_allclose(
        float(loaded.evaluate(x, y, verbose=0)), float(model.evaluate(x, y, verbose=0)), rtol=1e-5
    )


def test_categorical_loss_trains_saves_and_loads(tmp_path):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, size=60)]
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(optimizer="adam", loss=losses.CategoricalFocalLoss(gamma=2.0, alpha=[0.5, 1.0, 2.0], from_logits=True))
    model.fit(x, y, epochs=1, batch_size=20, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.loss.get_config() == model.loss.get_config()
    np.testing.assert_allclose(loaded.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0), rtol=1e-5)


# Each wrapper with a NumPy reference of its per-sample loss (labels (n,), logits (n, 1)).
WRAPPED = {
    "hard": (lambda r: losses.HardTruncationLoss(margin=0.7, from_logits=True, reduction=r),
             lambda y, x: np.where(((y > 0.7) & (x > np.log(0.7 / 0.3))) | ((y < 0.3) & (x < -np.log(0.7 / 0.3))), 0.0, ref_bce(y, x))),
    "soft": (lambda r: losses.SoftTruncationLoss(k=3.0, margin=0.6, reduction=r), lambda y, x: ref_soft(y[:, None], x[:, None], 3.0, 0.6)),
    "focal": (lambda r: losses.BinaryFocalLoss(gamma=1.5, alpha=0.3, from_logits=True, reduction=r),
              lambda y, x: ref_focal(y[:, None], x[:, None], 1.5, 0.3)),
    "wrapper": (lambda r: losses.LossFunction("kbook>binary_focal_loss", gamma=0.5, from_logits=True, reduction=r),
                lambda y, x: ref_focal(y[:, None], x[:, None], 0.5, None)),
}
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None]


def np_reduce(per_sample, weight, reduction):
    """Keras's documented reductions, written out in NumPy."""
    w = np.ones_like(per_sample) if weight is None else weight
    weighted = per_sample * w
    if reduction in (None, "none"):
        return weighted
    if reduction == "sum":
        return weighted.sum()
    if reduction == "mean_with_sample_weight" and weight is not None:
        return weighted.sum() / w.sum()
    return weighted.sum() / len(per_sample)  # sum_over_batch_size, mean


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weight"])
@pytest.mark.parametrize("reduction", REDUCTIONS, ids=[str(r) for r in REDUCTIONS])
@pytest.mark.parametrize("which", list(WRAPPED))
def test_every_reduction_and_sample_weight_against_numpy(which, reduction, weighted):
    make, reference = WRAPPED[which]
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 12).astype(np.float64)
    x = rng.normal(scale=2.0, size=12)
    x[np.abs(np.abs(x) - np.log(0.7 / 0.3)) < 1e-3] += 0.01  # keep off the hard margin
    weight = rng.uniform(0.0, 2.0, 12) if weighted else None
    loss = make(reduction)
    got = loss(y.astype("float32"), x[:, None].astype("float32"), sample_weight=None if weight is None else weight.astype("float32"))
    close(np.asarray(got), np_reduce(reference(y, x).reshape(-1), weight, reduction), rtol=1e-4, atol=1e-6)


def test_categorical_reduction_with_sample_weight_against_numpy():
    rng = np.random.default_rng(4)
    y = np.eye(3)[rng.integers(0, 3, 10)]
    x = rng.normal(size=(10, 3))
    w = rng.uniform(0.0, 2.0, 10)
    for reduction in REDUCTIONS:
        loss = losses.CategoricalFocalLoss(gamma=2.0, alpha=[0.5, 1.0, 2.0], from_logits=True, reduction=reduction)
        close(np.asarray(loss(y, x, sample_weight=w)), np_reduce(ref_categorical_focal(y, x, 2.0, [0.5, 1.0, 2.0]), w, reduction), rtol=1e-4)


def test_wrapper_serializes_function_name_and_arguments():
    loss = losses.LossFunction(losses.hard_truncation_loss, margin=0.8, reduction="sum", name="ht")
    config = loss.get_config()
    assert config == {"name": "ht", "reduction": "sum", "fn": "kbook>hard_truncation_loss", "margin": 0.8, "from_logits": False}
    clone = keras.losses.deserialize(keras.losses.serialize(loss))
    assert type(clone) is losses.LossFunction and clone.fn is losses.hard_truncation_loss
    assert clone.get_config() == config
    # the named classes are the same wrapper with the function fixed
    named = losses.HardTruncationLoss(margin=0.8, reduction="sum", name="ht")
    assert isinstance(named, losses.LossFunction) and named.get_config() == config


def test_configs_saved_before_the_wrapper_still_load():
    # an older kbook saved the named classes without "fn"
    old = {"name": "binary_focal", "reduction": "sum_over_batch_size", "gamma": 2.0, "alpha": 0.25, "from_logits": True}
    loss = losses.BinaryFocalLoss.from_config(old)
    assert loss.fn is losses.binary_focal_loss and loss.fn_kwargs == {"gamma": 2.0, "alpha": 0.25, "from_logits": True}


def test_keras_mask_is_honoured():
    # a masked timestep contributes nothing: Loss.__call__ applies the mask the model attaches
    x = np.array([[[2.0], [-1.0], [0.0]]], dtype="float32")  # the last step is padding (value 0)
    y = np.array([[[1.0], [0.0], [1.0]]], dtype="float32")
    model = keras.Sequential([keras.Input((3, 1)), keras.layers.Masking(0.0), keras.layers.Dense(1, kernel_initializer="ones")])
    model.compile(loss=losses.BinaryFocalLoss(gamma=0.0, from_logits=True, reduction="sum"))
    expected = ref_bce(np.array([1.0, 0.0]), np.array([2.0, -1.0])).sum()  # without the mask: + log 2
    close(model.evaluate(x, y, verbose=0), expected, rtol=1e-5)


def test_loss_config_round_trip():
    for loss in (
        losses.HardTruncationLoss(margin=0.8),
        losses.SoftTruncationLoss(k=2.0),
        losses.BinaryFocalLoss(gamma=3.0, alpha=0.1),
        losses.CategoricalFocalLoss(gamma=1.0, alpha=0.5, from_logits=True),
    ):
        clone = keras.losses.deserialize(keras.losses.serialize(loss))
        assert type(clone) is type(loss) and clone.get_config() == loss.get_config()
