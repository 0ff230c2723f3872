"""kbook.gan against closed forms, finite differences, NumPy references and Keras round trips.

The penalty tests run under TensorFlow and JAX (the input gradient is backend-specific code);
the ``fit``-based tests need TensorFlow, and check under JAX that the models refuse clearly.
"""

import math

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from keras import ops
from scipy import stats

from kbook import gan
from kbook.autodiff import value_and_grad

TF = keras.backend.backend() == "tensorflow"
needs_tf = pytest.mark.skipif(not TF, reason="WGANGP/GAN.train_step is written for the TensorFlow backend")


def numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


shapes = st.sampled_from([(3, 2), (4, 5), (2, 3, 3), (2, 4, 4, 1), (5, 1)])


# --------------------------------------------------------------------------- closed forms


@settings(max_examples=15, deadline=None)
@given(shapes, st.integers(0, 10_000))
def test_linear_critic_has_penalty_norm_of_w_minus_one_squared(shape, seed):
    # critic(x) = <w, x> has gradient w at every point: penalty (||w|| - 1)^2 whatever alpha is
    rng = np.random.default_rng(seed)
    w = rng.normal(size=shape[1:]).astype("float32")
    real, fake = rng.normal(size=shape).astype("float32"), rng.normal(size=shape).astype("float32")
    axes = tuple(range(1, len(shape)))
    penalty = float(gan.gradient_penalty(lambda x: ops.sum(x * w, axis=axes), real, fake, seed=seed))
    expected = (math.sqrt(float(np.sum(w.astype(float) ** 2)) + 1e-12) - 1.0) ** 2
    assert penalty == pytest.approx(expected, rel=1e-4, abs=1e-5)


@settings(max_examples=15, deadline=None)
@given(shapes, st.integers(0, 10_000), st.sampled_from([0.0, 1e-12, 1e-3]))
def test_quadratic_critic_gradient_is_x_hat(shape, seed, epsilon):
    # critic(x) = ||x||^2 / 2 has gradient x: with alpha given, the penalty is a NumPy formula
    rng = np.random.default_rng(seed)
    real, fake = rng.normal(size=shape), rng.normal(size=shape)
    alpha = rng.uniform(size=shape[0])
    axes = tuple(range(1, len(shape)))
    penalty = float(gan.gradient_penalty(lambda x: 0.5 * ops.sum(x * x, axis=axes), real.astype("float32"),
                                         fake.astype("float32"), alpha=alpha, epsilon=epsilon))
    a = alpha.reshape((-1,) + (1,) * (len(shape) - 1))
    x_hat = a * real + (1 - a) * fake
    norms = np.sqrt(np.sum(x_hat.reshape(shape[0], -1) ** 2, axis=1) + epsilon)
    assert penalty == pytest.approx(float(np.mean((norms - 1) ** 2)), rel=1e-4, abs=1e-5)


def test_interpolate_endpoints_and_values():
    real, fake = np.full((3, 2), 2.0, "float32"), np.zeros((3, 2), "float32")
    x_hat, alpha = gan.interpolate(real, fake, alpha=[0.0, 0.5, 1.0])
    np.testing.assert_allclose(numpy(x_hat), [[0, 0], [1, 1], [2, 2]])
    np.testing.assert_allclose(numpy(alpha), [0, 0.5, 1])


# --------------------------------------------------------------------------- finite differences


def tanh_critic_numpy(x, weights, v, s):
    """critic(x) = sum_j v_j tanh(s (W x)_j) and its input gradient s W^T (v * (1 - tanh^2))."""
    h = np.tanh(s * x @ weights)
    return h @ v, s * (v * (1 - h**2)) @ weights.T


def numpy_penalty(s, x_hat, weights, v, epsilon=1e-12):
    _, grad = tanh_critic_numpy(x_hat, weights, v, s)
    return float(np.mean((np.sqrt(np.sum(grad**2, axis=1) + epsilon) - 1) ** 2))


