"""Activation functions: curves, derivatives, a learnable Swish, gradient flow, float32 underflow.

See the chapter: notebooks/activations.ipynb

Four groups of helpers live here.

* :func:`activation` and :func:`derivative` — NumPy closed forms of the activations the chapter
  compares (value and first derivative), used for the curve figures. They are checked against
  finite differences and against Keras's own activations in the tests.
* :func:`swish` and ``LearnableSwish`` — ``x * sigmoid(beta * x)`` in ``keras.ops``, with
  ``beta`` fixed or learned; :func:`deep_mlp` and :func:`gradient_norms` — the gradient-flow
  experiment (per-layer gradient norms of a deep MLP at initialisation).
* :func:`tower_model` — many independent networks trained as one Keras model (one fit, one trace).
* :func:`float32_underflow` and ``Float32Underflow`` — a function made of four
  multiplications by powers of two, mathematically the identity, which float32 makes nonlinear
  below ``scale`` (IEEE subnormal rounding, or flush-to-zero where the hardware mode sets it).

Imports: NumPy at module level, nothing else; ``import kbook.activations`` does not import Keras,
TensorFlow or JAX. SciPy is imported by :func:`activation` / :func:`derivative` for ``gelu``.
Keras (and with it the active backend) is imported when a Keras helper is first called
(:func:`swish`, :func:`deep_mlp`, :func:`gradient_norms`, :func:`tower_model`, and the backend
probes), and when one of the two layer classes ``LearnableSwish`` / ``Float32Underflow`` is first
looked up: they live in the private module ``kbook._activations_keras``, which this module loads
on that first access (module ``__getattr__``) and which registers them with Keras as
``kbook>LearnableSwish`` and ``kbook>Float32Underflow``. To load a saved model that contains them,
look one of them up first (or pass ``custom_objects``).
"""

from __future__ import annotations

import math

import numpy as np

from kbook import config as _config

__all__ = [
    "ACTIVATIONS",
    "activation",
    "derivative",
    "swish",
    "LearnableSwish",
    "deep_mlp",
    "gradient_norms",
    "tower_model",
    "collapse_linear",
    "float32_underflow",
    "underflow_reference",
    "flushes_subnormals",
    "Float32Underflow",
]

ACTIVATIONS = (
    "linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "swish", "gelu",
)  # fmt: skip
"""Names understood by :func:`activation` / :func:`derivative` (and by ``keras.activations.get``)."""

LEAKY_SLOPE = 0.2
"""Negative slope of ``leaky_relu``: the default of ``keras.activations.leaky_relu``."""

# float32 constants of IEEE 754 binary32.
MIN_NORMAL_EXPONENT = -126  # smallest normal number 2**-126
MANTISSA_BITS = 23  # stored fraction bits: subnormals are multiples of 2**-149


_LAZY_LAYERS = {"LearnableSwish": "kbook._activations_keras", "Float32Underflow": "kbook._activations_keras"}


# Load the Keras layer classes on first access (PEP 562), so that importing this module does not.
__getattr__, __dir__ = _config.lazy_attributes(__name__, globals(), _LAZY_LAYERS)


# --------------------------------------------------------------------------- NumPy closed forms


def _as_float_array(x, name: str = "x") -> np.ndarray:
    array = np.asarray(x)
    if array.dtype.kind not in "fiu" or array.dtype == bool:
        raise TypeError(f"{name} must be a real numeric array, got dtype {array.dtype}")
    return array.astype(np.float64)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # 0.5 * (1 + tanh(x / 2)) is sigmoid without overflow for any finite x.
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _check_name(name: str) -> None:
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, one of {', '.join(ACTIVATIONS)}, got {type(name).__name__}")
    if name not in ACTIVATIONS:
        raise ValueError(f"name must be one of {', '.join(ACTIVATIONS)}, got {name!r}")


def _check_beta(beta) -> float:
    if isinstance(beta, bool) or not isinstance(beta, (int, float, np.floating, np.integer)):
        raise TypeError(f"beta must be a real number, got {type(beta).__name__}")
    if not math.isfinite(float(beta)):
        raise ValueError(f"beta must be finite, got {beta}")
    return float(beta)


