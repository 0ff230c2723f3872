"""One value-and-gradient helper for every Keras backend (part of the spine).

Keras 3 has no backend-neutral ``grad``. :func:`value_and_grad` reads ``keras.backend.backend()``
and uses ``tf.GradientTape``, ``jax.value_and_grad`` or ``torch.autograd``, so topic modules and
chapters can differentiate a function written with ``keras.ops`` without caring which backend
runs it.

Imports: NumPy at module level; Keras, and then the active backend (TensorFlow, JAX or PyTorch),
only when :func:`value_and_grad` is called. ``import kbook.autodiff`` imports no backend.
"""

from __future__ import annotations

import numpy as np

BACKENDS = ("tensorflow", "jax", "torch")
"""The Keras backends :func:`value_and_grad` can differentiate under."""


def _as_float32(name: str, value) -> np.ndarray:
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be an array-like of numbers, got {type(value).__name__}")
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor that may track grads
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value)
    except Exception as error:  # ragged lists and the like
        raise TypeError(f"{name} must be an array-like of numbers, got {type(value).__name__}") from error
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.bool_)
    ):
        raise TypeError(f"{name} must be an array-like of numbers, got dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real, got dtype {array.dtype}")
    return array.astype(np.float32)


def value_and_grad(fn, *args):
    """Return ``fn(*args)`` and the gradient of ``sum(fn(*args))`` with respect to each argument.

    Every argument is converted to a float32 tensor of the active backend before ``fn`` sees it, so
    ``fn`` should be written with ``keras.ops`` (or the backend's own ops). When ``fn`` is
    element-wise, the gradient of the sum is each element's own derivative.

    Args:
        fn: a callable taking ``len(args)`` tensors and returning a tensor of any shape.
        *args: one or more array-likes of real numbers (converted to float32).

    Returns:
        ``(value, grads)`` as NumPy: ``value`` has ``fn``'s output shape; ``grads`` is one array
        shaped like the argument when there is one argument, else a tuple with one array per
        argument (zeros for an argument ``fn`` does not use).

    Raises:
        TypeError: ``fn`` is not callable, no argument is given, or an argument is not numeric.
        ValueError: the Keras backend is not one of :data:`BACKENDS`, or ``fn`` returns a
            non-floating tensor (whose gradient is undefined).

    Example:
        >>> import numpy as np
        >>> from keras import ops
        >>> value, grad = value_and_grad(lambda x: x ** 3, np.array([1.0, 2.0]))
        >>> value.tolist(), grad.tolist()  # x³ and 3x²
        ([1.0, 8.0], [3.0, 12.0])
        >>> _, (ga, gb) = value_and_grad(lambda a, b: a * b, 2.0, 5.0)
        >>> float(ga), float(gb)
        (5.0, 2.0)
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if not args:
        raise TypeError("value_and_grad needs at least one argument to differentiate with respect to")
    arrays = [_as_float32(f"argument {i}" if len(args) > 1 else "x", a) for i, a in enumerate(args)]

    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        value, grads = _tensorflow(fn, arrays)
    elif backend == "jax":
        value, grads = _jax(fn, arrays)
    elif backend == "torch":
        value, grads = _torch(fn, arrays)
    else:
        raise ValueError(
            f"value_and_grad supports the Keras backends {', '.join(BACKENDS)}, not {backend!r}"
        )
    return value, (grads[0] if len(grads) == 1 else tuple(grads))


def _check_floating(value: np.ndarray) -> np.ndarray:
    if not np.issubdtype(value.dtype, np.floating):
        raise ValueError(f"fn must return a floating tensor to be differentiated, got dtype {value.dtype}")
    return value


def _tensorflow(fn, arrays):
    import tensorflow as tf

    tensors = [tf.constant(a) for a in arrays]
    with tf.GradientTape() as tape:
        for t in tensors:
            tape.watch(t)
        value = tf.convert_to_tensor(fn(*tensors))
        _check_floating(np.asarray(value.numpy()))
        total = tf.reduce_sum(value)
    grads = tape.gradient(total, tensors, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return value.numpy(), [np.asarray(g) for g in grads]


def _jax(fn, arrays):
    import jax
    import jax.numpy as jnp

    def total(*tensors):
        value = jnp.asarray(fn(*tensors))
        if not jnp.issubdtype(value.dtype, jnp.floating):
            raise ValueError(f"fn must return a floating tensor to be differentiated, got dtype {value.dtype}")
        return jnp.sum(value), value

    argnums = tuple(range(len(arrays)))
    (_, value), grads = jax.value_and_grad(total, argnums=argnums, has_aux=True)(*map(jnp.asarray, arrays))
    return np.asarray(value), [np.asarray(g) for g in grads]


def _torch(fn, arrays):  # pragma: no cover - torch is not installed in the book's environment
    import torch

    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    value = fn(*tensors)
    if not torch.is_tensor(value):
        value = torch.as_tensor(value)
    _check_floating(value.detach().cpu().numpy())
    grads = torch.autograd.grad(value.sum(), tensors, allow_unused=True)
    return value.detach().cpu().numpy(), [
        np.zeros_like(a) if g is None else g.detach().cpu().numpy() for a, g in zip(arrays, grads)
    ]