def test_input_gradient_matches_central_differences():
    rng = np.random.default_rng(0)
    weights, v = rng.normal(size=(4, 6)), rng.normal(size=6)
    x = rng.normal(size=(5, 4))
    critic = lambda t: ops.sum(ops.tanh(ops.matmul(t, weights.astype("float32"))) * v.astype("float32"), axis=1)
    norms = numpy(gan.gradient_norms(critic, x.astype("float32"), epsilon=0.0))
    h = 1e-6
    fd = np.zeros_like(x)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            up, down = x.copy(), x.copy()
            up[i, j] += h
            down[i, j] -= h
            fd[i, j] = (tanh_critic_numpy(up, weights, v, 1.0)[0][i] - tanh_critic_numpy(down, weights, v, 1.0)[0][i]) / (2 * h)
    np.testing.assert_allclose(norms, np.linalg.norm(fd, axis=1), rtol=1e-4)


def test_penalty_gradient_with_respect_to_a_critic_weight_matches_finite_differences():
    # d penalty / d s, where s scales the critic's first layer: a gradient of a gradient,
    # checked against central differences of an independent NumPy penalty (float64)
    rng = np.random.default_rng(1)
    weights, v = rng.normal(size=(3, 5)) * 0.5, rng.normal(size=5)
    real, fake = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    alpha = rng.uniform(size=6)
    x_hat = alpha[:, None] * real + (1 - alpha[:, None]) * fake
    w32, v32 = weights.astype("float32"), v.astype("float32")

    def penalty_of(s):
        critic = lambda t: ops.sum(ops.tanh(s * ops.matmul(t, w32)) * v32, axis=1)
        return gan.gradient_penalty(critic, real.astype("float32"), fake.astype("float32"), alpha=alpha)

    s0, h = 0.8, 1e-5
    value, grad = value_and_grad(penalty_of, s0)
    fd = (numpy_penalty(s0 + h, x_hat, weights, v) - numpy_penalty(s0 - h, x_hat, weights, v)) / (2 * h)
    assert float(value) == pytest.approx(numpy_penalty(s0, x_hat, weights, v), rel=1e-4)
    assert float(grad) == pytest.approx(fd, rel=1e-3)


# --------------------------------------------------------------------------- the epsilon


def test_zero_input_gradient_gives_finite_penalty_and_gradient():
    # a ReLU critic whose unit is off at every x_hat: the input gradient is exactly zero
    real, fake = -np.ones((4, 3), "float32"), -2 * np.ones((4, 3), "float32")

    def penalty_of(s, epsilon):
        return gan.gradient_penalty(lambda x: ops.relu(s * ops.sum(x, axis=1)), real, fake, seed=0, epsilon=epsilon)

    value, grad = value_and_grad(lambda s: penalty_of(s, 1e-12), 1.0)
    assert np.isfinite(value) and np.isfinite(grad)
    assert float(value) == pytest.approx((1e-6 - 1) ** 2, rel=1e-5)
    assert float(grad) == 0.0
    # the control: without epsilon the value is fine but the gradient is NaN (keras-io's flaw)
    value0, grad0 = value_and_grad(lambda s: penalty_of(s, 0.0), 1.0)
    assert float(value0) == 1.0 and np.isnan(grad0)


# --------------------------------------------------------------------------- alpha


def test_per_sample_alpha_is_uniform_and_independent():
    n = 4000
    _, alpha = gan.interpolate(np.ones((n, 1)), np.zeros((n, 1)), seed=7)
    alpha = numpy(alpha)
    assert alpha.shape == (n,) and alpha.min() >= 0 and alpha.max() <= 1
    assert stats.kstest(alpha, "uniform").pvalue > 1e-3
    # consecutive samples uncorrelated (|r| within ~4 standard errors of 0)
    assert abs(np.corrcoef(alpha[:-1], alpha[1:])[0, 1]) < 4 / math.sqrt(n)


def test_per_batch_alpha_is_one_value_and_uniform_across_draws():
    draws = []
    for seed in range(200):
        _, alpha = gan.interpolate(np.ones((5, 2)), np.zeros((5, 2)), seed=seed, per_sample=False)
        alpha = numpy(alpha)
        assert np.all(alpha == alpha[0])
        draws.append(alpha[0])
    assert stats.kstest(draws, "uniform").pvalue > 1e-3


