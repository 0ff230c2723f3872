"""Tests of kbook.activations against independent references.

References used: central finite differences (derivatives), Keras's built-in activations (values),
float64 arithmetic with explicit rounding (the float32-underflow function), a hand-written NumPy
backward pass (gradient norms), and plain matrix products (collapsing linear layers).
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kbook import activations as A

SMOOTH = ["linear", "sigmoid", "tanh", "elu", "softplus", "swish", "gelu"]
KINKED = ["relu", "leaky_relu"]


# --------------------------------------------------------------------------- closed forms


@pytest.mark.parametrize("name", SMOOTH + KINKED)
@given(x=st.floats(-8.0, 8.0, allow_nan=False), beta=st.floats(0.1, 3.0))
def test_derivative_matches_central_finite_difference(name, x, beta):
    if name in KINKED or name == "elu":
        if abs(x) < 1e-3:  # the kink itself (ELU's second derivative jumps there too)
            return
    h = 1e-5
    numeric = (A.activation(name, x + h, beta=beta) - A.activation(name, x - h, beta=beta)) / (2 * h)
    assert float(A.derivative(name, x, beta=beta)) == pytest.approx(float(numeric), abs=1e-6, rel=1e-6)


@given(x=st.floats(-6.0, 6.0), beta=st.floats(0.0, 4.0))
def test_swish_beta_limits_and_symmetry(x, beta):
    # swish(x) - swish(-x) = x for every beta, since sigma(t) + sigma(-t) = 1.
    assert float(A.activation("swish", x, beta=beta) - A.activation("swish", -x, beta=beta)) == pytest.approx(x, abs=1e-12)


def test_swish_tends_to_relu_and_half_identity():
    x = np.linspace(-3, 3, 13)
    assert np.allclose(A.activation("swish", x, beta=200.0), np.maximum(x, 0), atol=1e-2)
    assert np.allclose(A.activation("swish", x, beta=0.0), x / 2)


def test_saturating_derivatives_vanish_in_the_tails():
    for name in ("sigmoid", "tanh"):
        assert float(A.derivative(name, 20.0)) < 1e-8
        assert float(A.derivative(name, -20.0)) < 1e-8
    assert float(A.derivative("relu", 20.0)) == 1.0
    assert float(A.derivative("sigmoid", 0.0)) == 0.25  # the largest slope sigmoid ever has


def test_extreme_inputs_stay_finite():
    x = np.array([-1e4, -50.0, 0.0, 50.0, 1e4])
    for name in A.ACTIVATIONS:
        assert np.all(np.isfinite(A.activation(name, x))), name
        assert np.all(np.isfinite(A.derivative(name, x))), name


@pytest.mark.keras
@pytest.mark.parametrize("name", A.ACTIVATIONS)
def test_values_match_keras_builtins(name):
    import keras

    x = np.linspace(-6, 6, 97).astype("float32")
    if name == "swish":
        expected = keras.activations.silu(x)
    elif name == "gelu":
        expected = keras.activations.gelu(x, approximate=False)
    elif name == "leaky_relu":
        expected = keras.activations.leaky_relu(x, negative_slope=A.LEAKY_SLOPE)
    else:
        expected = keras.activations.get(name)(x)
    expected = keras.ops.convert_to_numpy(expected)
    np.testing.assert_allclose(A.activation(name, x), expected, atol=2e-6, rtol=1e-5)


# --------------------------------------------------------------------------- Swish in Keras


@pytest.mark.keras
@given(beta=st.floats(-2.0, 4.0))
def test_keras_swish_and_layer_match_numpy(beta):
    import keras

    x = np.linspace(-5, 5, 41).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(A.swish(x, beta=beta)),
                               A.activation("swish", x, beta=beta), atol=1e-5)
    layer = A.LearnableSwish(beta_initializer=beta)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x[None])),
                               A.activation("swish", x, beta=beta)[None], atol=1e-5)


def _grad(fn, x):
    """d sum(fn(x)) / dx with the active backend's autodiff, through the spine's helper."""
    from kbook.autodiff import value_and_grad

    return value_and_grad(fn, x)[1]


@pytest.mark.keras
def test_learnable_swish_gradients_match_closed_form():
    x = np.linspace(-4, 4, 33).astype("float32")
    layer = A.LearnableSwish(beta_initializer=1.7)
    layer.build(x.shape)
    got = _grad(lambda t: layer(t), x)
    np.testing.assert_allclose(got, A.derivative("swish", x, beta=1.7), atol=1e-5)


@pytest.mark.keras
@pytest.mark.parametrize("layer_factory", [
    lambda: A.LearnableSwish(beta_initializer=0.5, per_unit=True),
    lambda: A.Float32Underflow(scale=0.5, gradient="kept"),
])
def test_layers_survive_model_save_and_load(tmp_path, layer_factory):
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6), layer_factory(),
                              keras.layers.Dense(3)])
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
    model.fit(x, np.zeros((16, 3), "float32"), epochs=2, verbose=0)  # move beta off its init
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    original, restored = model.layers[1], loaded.layers[1]
    assert type(restored) is type(original)
    assert restored.get_config() == original.get_config()
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))


# --------------------------------------------------------------------------- gradient flow


def _numpy_kernel_gradients(model, x, y):
    """Forward and backward pass of a tanh MLP with a softmax head, written out in NumPy."""
    dense = [layer for layer in model.layers if hasattr(layer, "kernel")]
    params = [(np.asarray(layer.kernel.numpy() if hasattr(layer.kernel, "numpy") else layer.kernel, float),
               np.asarray(layer.bias.numpy() if hasattr(layer.bias, "numpy") else layer.bias, float))
              for layer in dense]
    hs, h = [x.astype(float)], x.astype(float)
    for W, b in params[:-1]:
        h = np.tanh(h @ W + b)
        hs.append(h)
    logits = h @ params[-1][0] + params[-1][1]
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    delta = p.copy()
    delta[np.arange(len(y)), y] -= 1
    delta /= len(y)
    grads = []
    for i in range(len(params) - 1, -1, -1):
        W, _ = params[i]
        grads.append(hs[i].T @ delta)
        if i:
            delta = (delta @ W.T) * (1 - hs[i] ** 2)
    return [np.linalg.norm(g) for g in grads[::-1]]


@pytest.mark.keras
def test_gradient_norms_match_a_numpy_backward_pass():
    import keras

    keras.utils.set_random_seed(1)
    model = A.deep_mlp(4, 7, "tanh", input_dim=5, classes=3, seed=3)
    rng = np.random.default_rng(2)
    x = rng.normal(size=(11, 5)).astype("float32")
    y = rng.integers(0, 3, size=11)
    got = A.gradient_norms(model, x, y)
    assert list(got) == ["dense_1", "dense_2", "dense_3", "dense_4", "head"]
    np.testing.assert_allclose(list(got.values()), _numpy_kernel_gradients(model, x, y), rtol=2e-4)


@pytest.mark.keras
def test_deep_sigmoid_gradients_vanish_and_relu_he_does_not():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 16)).astype("float32")
    y = rng.integers(0, 4, size=64)
    sig = list(A.gradient_norms(A.deep_mlp(20, 32, "sigmoid", input_dim=16, classes=4, seed=0), x, y).values())
    relu = list(A.gradient_norms(A.deep_mlp(20, 32, "relu", input_dim=16, classes=4, seed=0,
                                            initializer="he_normal"), x, y).values())
    assert sig[0] < 1e-6 * sig[-2]  # twenty factors of at most 1/4 each
    assert 1e-2 < relu[0] / relu[-2] < 1e2


@pytest.mark.keras
def test_collapse_linear_equals_a_keras_stack_without_activations():
    import keras

    keras.utils.set_random_seed(4)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8), keras.layers.Dense(6),
                              keras.layers.Dense(2)])
    x = np.random.default_rng(4).normal(size=(9, 5)).astype("float32")
    W, b = A.collapse_linear([(layer.get_weights()[0], layer.get_weights()[1]) for layer in model.layers])
    np.testing.assert_allclose(model.predict(x, verbose=0), x @ W + b, atol=1e-5)
    assert W.shape == (5, 2) and b.shape == (2,)


# --------------------------------------------------------------------------- float32 underflow

EXPONENTS = st.integers(-30, 30)


@given(k=EXPONENTS, mantissa=st.floats(1.0, 2.0, exclude_max=True), exponent=st.integers(0, 40),
       sign=st.sampled_from([-1.0, 1.0]))
def test_underflow_is_exactly_the_identity_at_and_above_scale(k, mantissa, exponent, sign):
    scale = 2.0**k
    x = np.array([sign * mantissa * scale * 2.0**exponent], dtype=np.float32)
    assert A.float32_underflow(x, scale)[0] == x[0]  # bit-for-bit, not approximately


@given(k=EXPONENTS, u=st.floats(-1.0, 1.0, exclude_min=True, exclude_max=True))
def test_underflow_below_scale_rounds_to_the_subnormal_grid_in_numpy(k, u):
    scale = 2.0**k
    x = np.array([u * scale], dtype=np.float32)
    expected = A.underflow_reference(x.astype(np.float64), scale, flush=False)
    assert A.float32_underflow(x, scale)[0] == np.float32(expected[0])
    assert abs(float(A.float32_underflow(x, scale)[0]) - float(x[0])) <= scale * 2.0**-24


def test_underflow_is_measurably_nonlinear_near_the_subnormal_range():
    scale = 2.0**23  # subnormal spacing maps to a step of exactly 1.0
    x = np.array([0.3, 0.7, 1.2, 2.5, 3.5], dtype=np.float32)
    y = A.float32_underflow(x, scale)
    np.testing.assert_array_equal(y, [0.0, 1.0, 1.0, 2.0, 4.0])  # round half to even
    a, b = np.float32([0.4]), np.float32([0.4])
    assert A.float32_underflow(a, scale) + A.float32_underflow(b, scale) != A.float32_underflow(a + b, scale)
    big = np.float32([3.0e8])  # above scale: additive and homogeneous again
    assert A.float32_underflow(big, scale) * 2 == A.float32_underflow(big * 2, scale)


@pytest.mark.keras
def test_underflow_in_the_keras_backend_matches_its_float_mode():
    import keras

    flush = A.flushes_subnormals(keras.ops.convert_to_tensor)
    x = np.array([-3.0, -1.0, -0.7, -0.3, 0.0, 0.3, 0.999, 1.0, 1.5, 1e6], dtype=np.float32)
    got = keras.ops.convert_to_numpy(A.float32_underflow(keras.ops.convert_to_tensor(x), 1.0))
    np.testing.assert_array_equal(got, A.underflow_reference(x, 1.0, flush=flush).astype(np.float32))
    assert np.all(got[np.abs(x) >= 1] == x[np.abs(x) >= 1])


@pytest.mark.keras
@pytest.mark.parametrize("gradient", ["identity", "kept"])
def test_underflow_layer_forward_exact_and_gradient(gradient):
    import keras

    x = np.array([-2.0, -0.4, 0.3, 0.5, 0.9, 1.5], dtype=np.float32)
    layer = A.Float32Underflow(scale=0.5, gradient=gradient)
    layer.build(x.shape)
    forward = keras.ops.convert_to_numpy(layer(x))
    raw = keras.ops.convert_to_numpy(A.float32_underflow(keras.ops.convert_to_tensor(x), 0.5))
    np.testing.assert_array_equal(forward, raw)
    grad = _grad(lambda t: layer(t), x)
    if gradient == "identity":
        np.testing.assert_array_equal(grad, np.ones_like(x))
    else:
        np.testing.assert_array_equal(grad, (forward == x).astype(np.float32))


@pytest.mark.keras
def test_underflow_layer_survives_xla_compilation():
    import keras

    x = np.array([[-2.0, -0.4, 0.3, 0.5, 0.9, 1.5]], dtype=np.float32)
    model = keras.Sequential([keras.Input((6,)), A.Float32Underflow(scale=1.0)])
    model.compile(loss="mse", jit_compile=True)
    got = model.predict(x, verbose=0)
    flushed = A.underflow_reference(x, 1.0, flush=True)
    rounded = A.underflow_reference(x, 1.0, flush=False)
    assert np.array_equal(got, flushed) or np.array_equal(got, rounded.astype(np.float32))
    assert got[0, -1] == x[0, -1] and got[0, 0] == x[0, 0]


# --------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize("call, error, match", [
    (lambda: A.activation("mish", 1.0), ValueError, "name"),
    (lambda: A.activation(3, 1.0), TypeError, "name"),
    (lambda: A.derivative("relu", ["a"]), TypeError, "x"),
    (lambda: A.activation("swish", 1.0, beta=math.nan), ValueError, "beta"),
    (lambda: A.activation("swish", 1.0, beta="1"), TypeError, "beta"),
    (lambda: A.float32_underflow(np.ones(2, np.float32), scale=3.0), ValueError, "power of two"),
    (lambda: A.float32_underflow(np.ones(2, np.float32), scale=-1.0), ValueError, "scale"),
    (lambda: A.float32_underflow(np.ones(2, np.float32), scale=2.0**120), ValueError, "scale"),
    (lambda: A.float32_underflow(np.ones(2), scale=1.0), TypeError, "float32"),
    (lambda: A.float32_underflow([1.0], scale=1.0), TypeError, "float32"),
    (lambda: A.Float32Underflow(scale=0.3), ValueError, "power of two"),
    (lambda: A.Float32Underflow(gradient="straight"), ValueError, "gradient"),
    (lambda: A.Float32Underflow(gradient=1), TypeError, "gradient"),
    (lambda: A.LearnableSwish(per_unit="yes"), TypeError, "per_unit"),
    (lambda: A.LearnableSwish(beta_initializer=math.inf), ValueError, "beta"),
    (lambda: A.collapse_linear([]), ValueError, "weights"),
    (lambda: A.collapse_linear([(np.array([["a"]]), np.ones(1))]), TypeError, "weights"),
    (lambda: A.underflow_reference(["a"], 1.0), TypeError, "x"),
    (lambda: A.collapse_linear([(np.ones((2, 3)), np.ones(3)), (np.ones((2, 2)), np.ones(2))]), ValueError, "expects"),
    (lambda: A.deep_mlp(0, 4, "relu", input_dim=2, classes=2), ValueError, "depth"),
    (lambda: A.deep_mlp(2, 4, "relu", input_dim=2, classes=1), ValueError, "classes"),
    (lambda: A.deep_mlp(True, 4, "relu", input_dim=2, classes=2), TypeError, "depth"),
    (lambda: A.deep_mlp(2, 4.0, "relu", input_dim=2, classes=2), TypeError, "width"),
    (lambda: A.tower_model("not callable", [1], (2,)), TypeError, "build_tower"),
    (lambda: A.tower_model(lambda i, s, k: i, 3, (2,)), TypeError, "towers"),
    (lambda: A.tower_model(lambda i, s, k: i, [], (2,)), ValueError, "towers"),
])
def test_bad_arguments_raise(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.keras
def test_gradient_norms_rejects_bad_inputs():
    model = A.deep_mlp(2, 4, "relu", input_dim=3, classes=2, seed=0)
    with pytest.raises(ValueError, match="y must have"):
        A.gradient_norms(model, np.ones((4, 3), "float32"), np.zeros(3, "int32"))
    with pytest.raises(TypeError, match="model"):
        A.gradient_norms("not a model", np.ones((4, 3)), np.zeros(4))
    with pytest.raises(TypeError, match="x must be"):
        A.gradient_norms(model, [["a", "b", "c"]], np.zeros(1))
    with pytest.raises(TypeError, match="loss"):
        A.gradient_norms(model, np.ones((4, 3)), np.zeros(4), loss="mse")


# --------------------------------------------------------------------------- towers


def _tower_spec_model(inputs, spec, index):
    import keras

    width, seed = spec
    h = keras.layers.Dense(width, activation="tanh", kernel_initializer=keras.initializers.GlorotNormal(seed))(inputs)
    return keras.layers.Dense(3, kernel_initializer=keras.initializers.GlorotNormal(seed + 1))(h)


@pytest.mark.keras
def test_towers_train_exactly_as_each_network_would_alone():
    # Reference: every tower trained as its own model, with its own Adam, on the same batches.
    import keras

    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 5)).astype("float32")
    y = rng.integers(0, 3, size=48).astype("int32")
    specs = [(4, 10), (6, 20), (5, 30)]
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    joint = A.tower_model(_tower_spec_model, specs, (5,))
    joint.compile(optimizer=keras.optimizers.Adam(1e-2), loss=[loss] * len(specs))
    joint.fit(x, [y] * len(specs), epochs=3, batch_size=16, shuffle=False, verbose=0)
    joint_out = joint.predict(x, verbose=0)

    for i, spec in enumerate(specs):
        inputs = keras.Input((5,))
        alone = keras.Model(inputs, _tower_spec_model(inputs, spec, i))
        alone.compile(optimizer=keras.optimizers.Adam(1e-2), loss=loss)
        before = alone.predict(x, verbose=0)
        alone.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
        assert not np.allclose(before, alone.predict(x, verbose=0))  # it did train
        np.testing.assert_allclose(joint_out[i], alone.predict(x, verbose=0), rtol=1e-4, atol=1e-5)


@pytest.mark.keras
def test_towers_refuse_shared_weights():
    import keras

    shared = keras.layers.Dense(2)
    with pytest.raises(ValueError, match="share"):
        A.tower_model(lambda inputs, spec, index: shared(inputs), [0, 1], (3,))


# --------------------------------------------------------------------------- imports


def test_import_loads_no_backend_and_layers_load_on_first_access():
    import subprocess
    import sys

    code = (
        "import sys, pickle, kbook.activations as A\n"
        "heavy = [m for m in ('keras', 'tensorflow', 'jax', 'torch') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "from kbook.activations import LearnableSwish\n"
        "import keras\n"
        "assert keras.saving.get_registered_object('kbook>LearnableSwish') is LearnableSwish\n"
        "assert keras.saving.get_registered_object('kbook>Float32Underflow') is A.Float32Underflow\n"
        "assert pickle.loads(pickle.dumps(A.Float32Underflow)) is A.Float32Underflow\n"
        "layer = pickle.loads(pickle.dumps(LearnableSwish(beta_initializer=0.5)))\n"
        "assert type(layer) is LearnableSwish and layer.beta_initializer == 0.5\n"
        "assert 'LearnableSwish' in dir(A)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    with pytest.raises(AttributeError, match="no attribute"):
        A.NoSuchLayer  # noqa: B018
