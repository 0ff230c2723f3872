"""kbook.autodiff.value_and_grad against closed-form derivatives (runs under TensorFlow and JAX)."""

import keras
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from keras import ops

from kbook.autodiff import value_and_grad

finite = st.floats(-3, 3, allow_nan=False, width=32)


@given(arrays(np.float32, st.integers(1, 6), elements=finite))
def test_elementwise_functions_match_their_closed_form_derivatives(x):
    # d/dx [sin x + x³] = cos x + 3x²; float64 NumPy is the reference
    value, grad = value_and_grad(lambda t: ops.sin(t) + t**3, x)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(value, np.sin(x64) + x64**3, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(grad, np.cos(x64) + 3 * x64**2, rtol=1e-5, atol=1e-5)
    assert value.dtype == np.float32 and grad.shape == x.shape


@given(arrays(np.float32, (2, 3), elements=finite))
def test_gradient_of_logsumexp_is_softmax(x):
    value, grad = value_and_grad(lambda t: ops.logsumexp(t, axis=-1), x)
    x64 = x.astype(np.float64)
    softmax = np.exp(x64 - x64.max(-1, keepdims=True))
    softmax /= softmax.sum(-1, keepdims=True)
    assert value.shape == (2,)
    np.testing.assert_allclose(value, np.log(np.exp(x64).sum(-1)), rtol=1e-5)
    np.testing.assert_allclose(grad, softmax, rtol=1e-4, atol=1e-6)


def test_several_arguments_give_a_tuple_of_gradients():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    b = np.array([0.5, -1.0])
    # f(a, b) = a @ b; d sum(f)/da[i, j] = b[j], d sum(f)/db[j] = sum_i a[i, j]
    value, grads = value_and_grad(lambda u, v: ops.matmul(u, v), a, b)
    assert isinstance(grads, tuple) and len(grads) == 2
    np.testing.assert_allclose(value, a @ b)
    np.testing.assert_allclose(grads[0], np.tile(b, (2, 1)))
    np.testing.assert_allclose(grads[1], a.sum(0))


def test_an_unused_argument_gets_a_zero_gradient():
    _, (ga, gb) = value_and_grad(lambda u, v: 2.0 * u, np.ones(3), np.ones((2, 2)))
    np.testing.assert_array_equal(ga, [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(gb, np.zeros((2, 2)))


def test_scalars_lists_and_integers_become_float32():
    value, grad = value_and_grad(lambda t: t * t, 3)
    assert float(value) == 9.0 and float(grad) == 6.0
    value, grad = value_and_grad(lambda t: ops.sum(t * t), [1, 2])
    assert float(value) == 5.0 and grad.tolist() == [2.0, 4.0] and grad.dtype == np.float32


def test_gradients_through_a_keras_layer_match_its_kernel():
    # d sum(x @ W) / dx = row sums of W broadcast over the batch
    layer = keras.layers.Dense(3, use_bias=False, kernel_initializer="glorot_uniform")
    layer.build((None, 4))
    w = ops.convert_to_numpy(layer.kernel)
    _, grad = value_and_grad(layer, np.ones((2, 4)))
    np.testing.assert_allclose(grad, np.tile(w.sum(1), (2, 1)), rtol=1e-6)


@pytest.mark.parametrize("fn, args, match", [
    (None, (1.0,), "callable"),
    (lambda t: t, (), "at least one"),
    (lambda t: t, ("abc",), "array-like of numbers"),
    (lambda t: t, (None,), "array-like of numbers"),
    (lambda t: t, ([1, [2, 3]],), "array-like of numbers"),
    (lambda t: t, (np.array([1j]),), "real"),
])
def test_bad_arguments_raise_type_errors(fn, args, match):
    with pytest.raises(TypeError, match=match):
        value_and_grad(fn, *args)


def test_a_non_floating_result_is_a_value_error():
    with pytest.raises(ValueError, match="floating"):
        value_and_grad(lambda t: ops.cast(t, "int32"), np.ones(2))


def test_an_unsupported_backend_is_named(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "numpy")
    with pytest.raises(ValueError, match="'numpy'"):
        value_and_grad(lambda t: t, 1.0)