def test_penalty_with_an_int_seed_uses_the_alpha_interpolate_draws():
    rng = np.random.default_rng(3)
    real, fake = rng.normal(size=(8, 3)).astype("float32"), rng.normal(size=(8, 3)).astype("float32")
    critic = lambda x: 0.5 * ops.sum(x * x, axis=1)
    _, alpha = gan.interpolate(real, fake, seed=11)
    drawn = float(gan.gradient_penalty(critic, real, fake, seed=11))
    given_alpha = float(gan.gradient_penalty(critic, real, fake, alpha=numpy(alpha)))
    assert drawn == pytest.approx(given_alpha, rel=1e-6)


# --------------------------------------------------------------------------- bad input


def test_bad_inputs_are_named():
    critic = lambda x: ops.sum(x, axis=1)
    with pytest.raises(TypeError, match="critic"):
        gan.gradient_penalty("critic", np.ones((2, 2)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="same shape"):
        gan.gradient_penalty(critic, np.ones((2, 2)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="feature axis"):
        gan.gradient_penalty(critic, np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="alpha must have shape"):
        gan.gradient_penalty(critic, np.ones((2, 2)), np.ones((2, 2)), alpha=[0.5])
    with pytest.raises(ValueError, match="alpha must lie"):
        gan.gradient_penalty(critic, np.ones((2, 2)), np.ones((2, 2)), alpha=[0.5, 1.5])
    with pytest.raises(ValueError, match="epsilon"):
        gan.gradient_penalty(critic, np.ones((2, 2)), np.ones((2, 2)), epsilon=-1.0)
    with pytest.raises(TypeError, match="real"):
        gan.gradient_penalty(critic, np.array([["a", "b"]]), np.ones((1, 2)))
    with pytest.raises(TypeError, match="per_sample"):
        gan.interpolate(np.ones((2, 2)), np.ones((2, 2)), per_sample="yes")
    with pytest.raises(TypeError, match="discriminator"):
        gan.one_loss(None, np.ones((2, 2)), np.ones((2, 2)))


# --------------------------------------------------------------------------- one loss: the gradients


def test_one_loss_gradients_are_each_players_own_gradients():
    # D(x) = x a, G(z) = z B: the one-loss gradient w.r.t. a must be dL_D/da and w.r.t. B dL_G/dB
    rng = np.random.default_rng(4)
    real, z = rng.normal(size=(6, 3)).astype("float32"), rng.normal(size=(6, 2)).astype("float32")
    a0, b0 = rng.normal(size=(3, 1)), rng.normal(size=(2, 3))

    def total(a, b):
        return gan.one_loss(lambda x: ops.matmul(x, a), real, ops.matmul(z, b))[0]

    def d_loss(a, b):
        return gan.discriminator_loss(ops.matmul(real, a), ops.matmul(ops.stop_gradient(ops.matmul(z, b)), a))

    def g_loss(a, b):
        return gan.generator_loss(ops.matmul(ops.matmul(z, b), a))

    value, (ga, gb) = value_and_grad(total, a0, b0)
    d_value, (d_ga, _) = value_and_grad(d_loss, a0, b0)
    _, (_, g_gb) = value_and_grad(g_loss, a0, b0)
    assert float(value) == pytest.approx(float(d_value), rel=1e-6)
    np.testing.assert_allclose(ga, d_ga, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gb, g_gb, rtol=1e-5, atol=1e-6)
    # and the NumPy closed form of dL_D/da for this linear discriminator
    sig = lambda t: 1 / (1 + np.exp(-t))
    fake = z.astype(float) @ b0
    expected = -(real * (1 - sig(real @ a0))).mean(0) + (fake * sig(fake @ a0)).mean(0)
    np.testing.assert_allclose(ga[:, 0], expected, rtol=1e-4, atol=1e-5)


def test_losses_are_finite_at_extreme_logits():
    big = np.array([-1e4, 1e4], "float32")
    assert np.isfinite(float(gan.discriminator_loss(big, big)))
    assert float(gan.generator_loss(np.array([-1e4], "float32"))) == pytest.approx(1e4, rel=1e-6)


# --------------------------------------------------------------------------- the Keras models


def small_parts(seed, latent=4, features=6):
    keras.utils.set_random_seed(seed)
    generator = keras.Sequential([keras.Input((latent,)), keras.layers.Dense(8, activation="tanh"),
                                  keras.layers.Dense(features)])
    critic = keras.Sequential([keras.Input((features,)), keras.layers.Dense(8, activation="tanh"),
                               keras.layers.Dense(1)])
    return generator, critic


def gan_model(mode, lr, seed=0):
    generator, discriminator = small_parts(seed)
    model = gan.GAN(generator, discriminator, 4, mode=mode, seed=1)
    if mode == "one_loss":
        model.compile(optimizer=keras.optimizers.SGD(lr))
    else:
        model.compile(d_optimizer=keras.optimizers.SGD(lr), g_optimizer=keras.optimizers.SGD(lr))
    return model


def weights_of(model):
    return [np.array(w) for w in model.critic.get_weights()], [np.array(w) for w in model.generator.get_weights()]


def one_sgd_step(mode, lr, real, z):
    model = gan_model(mode, lr)
    before = weights_of(model)
    model.fit(real, z, batch_size=len(real), epochs=1, verbose=0, shuffle=False)
    after = weights_of(model)
    return before, after


@needs_tf
def test_one_loss_step_equals_two_gradients_at_the_same_point():
    rng = np.random.default_rng(5)
    real, z = rng.normal(size=(16, 6)).astype("float32"), rng.normal(size=(16, 4)).astype("float32")
    lr = 0.1
    before, one = one_sgd_step("one_loss", lr, real, z)
    _, two = one_sgd_step("simultaneous", lr, real, z)
    for part in (0, 1):
        for w0, w1, w2 in zip(before[part], one[part], two[part]):
            assert np.abs(w1 - w0).max() > 1e-4  # the step did move the weights
            np.testing.assert_allclose(w1, w2, rtol=0, atol=1e-6)
    # and against a hand-written reference: two tapes at the initial point, w -= lr * grad
    import tensorflow as tf

    generator, discriminator = small_parts(0)
    with tf.GradientTape() as tape:
        fake = tf.stop_gradient(generator(z))
        d_loss = tf.reduce_mean(tf.nn.softplus(-discriminator(real))) + tf.reduce_mean(tf.nn.softplus(discriminator(fake)))
    d_grads = tape.gradient(d_loss, discriminator.trainable_weights)
    with tf.GradientTape() as tape:
        g_loss = tf.reduce_mean(tf.nn.softplus(-discriminator(generator(z))))
    g_grads = tape.gradient(g_loss, generator.trainable_weights)
    for w, g, new in zip(discriminator.get_weights(), d_grads, one[0]):
        np.testing.assert_allclose(new, w - lr * g.numpy(), atol=1e-6)
    for w, g, new in zip(generator.get_weights(), g_grads, one[1]):
        np.testing.assert_allclose(new, w - lr * g.numpy(), atol=1e-6)


@needs_tf
def test_alternating_differs_from_one_loss_in_the_generator_by_order_lr_squared():
    rng = np.random.default_rng(6)
    real, z = rng.normal(size=(16, 6)).astype("float32"), rng.normal(size=(16, 4)).astype("float32")
    gaps = []
    for lr in (0.1, 0.01):
        _, one = one_sgd_step("one_loss", lr, real, z)
        _, alt = one_sgd_step("alternating", lr, real, z)
        for w1, w2 in zip(one[0], alt[0]):  # the discriminator's step is the same
            np.testing.assert_allclose(w1, w2, atol=1e-6)
        gaps.append(max(np.abs(w1 - w2).max() for w1, w2 in zip(one[1], alt[1])))
    assert gaps[1] > 0
    assert 30 < gaps[0] / gaps[1] < 300  # ~100 for a term of order lr^2


@needs_tf
def test_wgangp_trains_and_reports_its_metrics():
    generator, critic = small_parts(2)
    model = gan.WGANGP(generator, critic, 4, critic_steps=3, seed=0)
    model.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3))
    real = np.random.default_rng(0).normal(size=(60, 6)).astype("float32")
    before = weights_of(model)
    history = model.fit(real, batch_size=30, epochs=2, verbose=0)
    after = weights_of(model)
    assert set(history.history) == {"critic_loss", "generator_loss", "wasserstein", "penalty"}
    assert all(np.isfinite(v).all() for v in history.history.values())
    # 2 epochs x 2 batches x 3 critic steps, and 4 generator steps
    assert int(model.d_optimizer.iterations) == 12 and int(model.g_optimizer.iterations) == 4
    for part in (0, 1):
        assert any(np.abs(a - b).max() > 0 for a, b in zip(before[part], after[part]))