def activation(name: str, x, *, beta: float = 1.0) -> np.ndarray:
    """Value of the activation ``name`` at ``x`` (NumPy, float64, any shape).

    ``beta`` is used by ``swish`` only (``x * sigmoid(beta * x)``); ``gelu`` is the exact
    ``x * Phi(x)``; ``leaky_relu`` has slope :data:`LEAKY_SLOPE` for ``x < 0``; ``elu`` has
    ``alpha = 1``.

    Args:
        name: one of :data:`ACTIVATIONS`.
        x: array-like of real numbers, any shape.
        beta: Swish's inverse temperature.

    Returns:
        float64 array of the shape of ``x``.

    Example:
        >>> activation("relu", [-1.0, 2.0])
        array([0., 2.])
        >>> float(activation("swish", 0.0))
        0.0
    """
    _check_name(name)
    beta = _check_beta(beta)
    x = _as_float_array(x)
    if name == "linear":
        return x.copy()
    if name == "sigmoid":
        return _sigmoid(x)
    if name == "tanh":
        return np.tanh(x)
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "leaky_relu":
        return np.where(x >= 0, x, LEAKY_SLOPE * x)
    if name == "elu":
        return np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))
    if name == "softplus":
        return np.logaddexp(0.0, x)
    if name == "swish":
        return x * _sigmoid(beta * x)
    from scipy.special import ndtr  # gelu: the standard normal CDF, stable in both tails

    return x * ndtr(x)


def derivative(name: str, x, *, beta: float = 1.0) -> np.ndarray:
    """First derivative of the activation ``name`` at ``x``, in closed form (NumPy, float64).

    At the kink of ``relu`` / ``leaky_relu`` (``x = 0``) the right derivative is returned.

    Args:
        name: one of :data:`ACTIVATIONS`.
        x: array-like of real numbers, any shape.
        beta: Swish's inverse temperature.

    Returns:
        float64 array of the shape of ``x``.

    Example:
        >>> float(derivative("sigmoid", 0.0))
        0.25
        >>> derivative("tanh", [0.0, 50.0]).round(6)
        array([1., 0.])
    """
    _check_name(name)
    beta = _check_beta(beta)
    x = _as_float_array(x)
    if name == "linear":
        return np.ones_like(x)
    if name == "sigmoid":
        s = _sigmoid(x)
        return s * (1.0 - s)
    if name == "tanh":
        return 1.0 - np.tanh(x) ** 2
    if name == "relu":
        return (x >= 0).astype(np.float64)
    if name == "leaky_relu":
        return np.where(x >= 0, 1.0, LEAKY_SLOPE)
    if name == "elu":
        return np.where(x > 0, 1.0, np.exp(np.minimum(x, 0.0)))
    if name == "softplus":
        return _sigmoid(x)
    if name == "swish":
        s = _sigmoid(beta * x)
        return s + beta * x * s * (1.0 - s)
    from scipy.special import ndtr

    return ndtr(x) + x * np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


# --------------------------------------------------------------------------- Keras: Swish


def swish(x, beta=1.0):
    """Swish ``x * sigmoid(beta * x)`` in ``keras.ops`` (any backend, any shape).

    ``beta = 1`` is SiLU (``keras.activations.silu``); ``beta -> inf`` tends to ReLU and
    ``beta = 0`` gives ``x / 2``. ``beta`` may be a number or a tensor broadcastable to ``x``.

    Example:
        >>> import numpy as np, keras
        >>> y = swish(np.array([-1.0, 0.0, 2.0], dtype="float32"), beta=1.0)
        >>> np.allclose(keras.ops.convert_to_numpy(y), [-0.26894, 0.0, 1.76159], atol=1e-5)
        True
    """
    from keras import ops

    if isinstance(beta, (int, float, np.floating, np.integer)) and not isinstance(beta, bool):
        _check_beta(beta)
    x = ops.convert_to_tensor(x)
    return ops.multiply(x, ops.sigmoid(ops.multiply(beta, x)))


# --------------------------------------------------------------------------- gradient flow


