"""The Keras layers of :mod:`kbook.activations`: ``LearnableSwish`` and ``Float32Underflow``.

See the chapter: notebooks/activations.ipynb

Imports: Keras (and so its backend, TensorFlow by default) at module level, because the classes
subclass ``keras.layers.Layer``. Do not import this module directly: ``kbook.activations`` loads
it the first time one of the two layer names is looked up (``kbook.activations.LearnableSwish`` or
``from kbook.activations import LearnableSwish``), so that ``import kbook.activations`` stays free
of Keras. Both classes are registered as ``kbook>LearnableSwish`` / ``kbook>Float32Underflow``
when this module is imported, which is what ``keras.models.load_model`` needs.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kbook.activations import GRADIENTS, _check_beta, _check_scale, _underflow_factors

__all__ = ["LearnableSwish", "Float32Underflow"]


@keras.saving.register_keras_serializable(package="kbook")
class LearnableSwish(keras.layers.Layer):
    """Swish with a trainable ``beta``: ``y = x * sigmoid(beta * x)``.

    Shapes: input ``(..., d)`` → output ``(..., d)``. With ``per_unit=True`` there is one ``beta``
    per feature (shape ``(d,)``), otherwise a single scalar.

    Args:
        beta_initializer: initial value of ``beta`` (a float; 1.0 starts as SiLU).
        per_unit: one ``beta`` per last-axis feature instead of one for the layer.

    Example:
        >>> import numpy as np
        >>> layer = LearnableSwish(beta_initializer=1.0, per_unit=True)
        >>> y = layer(np.ones((2, 3), dtype="float32"))
        >>> tuple(y.shape), tuple(layer.beta.shape)
        ((2, 3), (3,))
    """

    def __init__(self, beta_initializer: float = 1.0, per_unit: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.beta_initializer = _check_beta(beta_initializer)
        if not isinstance(per_unit, bool):
            raise TypeError(f"per_unit must be a bool, got {type(per_unit).__name__}")
        self.per_unit = per_unit

    def build(self, input_shape):
        if self.per_unit:
            if input_shape[-1] is None:
                raise ValueError("LearnableSwish(per_unit=True) needs a known last dimension")
            shape = (int(input_shape[-1]),)
        else:
            shape = ()
        self.beta = self.add_weight(
            name="beta",
            shape=shape,
            initializer=keras.initializers.Constant(self.beta_initializer),
            trainable=True,
        )

    def call(self, inputs):
        beta = ops.cast(self.beta, inputs.dtype)
        return ops.multiply(inputs, ops.sigmoid(ops.multiply(beta, inputs)))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"beta_initializer": self.beta_initializer, "per_unit": self.per_unit})
        return config


@keras.saving.register_keras_serializable(package="kbook")
class Float32Underflow(keras.layers.Layer):
    """The float32-underflow "activation" as a layer: forward ``float32_underflow``, a chosen gradient.

    Shapes: ``(..., d)`` → ``(..., d)``. The four power-of-two factors are stored as
    non-trainable weights, so a compiler (XLA) cannot fold them into one constant (folding
    ``2**-126 * 2**126`` into 1 would delete the effect). The forward value is
    ``x + stop_gradient(f(x) - x)``, which equals ``f(x)`` exactly in float32, and whose gradient
    is 1 — the same gradient autodiff gives the raw product of constants, since it differentiates
    the mathematics (the identity), not the rounding.

    With ``gradient="kept"`` the backward pass uses slope 1 where float32 left ``x`` unchanged and
    0 where it rounded or flushed it (the derivative of the function float32 computes, almost
    everywhere).

    Args:
        scale: a power of two; inputs with ``|x| < scale`` are rounded or flushed.
        gradient: ``"identity"`` (what autodiff gives the raw product) or ``"kept"``.

    Example:
        >>> import numpy as np
        >>> layer = Float32Underflow(scale=1.0)
        >>> y = layer(np.array([[0.5, 2.0]], dtype="float32"))
        >>> float(np.asarray(y)[0, 1])
        2.0
    """

    def __init__(self, scale: float = 1.0, gradient: str = "identity", **kwargs):
        super().__init__(**kwargs)
        self.scale = _check_scale(scale)
        if not isinstance(gradient, str):
            raise TypeError(f"gradient must be a string, one of {', '.join(GRADIENTS)}, got {type(gradient).__name__}")
        if gradient not in GRADIENTS:
            raise ValueError(f"gradient must be one of {', '.join(GRADIENTS)}, got {gradient!r}")
        self.gradient = gradient

    def build(self, input_shape):
        self.factors = [
            self.add_weight(name=f"factor_{i}", shape=(), trainable=False, dtype="float32",
                            initializer=keras.initializers.Constant(float(value)))
            for i, value in enumerate(_underflow_factors(self.scale))
        ]

    def call(self, inputs):
        if ops.dtype(inputs) != "float32":
            raise TypeError(f"Float32Underflow needs float32 inputs, got {ops.dtype(inputs)}")
        y = inputs
        for factor in self.factors:
            y = ops.multiply(y, factor)
        if self.gradient == "identity":
            return ops.add(inputs, ops.stop_gradient(ops.subtract(y, inputs)))
        # "kept": slope 1 where float32 left x unchanged, 0 where it rounded or flushed it.
        kept = ops.stop_gradient(ops.cast(ops.equal(y, inputs), inputs.dtype))
        linear_part = ops.multiply(inputs, kept)
        return ops.add(linear_part, ops.stop_gradient(ops.subtract(y, linear_part)))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"scale": self.scale, "gradient": self.gradient})
        return config