def test_wgangp_fit_refuses_a_batch_smaller_than_critic_steps():
    generator, critic = small_parts(2)
    model = gan.WGANGP(generator, critic, 4, critic_steps=5, seed=0)
    model.compile()
    real = np.ones((12, 6), "float32")
    before = weights_of(model)
    with pytest.raises(ValueError, match="batch_size must be at least critic_steps = 5"):
        model.fit(real, batch_size=4, epochs=1, verbose=0)
    after = weights_of(model)  # refused before any step
    for part in (0, 1):
        assert all(np.array_equal(a, b) for a, b in zip(before[part], after[part]))


@needs_tf
def test_wgangp_save_and_load(tmp_path):
    generator, critic = small_parts(3)
    model = gan.WGANGP(generator, critic, 4, critic_steps=2, gp_weight=5.0, per_sample_alpha=False, seed=9)
    model.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5), g_optimizer="rmsprop")
    model.fit(np.random.default_rng(0).normal(size=(20, 6)).astype("float32"), batch_size=10, epochs=1, verbose=0)
    path = tmp_path / "wgan.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, gan.WGANGP)
    assert (loaded.critic_steps, loaded.gp_weight, loaded.per_sample_alpha, loaded.latent_dim) == (2, 5.0, False, 4)
    np.testing.assert_array_equal(loaded.sample(5, seed=1), model.sample(5, seed=1))
    x = np.ones((2, 6), "float32")
    np.testing.assert_array_equal(numpy(loaded.critic(x)), numpy(model.critic(x)))
    assert isinstance(loaded.d_optimizer, keras.optimizers.Adam)
    assert float(loaded.d_optimizer.beta_1) == 0.5 and int(loaded.d_optimizer.iterations) == 4
    # the parts alone
    parts = model.save_parts(tmp_path / "parts")
    rebuilt = gan.WGANGP.load_parts(tmp_path / "parts", latent_dim=4)
    assert all(p.endswith(".keras") for p in parts)
    np.testing.assert_array_equal(rebuilt.sample(3), model.sample(3))