def deep_mlp(depth: int, width: int, activation="relu", *, input_dim: int, classes: int,
             initializer: str = "glorot_normal", seed: int | None = None, activation_layer=None):
    """A plain MLP of ``depth`` hidden Dense layers of ``width`` units and a softmax head.

    Shapes: input ``(batch, input_dim)`` → output ``(batch, classes)`` probabilities. The hidden
    Dense layers are named ``dense_1`` … ``dense_<depth>`` and the head ``head``, so that
    :func:`gradient_norms` reports them in order.

    Args:
        depth: number of hidden layers (≥ 1).
        width: units per hidden layer (≥ 1).
        activation: anything ``keras.activations.get`` accepts (used when ``activation_layer``
            is None).
        input_dim, classes: input features and output classes (≥ 2).
        initializer: kernel initializer name, e.g. ``"glorot_normal"`` or ``"he_normal"``.
        seed: seed of the kernel initializers (hidden layer ``i`` uses ``seed + i``).
        activation_layer: a zero-argument callable returning a fresh Layer (e.g.
            ``LearnableSwish``), placed after each linear hidden Dense layer.

    Example:
        >>> model = deep_mlp(3, 8, "relu", input_dim=4, classes=2, seed=0)
        >>> [layer.name for layer in model.layers][1:]
        ['dense_1', 'dense_2', 'dense_3', 'head']
    """
    import keras

    for name, value, low in (("depth", depth, 1), ("width", width, 1), ("input_dim", input_dim, 1),
                             ("classes", classes, 2)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an int >= {low}, got {type(value).__name__}")
        if value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise TypeError(f"seed must be an int or None, got {type(seed).__name__}")
    if activation_layer is not None and not callable(activation_layer):
        raise TypeError("activation_layer must be a callable returning a Layer, or None")
    keras.activations.get(activation)  # fails early, with Keras's message, on an unknown name

    def kernel_init(i):
        config = keras.initializers.get(initializer).get_config()
        if "seed" in config:
            config["seed"] = None if seed is None else int(seed) + i
        return keras.initializers.get(initializer).__class__.from_config(config)

    inputs = keras.Input(shape=(int(input_dim),), name="x")
    h = inputs
    for i in range(1, int(depth) + 1):
        dense_activation = activation if activation_layer is None else None
        h = keras.layers.Dense(width, activation=dense_activation, kernel_initializer=kernel_init(i),
                               name=f"dense_{i}")(h)
        if activation_layer is not None:
            h = activation_layer()(h)
    outputs = keras.layers.Dense(classes, activation="softmax", kernel_initializer=kernel_init(0),
                                 name="head")(h)
    return keras.Model(inputs, outputs, name=f"mlp_{depth}x{width}")


def gradient_norms(model, x, y, loss=None) -> dict[str, float]:
    """Frobenius norm of the loss gradient for every Dense kernel of ``model``, in layer order.

    Computes ``d loss(y, model(x)) / d W`` once, in inference mode: the model is run as a pure
    function of its trainable values (``model.stateless_call``) and differentiated with the spine's
    :func:`kbook.autodiff.value_and_grad`, so any Keras backend works.

    Args:
        model: a built ``keras.Model``.
        x: inputs, shape ``(batch, ...)`` as the model expects.
        y: integer labels ``(batch,)`` for the default loss, or whatever ``loss`` expects.
        loss: a callable ``loss(y_true, y_pred)`` returning a scalar or per-sample losses
            (averaged); default sparse categorical cross-entropy on probabilities.

    Returns:
        ``{layer_name: norm}`` for each layer that owns a ``kernel``, ordered input → output.

    Example:
        >>> import numpy as np
        >>> model = deep_mlp(2, 4, "tanh", input_dim=3, classes=2, seed=1)
        >>> norms = gradient_norms(model, np.ones((5, 3), "float32"), np.zeros(5, "int32"))
        >>> list(norms), all(v > 0 for v in norms.values())
        (['dense_1', 'dense_2', 'head'], True)
    """
    import keras
    from keras import ops

    from kbook.autodiff import value_and_grad

    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    try:
        x = np.asarray(x, dtype="float32")
    except (TypeError, ValueError) as error:
        raise TypeError(f"x must be an array of numbers, got {type(x).__name__}") from error
    y = np.asarray(y)
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"x must have shape (batch, ...) with batch >= 1, got {x.shape}")
    if y.ndim == 0 or len(y) != len(x):
        raise ValueError(f"y must have {len(x)} rows like x, got shape {y.shape}")
    if loss is None:
        loss = keras.losses.SparseCategoricalCrossentropy()
    elif not callable(loss):
        raise TypeError(f"loss must be a callable loss(y_true, y_pred), got {type(loss).__name__}")
    kernels = [(layer.name, layer.kernel) for layer in model.layers if hasattr(layer, "kernel")]
    if not kernels:
        raise ValueError("model has no layer with a kernel")
    trainable = model.trainable_variables
    index = {id(v): i for i, v in enumerate(trainable)}
    non_trainable = [v.value for v in model.non_trainable_variables]

    def loss_of(*values):
        pred, _ = model.stateless_call(list(values), non_trainable, x, training=False)
        return ops.mean(loss(ops.convert_to_tensor(y), pred))

    _, grads = value_and_grad(loss_of, *[ops.convert_to_numpy(v.value) for v in trainable])
    if len(trainable) == 1:
        grads = (grads,)
    out = {}
    for name, kernel in kernels:
        g = np.asarray(grads[index[id(kernel)]], dtype=np.float64)
        out[name] = float(np.sqrt(np.sum(g * g)))
    return out


