"""Keras 3 layers that honour masks, and layers built from other layers.

See the chapter: notebooks/layers-and-masks.ipynb (Part III, "Layers inside layers, and masks").

Conventions (the same in every function and layer here):

* ``x`` — float ``(batch, T, d)``: one vector per time step;
* ``mask`` — bool ``(batch, T)``, True where the step is real. The real steps need not form a
  prefix: padding on the left, on the right or in the middle is all legal. Integer masks are
  read as ``mask != 0``.

A row with no real step pools to 0 and has a softmax of all zeros: finite values and finite
(zero) gradients, never NaN. Masked positions receive exactly zero gradient.

The module is the home of the book's custom layers (other chapters add theirs here, e.g. a
centre-loss layer). Every layer is registered with Keras as ``kbook>ClassName``, so a model that
uses it loads with ``keras.models.load_model`` once ``kbook.layers`` has been imported.

Imports: Keras (and so its backend, TensorFlow by default) at module level: every name here is a
Keras computation or a Keras layer.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

__all__ = [
    "masked_sum",
    "masked_mean",
    "masked_max",
    "masked_softmax",
    "MaskedGlobalPooling1D",
    "AttentionPooling1D",
    "CenterLoss",
]


# --------------------------------------------------------------------------- checks


def _static_shape(value, name):
    shape = getattr(value, "shape", None)
    if shape is None:
        raise TypeError(f"{name} must be an array or a tensor, got {type(value).__name__}")
    return tuple(shape)


def _as_float(x, name="x"):
    if isinstance(x, (list, tuple)) or isinstance(x, np.ndarray):
        array = np.asarray(x)
        if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
            raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
        x = array.astype(np.float32) if not np.issubdtype(array.dtype, np.floating) else array
    _static_shape(x, name)
    dtype = keras.backend.standardize_dtype(x.dtype)
    if "float" not in dtype:
        x = ops.cast(x, keras.config.floatx())
    return ops.convert_to_tensor(x)


def _as_bool(mask, name="mask"):
    if isinstance(mask, (list, tuple, np.ndarray)):
        array = np.asarray(mask)
        if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
            raise TypeError(f"{name} must be boolean (True = real step), got dtype {array.dtype}")
        mask = array
    _static_shape(mask, name)
    if keras.backend.standardize_dtype(mask.dtype) != "bool":
        mask = ops.not_equal(mask, 0)
    return ops.convert_to_tensor(mask)


def _check_sequence(x, mask):
    """Convert and check ``x`` (batch, T, d) and ``mask`` (batch, T); return both as tensors."""
    x = _as_float(x)
    mask = _as_bool(mask)
    xs, ms = tuple(x.shape), tuple(mask.shape)
    if len(xs) != 3:
        raise ValueError(f"x must have rank 3, (batch, T, d), got shape {xs}")
    if len(ms) != 2:
        raise ValueError(f"mask must have rank 2, (batch, T), got shape {ms}")
    for axis, (a, b) in enumerate(zip(xs[:2], ms)):
        if a is not None and b is not None and a != b:
            raise ValueError(
                f"mask shape {ms} does not match x shape {xs}: mask must be (batch, T) = {xs[:2]}"
            )
    return x, mask


def _lowest(dtype):
    """The most negative finite number of a float dtype (a fill that loses every max)."""
    return float(np.finfo(keras.backend.standardize_dtype(dtype)).min)


# --------------------------------------------------------------------------- pooling functions


def masked_sum(x, mask):
    """Sum of ``x`` over the real time steps.

    Args:
        x: float ``(batch, T, d)``.
        mask: bool ``(batch, T)``, True = real step (any pattern, not only a prefix).

    Returns:
        ``(batch, d)``; 0 for a row without real steps.

    Raises:
        TypeError: ``x`` or ``mask`` is not an array/tensor of numbers.
        ValueError: wrong ranks, or ``mask`` not ``(batch, T)`` of ``x``.

    Example:
        >>> x = np.arange(6, dtype="float32").reshape(1, 3, 2)
        >>> ops.convert_to_numpy(masked_sum(x, np.array([[True, False, True]])))
        array([[4., 6.]], dtype=float32)
    """
    x, mask = _check_sequence(x, mask)
    keep = ops.expand_dims(mask, -1)
    return ops.sum(ops.where(keep, x, ops.zeros_like(x)), axis=1)


def masked_mean(x, mask):
    """Mean of ``x`` over the real time steps (the padding-proof global average pooling).

    Args:
        x: float ``(batch, T, d)``.
        mask: bool ``(batch, T)``, True = real step.

    Returns:
        ``(batch, d)``; 0 for a row without real steps (the count is clipped at 1, so the
        gradient stays finite too).

    Example:
        >>> x = np.array([[[1.0], [3.0], [100.0]]], dtype="float32")
        >>> ops.convert_to_numpy(masked_mean(x, np.array([[True, True, False]])))
        array([[2.]], dtype=float32)
    """
    x, mask = _check_sequence(x, mask)
    total = masked_sum(x, mask)
    count = ops.sum(ops.cast(mask, x.dtype), axis=1, keepdims=True)
    return total / ops.maximum(count, 1.0)


def masked_max(x, mask):
    """Element-wise maximum of ``x`` over the real time steps.

    Padded steps are replaced by the lowest finite float before the max, so they never win; a row
    with no real step gives 0. The gradient flows only to the winning real step.

    Args:
        x: float ``(batch, T, d)``.
        mask: bool ``(batch, T)``, True = real step.

    Returns:
        ``(batch, d)``.

    Example:
        >>> x = np.array([[[-5.0], [-2.0], [9.0]]], dtype="float32")
        >>> ops.convert_to_numpy(masked_max(x, np.array([[True, True, False]])))
        array([[-2.]], dtype=float32)
    """
    x, mask = _check_sequence(x, mask)
    keep = ops.expand_dims(mask, -1)
    filled = ops.where(keep, x, ops.full_like(x, _lowest(x.dtype)))
    best = ops.max(filled, axis=1)
    any_real = ops.any(mask, axis=1, keepdims=True)
    return ops.where(any_real, best, ops.zeros_like(best))


def masked_softmax(logits, mask, axis=-1):
    """Softmax over ``axis`` restricted to the real positions.

    Probabilities are exactly 0 at masked positions and sum to 1 over the real ones; a slice with
    no real position is all zeros (finite, with zero gradient). Computed stably: the largest real
    logit is subtracted before ``exp``, so logits of any finite size work.

    Args:
        logits: float array of any rank >= 1, e.g. ``(batch, T)`` attention scores.
        mask: bool array broadcastable to ``logits`` (e.g. ``(batch, T)``), True = real.
        axis: the axis to normalise over (default: the last).

    Returns:
        Probabilities of ``logits``' shape.

    Raises:
        ValueError: ``mask`` does not broadcast to ``logits``, or ``axis`` is out of range.

    Example:
        >>> p = masked_softmax(np.array([[0.0, 0.0, 50.0]]), np.array([[True, True, False]]))
        >>> ops.convert_to_numpy(p).round(3).tolist()
        [[0.5, 0.5, 0.0]]
    """
    logits = _as_float(logits, "logits")
    mask = _as_bool(mask)
    ls, ms = tuple(logits.shape), tuple(mask.shape)
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis must be an int, got {type(axis).__name__}")
    if not -len(ls) <= axis < len(ls) or len(ls) == 0:
        raise ValueError(f"axis must be in [-{len(ls)}, {len(ls)}) for logits of shape {ls}, got {axis}")
    if len(ms) > len(ls) or any(
        a is not None and b is not None and b != 1 and a != b for a, b in zip(ls[::-1], ms[::-1])
    ):
        raise ValueError(f"mask shape {ms} does not broadcast to logits shape {ls}")
    mask = ops.broadcast_to(mask, ops.shape(logits))
    filled = ops.where(mask, logits, ops.full_like(logits, _lowest(logits.dtype)))
    shift = ops.stop_gradient(ops.max(filled, axis=axis, keepdims=True))
    # exp of (fill - shift) can only be computed where mask is True; elsewhere use 0 before exp.
    z = ops.where(mask, filled - shift, ops.zeros_like(filled))
    e = ops.where(mask, ops.exp(z), ops.zeros_like(z))
    total = ops.sum(e, axis=axis, keepdims=True)
    safe = ops.where(total > 0, total, ops.ones_like(total))
    return e / safe


# --------------------------------------------------------------------------- layers


_MODES = ("mean", "max", "sum")
_POOL = {"mean": masked_mean, "max": masked_max, "sum": masked_sum}


def _layer_mask(inputs, mask):
    """The mask to use inside a layer: the given one, or all steps real."""
    if mask is None:
        return ops.ones(ops.shape(inputs)[:2], dtype="bool")
    return mask


def _check_layer_input_shape(name, input_shape):
    shape = tuple(input_shape)
    if len(shape) != 3:
        raise ValueError(f"{name} expects inputs of rank 3, (batch, T, d), got shape {shape}")
    if shape[-1] is None:
        raise ValueError(f"{name} needs a known feature size d, got shape {shape}")
    return shape


@keras.saving.register_keras_serializable(package="kbook")
class MaskedGlobalPooling1D(keras.layers.Layer):
    """Global pooling over time that ignores padded steps: mean, max or sum.

    Takes the mask that Keras propagates (from ``Embedding(mask_zero=True)``, ``Masking`` or any
    mask-propagating layer in between) or an explicit ``mask=`` argument; without either, every
    step counts. The output has no time axis, so no mask is passed on.

    Args:
        mode: ``"mean"`` (default), ``"max"`` or ``"sum"``.

    Input shape ``(batch, T, d)``, mask ``(batch, T)``; output ``(batch, d)``.

    Example:
        >>> pool = MaskedGlobalPooling1D("mean")
        >>> x = np.array([[[1.0], [3.0], [0.0]]], dtype="float32")
        >>> ops.convert_to_numpy(pool(x, mask=np.array([[True, True, False]])))
        array([[2.]], dtype=float32)
    """

    def __init__(self, mode="mean", **kwargs):
        super().__init__(**kwargs)
        if not isinstance(mode, str):
            raise TypeError(f"mode must be a string, one of {_MODES}, got {type(mode).__name__}")
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
        self.mode = mode
        self.supports_masking = True

    def build(self, input_shape):
        _check_layer_input_shape(type(self).__name__, input_shape)

    def call(self, inputs, mask=None):
        return _POOL[self.mode](inputs, _layer_mask(inputs, mask))

    def compute_mask(self, inputs, mask=None):
        return None  # the time axis is gone

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


@keras.saving.register_keras_serializable(package="kbook")
class AttentionPooling1D(keras.layers.Layer):
    """Attention pooling over time, built from two ``Dense`` sub-layers (a layer in a layer).

    Each step gets a score ``s_t = v · tanh(W x_t + b)``; the weights ``a = masked_softmax(s, mask)``
    are 0 on padded steps, and the output is ``Σ_t a_t x_t``. ``W, b`` live in the sub-layer
    ``self.hidden`` (``Dense(units, "tanh")``) and ``v`` in ``self.score`` (``Dense(1)`` without
    bias). Because they are attributes of this layer, Keras tracks them: their weights appear in
    ``trainable_weights``, are trained by ``fit`` and are written by ``model.save``.

    Args:
        units: size of the hidden scoring layer; None (default) uses the input's feature size.
        return_attention: also return the weights ``a`` ``(batch, T)``.

    Input ``(batch, T, d)`` with a propagated or explicit mask ``(batch, T)``; output ``(batch, d)``
    (and ``(batch, T)`` weights when ``return_attention``).

    Example:
        >>> layer = AttentionPooling1D(units=4, name="attn")
        >>> x = np.ones((2, 5, 3), dtype="float32")
        >>> out = layer(x, mask=np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=bool))
        >>> tuple(out.shape), [w.path for w in layer.trainable_weights]
        ((2, 3), ['attn/hidden/kernel', 'attn/hidden/bias', 'attn/score/kernel'])
    """

    def __init__(self, units=None, return_attention=False, **kwargs):
        super().__init__(**kwargs)
        if units is not None:
            if isinstance(units, bool) or not isinstance(units, (int, np.integer)):
                raise TypeError(f"units must be a positive int or None, got {type(units).__name__}")
            if units < 1:
                raise ValueError(f"units must be at least 1, got {units}")
            units = int(units)
        if not isinstance(return_attention, bool):
            raise TypeError(f"return_attention must be a bool, got {type(return_attention).__name__}")
        self.units = units
        self.return_attention = return_attention
        self.supports_masking = True
        self.hidden = None  # sub-layers are created in build, once the feature size is known
        self.score = None

    def build(self, input_shape):
        shape = _check_layer_input_shape(type(self).__name__, input_shape)
        units = self.units if self.units is not None else int(shape[-1])
        self.hidden = keras.layers.Dense(units, activation="tanh", name="hidden")
        self.score = keras.layers.Dense(1, use_bias=False, name="score")
        self.hidden.build(shape)
        self.score.build(shape[:-1] + (units,))

    def call(self, inputs, mask=None):
        mask = _layer_mask(inputs, mask)
        x, mask = _check_sequence(inputs, mask)
        scores = ops.squeeze(self.score(self.hidden(x)), -1)  # (batch, T)
        weights = masked_softmax(scores, mask, axis=-1)
        values = ops.where(ops.expand_dims(mask, -1), x, ops.zeros_like(x))  # padding may hold anything
        pooled = ops.sum(ops.expand_dims(weights, -1) * values, axis=1)
        return (pooled, weights) if self.return_attention else pooled

    def compute_mask(self, inputs, mask=None):
        return (None, None) if self.return_attention else None

    def compute_output_shape(self, input_shape):
        pooled = (input_shape[0], input_shape[-1])
        return (pooled, tuple(input_shape[:2])) if self.return_attention else pooled

    def get_config(self):
        return {**super().get_config(), "units": self.units, "return_attention": self.return_attention}


# --------------------------------------------------------------------------- centre loss
# See the chapter: notebooks/custom-loss.ipynb (Part II, "Losses beyond (y_true, y_pred)").

@keras.saving.register_keras_serializable(package="kbook")
class CenterLoss(keras.layers.Layer):
    """Centre loss (Wen et al., 2016) as a pass-through layer: ``CenterLoss(k)([features, labels])``.

    Returns ``features`` unchanged. In training it adds, with ``self.add_loss``,
    ``weight * mean_i ½‖f_i − c_{y_i}‖²`` where ``c`` is the ``(num_classes, feature_dim)`` weight
    named ``centers``. The labels are an input of the model, which is why the loss lives in a layer
    and not in ``compile(loss=...)``.

    Two ways to move the centres:

    * ``alpha=None`` (default, the post): ``centers`` is trainable and learned by the optimizer
      from the gradient of the added loss.
    * ``alpha`` in (0, 1] (Wen et al.'s rule): ``centers`` is non-trainable; at each training call
      ``c_j ← c_j − α · Σ_{i: y_i=j} (c_j − f_i) / (1 + n_j)`` with ``n_j`` the count of class j
      in the batch (the loss uses the centres before the update, and gives no gradient to them).
      The update is a variable assignment in ``call``, so it runs under the TensorFlow trainer and
      under the JAX trainer's stateless call (like BatchNormalization's moving statistics).

    Args:
        num_classes: int >= 1.
        weight: float >= 0, the factor λ of the added loss.
        alpha: None or float in (0, 1].
        center_initializer: initializer of ``centers`` (default ``"zeros"``).

    Input: ``[features (batch, d) float, labels (batch,) or (batch, 1) int]``; output
    ``(batch, d)``.

    Example:
        >>> layer = CenterLoss(2, weight=1.0)
        >>> f = np.array([[1.0, 0.0], [0.0, 2.0]], dtype="float32")
        >>> out = layer([f, np.array([0, 1])], training=True)
        >>> float(ops.convert_to_numpy(layer.losses[0]))  # centres start at 0: mean(½·1, ½·4)
        1.25
    """

    def __init__(self, num_classes, weight=1.0, alpha=None, center_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
            raise TypeError(f"num_classes must be an int, got {type(num_classes).__name__}")
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        if isinstance(weight, bool) or not isinstance(weight, (int, float, np.floating, np.integer)):
            raise TypeError(f"weight must be a number, got {type(weight).__name__}")
        if not np.isfinite(weight) or weight < 0:
            raise ValueError(f"weight must be a finite number >= 0, got {weight}")
        if alpha is not None:
            if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating, np.integer)):
                raise TypeError(f"alpha must be None or a number, got {type(alpha).__name__}")
            if not (0 < alpha <= 1):
                raise ValueError(f"alpha must be in (0, 1], got {alpha}")
            alpha = float(alpha)
        self.num_classes = int(num_classes)
        self.weight = float(weight)
        self.alpha = alpha
        self.center_initializer = keras.initializers.get(center_initializer)

    def build(self, input_shape):
        if not (isinstance(input_shape, (list, tuple)) and len(input_shape) == 2
                and isinstance(input_shape[0], (list, tuple))):
            raise ValueError("CenterLoss expects two inputs [features, labels]; "
                             f"got input shape {input_shape}")
        fshape = tuple(input_shape[0])
        if len(fshape) != 2 or fshape[-1] is None:
            raise ValueError(f"features must have shape (batch, d) with d known, got {fshape}")
        self.centers = self.add_weight(
            name="centers", shape=(self.num_classes, fshape[-1]),
            initializer=self.center_initializer, trainable=self.alpha is None,
        )

    def call(self, inputs, training=None):
        if not (isinstance(inputs, (list, tuple)) and len(inputs) == 2):
            raise ValueError("CenterLoss expects two inputs [features, labels]")
        features, labels = inputs
        labels = ops.cast(ops.reshape(labels, (-1,)), "int32")  # (batch,) from (batch,) or (batch, 1)
        if training:
            f = ops.cast(features, self.centers.dtype)
            onehot = ops.one_hot(labels, self.num_classes, dtype=f.dtype)  # (batch, k)
            c = ops.matmul(onehot, self.centers)  # (batch, d): c_{y_i}
            if self.alpha is not None:
                c = ops.stop_gradient(c)
            self.add_loss(self.weight * ops.mean(0.5 * ops.sum(ops.square(f - c), axis=-1)))
            if self.alpha is not None:
                fs = ops.stop_gradient(f)
                counts = ops.sum(onehot, axis=0)[:, None]  # (k, 1)
                sums = ops.matmul(ops.transpose(onehot), fs)  # (k, d)
                delta = (counts * self.centers - sums) / (1.0 + counts)
                self.centers.assign(self.centers - self.alpha * delta)
        return features

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "weight": self.weight,
                "alpha": self.alpha,
                "center_initializer": keras.initializers.serialize(self.center_initializer)}