def test_gan_save_and_load_keeps_the_mode(tmp_path):
    for mode in ("one_loss", "alternating"):
        model = gan_model(mode, 0.05)
        model.save(tmp_path / f"{mode}.keras")
        loaded = keras.models.load_model(tmp_path / f"{mode}.keras")
        assert loaded.mode == mode
        np.testing.assert_array_equal(loaded.sample(3), model.sample(3))


def test_model_arguments_are_checked():
    generator, critic = small_parts(0)
    with pytest.raises(TypeError, match="generator"):
        gan.WGANGP(lambda z: z, critic, 4)
    with pytest.raises(ValueError, match="critic_steps"):
        gan.WGANGP(generator, critic, 4, critic_steps=0)
    with pytest.raises(TypeError, match="latent_dim"):
        gan.WGANGP(generator, critic, 4.5)
    with pytest.raises(ValueError, match="mode"):
        gan.GAN(generator, critic, 4, mode="both")
    with pytest.raises(ValueError, match="one optimizer"):
        gan.GAN(generator, critic, 4, mode="one_loss").compile(d_optimizer="sgd", g_optimizer="sgd")


@pytest.mark.skipif(TF, reason="checks the refusal under a non-TensorFlow backend")
def test_fit_refuses_clearly_without_tensorflow():
    generator, critic = small_parts(0)
    model = gan.WGANGP(generator, critic, 4, critic_steps=2)
    model.compile()
    with pytest.raises(ValueError, match="TensorFlow backend"):
        model.fit(np.ones((4, 6), "float32"), batch_size=4, epochs=1, verbose=0)