def tower_model(build_tower, towers, input_shape, *, name: str = "towers"):
    """Independent networks ("towers") side by side in one Keras model: one input, one output each.

    ``build_tower(inputs, spec, index)`` builds tower number ``index`` (from ``spec``, an item of
    ``towers``) on the shared input tensor and returns its output tensor; it must create fresh
    layers, so that no two towers share a weight (checked). Compile the model with one loss per
    output (``loss=[loss] * len(towers)``) and fit it with the targets repeated
    (``[y] * len(towers)``): Keras adds the losses, so the gradient with respect to a tower's
    weights is the gradient of that tower's own loss, and an optimizer that updates each weight
    from its own gradient history (SGD, Adam) trains every tower exactly as it would train alone on
    the same mini-batches. One ``fit`` (one trace, one data pipeline) then replaces ``len(towers)``.

    Args:
        build_tower: callable ``(inputs, spec, index) -> output tensor``.
        towers: a non-empty sequence of specs (anything ``build_tower`` understands).
        input_shape: shape of one example, e.g. ``(784,)``.
        name: the model's name.

    Returns:
        an uncompiled ``keras.Model`` with ``len(towers)`` outputs, in the order of ``towers``.

    Raises:
        TypeError: ``build_tower`` is not callable, or ``towers`` is not a sequence.
        ValueError: ``towers`` is empty, or two towers share a weight.

    Example:
        >>> import keras, numpy as np
        >>> def build(inputs, width, index):
        ...     return keras.layers.Dense(2)(keras.layers.Dense(width, activation="relu")(inputs))
        >>> model = tower_model(build, [4, 8], (3,))
        >>> [tuple(out.shape) for out in model(np.ones((5, 3), "float32"))]
        [(5, 2), (5, 2)]
    """
    import keras

    if not callable(build_tower):
        raise TypeError(f"build_tower must be callable, got {type(build_tower).__name__}")
    if isinstance(towers, (str, bytes)) or not hasattr(towers, "__len__"):
        raise TypeError(f"towers must be a sequence of tower specs, got {type(towers).__name__}")
    towers = list(towers)
    if not towers:
        raise ValueError("towers must hold at least one tower spec")
    inputs = keras.Input(tuple(input_shape))
    outputs = [build_tower(inputs, spec, i) for i, spec in enumerate(towers)]
    seen = {}
    for i, out in enumerate(outputs):
        for weight in keras.Model(inputs, out).weights:
            if seen.setdefault(id(weight), i) != i:
                raise ValueError(f"towers {seen[id(weight)]} and {i} share the weight {weight.path}: "
                                 "build_tower must create new layers for every tower")
    return keras.Model(inputs, outputs, name=name)


def collapse_linear(weights) -> tuple[np.ndarray, np.ndarray]:
    """Compose affine layers ``h -> h @ W_i + b_i`` into one ``(W, b)`` (NumPy, float64).

    Shapes: ``weights`` is a sequence of ``(W_i, b_i)`` with ``W_i`` of shape ``(d_i, d_{i+1})``
    and ``b_i`` of shape ``(d_{i+1},)``; returns ``W`` ``(d_0, d_L)`` and ``b`` ``(d_L,)``.

    Example:
        >>> import numpy as np
        >>> W, b = collapse_linear([(np.eye(2) * 2, np.ones(2)), (np.eye(2), np.zeros(2))])
        >>> W.tolist(), b.tolist()
        ([[2.0, 0.0], [0.0, 2.0]], [1.0, 1.0])
    """
    weights = list(weights)
    if not weights:
        raise ValueError("weights must hold at least one (W, b) pair")
    W = b = None
    for i, pair in enumerate(weights):
        if len(pair) != 2:
            raise ValueError(f"weights[{i}] must be a (W, b) pair")
        Wi, bi = (_as_float_array(a, f"weights[{i}]") for a in pair)
        if Wi.ndim != 2 or bi.shape != (Wi.shape[1],):
            raise ValueError(f"weights[{i}] must be W (d_in, d_out) and b (d_out,), got {Wi.shape}, {bi.shape}")
        if W is None:
            W, b = Wi, bi
        else:
            if W.shape[1] != Wi.shape[0]:
                raise ValueError(f"weights[{i}] expects {Wi.shape[0]} inputs, previous layer gives {W.shape[1]}")
            W, b = W @ Wi, b @ Wi + bi
    return W, b


# --------------------------------------------------------------------------- float32 underflow


def _check_scale(scale) -> float:
    if isinstance(scale, bool) or not isinstance(scale, (int, float, np.floating, np.integer)):
        raise TypeError(f"scale must be a positive power of two (a number), got {type(scale).__name__}")
    scale = float(scale)
    if not (scale > 0 and math.isfinite(scale)):
        raise ValueError(f"scale must be a positive power of two, got {scale}")
    mantissa, exponent = math.frexp(scale)
    if mantissa != 0.5:
        raise ValueError(f"scale must be a power of two (so that scaling by it is exact), got {scale}")
    if not -100 <= exponent - 1 <= 100:
        raise ValueError(f"scale must lie in [2**-100, 2**100], got 2**{exponent - 1}")
    return scale


def _underflow_factors(scale: float) -> tuple[np.float32, ...]:
    """The four float32 multipliers: down by 1/scale and 2**-126, back up by 2**126 and scale."""
    return (
        np.float32(1.0 / scale),
        np.float32(2.0**MIN_NORMAL_EXPONENT),
        np.float32(2.0**-MIN_NORMAL_EXPONENT),
        np.float32(scale),
    )


def float32_underflow(x, scale: float = 1.0):
    """``((x * (1/scale)) * 2**-126) * 2**126) * scale`` — the identity, made nonlinear by float32.

    Four multiplications by powers of two, nothing else: in exact arithmetic the result is ``x``.
    In float32, ``x / scale * 2**-126`` falls below the smallest normal number ``2**-126``
    exactly when ``|x| < scale``, and then

    * IEEE 754 gradual underflow (NumPy, most CPUs by default) rounds it to a multiple of the
      subnormal spacing ``2**-149``, so the result is ``x`` rounded to a multiple of
      ``scale * 2**-23`` (round half to even);
    * flush-to-zero / denormals-are-zero (what TensorFlow and XLA set on CPU) replaces it by 0.

    For ``|x| >= scale`` every step only shifts the exponent, so the result is ``x`` exactly.
    The operators are Python's ``*`` on the array you pass, so a NumPy array is computed by NumPy
    and a TensorFlow/JAX tensor by that backend (and its floating-point mode).

    Args:
        x: float32 array or tensor, any shape.
        scale: a power of two in ``[2**-100, 2**100]``; where the nonlinearity sits.

    Returns:
        same type and shape as ``x``.

    Example:
        >>> import numpy as np
        >>> float32_underflow(np.array([0.3, 1.7, 2.5, 3.0, 100.0], "float32"), scale=2.0**23)
        array([  0.,   2.,   2.,   3., 100.], dtype=float32)
    """
    scale = _check_scale(scale)
    dtype = getattr(x, "dtype", None)
    if dtype is None or str(getattr(dtype, "name", dtype)) != "float32":
        raise TypeError(f"x must be a float32 array or tensor, got dtype {dtype}")
    down, tiny, huge, up = _underflow_factors(scale)
    return (((x * down) * tiny) * huge) * up


def underflow_reference(x, scale: float = 1.0, *, flush: bool = False) -> np.ndarray:
    """What :func:`float32_underflow` must return, computed in float64 without any underflow.

    ``flush=False``: ``x`` rounded half-to-even to a multiple of ``scale * 2**-23`` where
    ``|x| < scale``, else ``x``. ``flush=True``: 0 where ``|x| < scale``, else ``x``.

    Example:
        >>> underflow_reference([0.25, 0.75, 3.0], scale=2.0, flush=True).tolist()
        [0.0, 0.0, 3.0]
    """
    scale = _check_scale(scale)
    x = _as_float_array(x)
    small = np.abs(x) < scale
    if flush:
        return np.where(small, 0.0, x)
    step = scale * 2.0**-MANTISSA_BITS
    return np.where(small, np.round(x / step) * step, x)  # np.round rounds half to even


def flushes_subnormals(backend_array=None) -> bool:
    """True if multiplying float32 ``2**-126`` by ``0.5`` gives 0 in the given computation.

    ``backend_array`` converts a NumPy array to the array type to probe (e.g.
    ``keras.ops.convert_to_tensor``); ``None`` probes NumPy itself.

    Example:
        >>> flushes_subnormals()  # NumPy keeps IEEE gradual underflow
        False
    """
    probe = np.array([2.0**MIN_NORMAL_EXPONENT], dtype=np.float32)
    if backend_array is not None:
        probe = backend_array(probe)
    result = probe * np.float32(0.5)
    return bool(np.asarray(result if backend_array is None else _to_numpy(result))[0] == 0.0)


def _to_numpy(value) -> np.ndarray:
    from keras import ops

    return ops.convert_to_numpy(value)


GRADIENTS = ("identity", "kept")
"""Gradients :class:`Float32Underflow` can report: that of the identity, or of what float32 kept."""
