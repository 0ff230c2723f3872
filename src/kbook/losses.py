"""Losses that stop pushing on samples that are already right: hard truncation, its sigmoid
softening, and focal loss (binary and categorical).

Conventions follow Keras's own loss functions: every function takes ``(y_true, y_pred, ...)``
with ``y_true`` and ``y_pred`` of the same shape ``(..., d)`` and returns the per-sample loss
of shape ``y_true.shape[:-1]``: the mean over the last axis for the binary losses (``d``
independent binary outputs), the sum over the class axis for :func:`categorical_focal_loss`
(like categorical cross-entropy). Everything is written with ``keras.ops``, so it runs under
TensorFlow and JAX; from logits, the losses are computed exactly in log space (log-sigmoid /
log-softmax, no clipping), so values and gradients stay finite at logits of ±200. From
probabilities, ``y_pred`` is clipped to ``[eps, 1 - eps]`` with ``eps = keras.config.epsilon()``,
as Keras does.

For ``model.compile`` use the :class:`keras.losses.Loss` subclasses at the end of the module
(they serialize and survive ``model.save`` / ``keras.models.load_model``).

See the chapters: notebooks/sentiment-loss.ipynb and notebooks/focal-loss.ipynb.
"""

from __future__ import annotations

import math
import numbers

import keras
import numpy as np
from keras import ops

__all__ = [
    "truncation_weight",
    "hard_truncation_loss",
    "soft_truncation_loss",
    "binary_focal_loss",
    "categorical_focal_loss",
    "HardTruncationLoss",
    "SoftTruncationLoss",
    "BinaryFocalLoss",
    "CategoricalFocalLoss",
    "value_and_gradient",
    "probe_keras_focal",
]


# --------------------------------------------------------------------------- argument checks


def _check_number(name, value, *, low=None, high=None, low_open=False, high_open=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {value}")
    return value


def _check_margin(margin):
    return _check_number("margin", margin, low=0.5, high=1.0, low_open=True, high_open=True)


def _check_gamma(gamma):
    return _check_number("gamma", gamma, low=0.0)


def _check_alpha(alpha):
    if alpha is None:
        return None
    return _check_number("alpha", alpha, low=0.0, high=1.0)


def _prepare(y_true, y_pred):
    """Convert to float tensors of y_pred's float dtype and insist on identical shapes."""
    y_pred = ops.convert_to_tensor(y_pred)
    if not str(y_pred.dtype).startswith(("float", "bfloat")):
        y_pred = ops.cast(y_pred, keras.config.floatx())
    y_true = ops.cast(ops.convert_to_tensor(y_true), y_pred.dtype)
    true_shape, pred_shape = tuple(y_true.shape), tuple(y_pred.shape)
    if len(true_shape) == 0:
        raise ValueError("y_true must have at least one axis (the last axis holds the outputs), got a scalar")
    compatible = len(true_shape) == len(pred_shape) and all(
        a is None or b is None or a == b for a, b in zip(true_shape, pred_shape)
    )
    if not compatible:
        raise ValueError(
            f"y_true and y_pred must have the same shape, got y_true {true_shape} and y_pred {pred_shape}"
        )
    return y_true, y_pred


def _log_probabilities(y_pred, from_logits):
    """Return (log p, log(1 - p)) for a sigmoid output, exact from logits, clipped otherwise."""
    if from_logits:
        # log σ(x) = -softplus(-x) and log σ(-x) = -softplus(x): exact, finite for any finite x.
        return -ops.softplus(-y_pred), -ops.softplus(y_pred)
    eps = keras.config.epsilon()
    p = ops.clip(y_pred, eps, 1.0 - eps)
    return ops.log(p), ops.log1p(-p)


# --------------------------------------------------------------------------- hard truncation


def truncation_weight(y_true, y_pred, margin=0.6, from_logits=False):
    """The hard-truncation weight λ(y, ŷ): 0 where a sample is already right by the margin, else 1.

    λ = 1 − θ(y − m)·θ(ŷ − m) − θ(1 − m − y)·θ(1 − m − ŷ), with θ the unit step and θ(0) = 0:
    a label-1 output above ``m`` and a label-0 output below ``1 − m`` get weight 0.

    Args:
        y_true: labels in [0, 1], shape ``(..., d)``.
        y_pred: probabilities (or logits if ``from_logits``), same shape.
        margin: ``m`` in the open interval (0.5, 1).
        from_logits: compare logits with logit(m) instead of probabilities with m.

    Returns:
        A float tensor of 0s and 1s, shape ``(..., d)`` (elementwise, not averaged; it carries
        no gradient).

    Example:
        >>> import numpy as np
        >>> w = truncation_weight([[1.0], [1.0], [0.0], [0.0]], [[0.9], [0.5], [0.1], [0.45]])
        >>> np.asarray(w).ravel().tolist()
        [0.0, 1.0, 0.0, 1.0]

    See the chapter: notebooks/sentiment-loss.ipynb
    """
    margin = _check_margin(margin)
    y_true, y_pred = _prepare(y_true, y_pred)
    if from_logits:
        threshold = math.log(margin / (1.0 - margin))  # σ(x) > m  ⇔  x > logit(m)
        right_positive = ops.greater(y_pred, threshold)
        right_negative = ops.less(y_pred, -threshold)
    else:
        right_positive = ops.greater(y_pred, margin)
        right_negative = ops.less(y_pred, 1.0 - margin)
    positive = ops.cast(ops.greater(y_true, margin), y_pred.dtype)
    negative = ops.cast(ops.less(y_true, 1.0 - margin), y_pred.dtype)
    weight = (
        1.0
        - positive * ops.cast(right_positive, y_pred.dtype)
        - negative * ops.cast(right_negative, y_pred.dtype)
    )
    return ops.stop_gradient(weight)


def hard_truncation_loss(y_true, y_pred, margin=0.6, from_logits=False):
    """Binary cross-entropy that ignores samples already right by a margin (hard truncation).

    Per output: λ(y, ŷ)·CE(y, ŷ) with λ from :func:`truncation_weight`; per sample: the mean over
    the last axis.

    Args:
        y_true: labels in [0, 1], shape ``(..., d)``.
        y_pred: probabilities, or logits if ``from_logits``; same shape.
        margin: ``m`` in (0.5, 1); ``m = 0.5`` would be plain accuracy, ``m → 1`` plain CE.
        from_logits: if True the cross-entropy is computed exactly from the logits.

    Returns:
        Tensor of shape ``y_true.shape[:-1]``.

    Raises:
        ValueError: margin outside (0.5, 1), or shapes that differ.

    Example:
        >>> import numpy as np
        >>> loss = hard_truncation_loss([[1.0], [1.0]], [[0.9], [0.5]], margin=0.6)
        >>> [round(float(v), 4) for v in np.asarray(loss)]  # the first is right by the margin: no loss
        [0.0, 0.6931]

    See the chapter: notebooks/sentiment-loss.ipynb
    """
    margin = _check_margin(margin)
    y_true, y_pred = _prepare(y_true, y_pred)
    log_p, log_q = _log_probabilities(y_pred, from_logits)
    cross_entropy = -(y_true * log_p + (1.0 - y_true) * log_q)
    weight = truncation_weight(y_true, y_pred, margin=margin, from_logits=from_logits)
    return ops.mean(weight * cross_entropy, axis=-1)


# --------------------------------------------------------------------------- soft truncation


def soft_truncation_loss(y_true, logits, k=5.0):
    """Hard truncation with the step θ(·) softened to a sigmoid σ(k·).

    For a label-1 output with logit x the loss is −σ(−kx)·log σ(x), for a label-0 output
    −σ(kx)·log σ(−x); a soft label y mixes the two linearly. ``k → ∞`` gives back the hard step
    at x = 0 (margin 0.5), ``k = 1`` gives focal loss with γ = 1. Mean over the last axis.

    Args:
        y_true: labels in [0, 1], shape ``(..., d)``.
        logits: logits, same shape (this loss is defined on logits only).
        k: the sharpness of the softened step, > 0.

    Returns:
        Tensor of shape ``y_true.shape[:-1]``.

    Example:
        >>> import numpy as np
        >>> loss = soft_truncation_loss([[1.0], [0.0]], [[0.0], [0.0]], k=5.0)
        >>> [round(float(v), 4) for v in np.asarray(loss)]  # at x = 0: σ(0)·log 2 for either label
        [0.3466, 0.3466]

    See the chapter: notebooks/focal-loss.ipynb
    """
    k = _check_number("k", k, low=0.0, low_open=True)
    y_true, logits = _prepare(y_true, logits)
    log_p, log_q = _log_probabilities(logits, from_logits=True)
    positive = -ops.sigmoid(-k * logits) * log_p
    negative = -ops.sigmoid(k * logits) * log_q
    return ops.mean(y_true * positive + (1.0 - y_true) * negative, axis=-1)


# --------------------------------------------------------------------------- focal loss


def binary_focal_loss(y_true, y_pred, gamma=2.0, alpha=None, from_logits=False):
    """Binary focal loss −α_t (1 − p_t)^γ log p_t (Lin et al. 2017), exact from logits.

    For label 1, p_t = p and α_t = α; for label 0, p_t = 1 − p and α_t = 1 − α; ``alpha=None``
    means no class weighting (α_t = 1). A soft label y mixes the two cases linearly. From logits
    the factors are computed in log space, (1 − p)^γ = exp(−γ·softplus(x)), so there is no
    clipping and no power of zero: finite values and gradients for every finite logit and every
    γ ≥ 0. Mean over the last axis.

    Args:
        y_true: labels in [0, 1], shape ``(..., d)``.
        y_pred: probabilities, or logits if ``from_logits``; same shape.
        gamma: focusing parameter γ ≥ 0 (γ = 0: cross-entropy).
        alpha: weight of label 1 in [0, 1], or None.
        from_logits: whether ``y_pred`` holds logits.

    Returns:
        Tensor of shape ``y_true.shape[:-1]``.

    Raises:
        ValueError: γ < 0, α outside [0, 1], shapes that differ.

    Example:
        >>> import numpy as np
        >>> loss = binary_focal_loss([[0.0]], [[30.0]], gamma=0.0, from_logits=True)
        >>> [round(float(v), 4) for v in np.asarray(loss)]  # log(1 + e^30): no clipping at -log(1e-7)
        [30.0]

    See the chapter: notebooks/focal-loss.ipynb
    """
    gamma = _check_gamma(gamma)
    alpha = _check_alpha(alpha)
    y_true, y_pred = _prepare(y_true, y_pred)
    log_p, log_q = _log_probabilities(y_pred, from_logits)
    positive = -ops.exp(gamma * log_q) * log_p  # -(1 - p)^γ log p
    negative = -ops.exp(gamma * log_p) * log_q  # -p^γ log(1 - p)
    if alpha is not None:
        positive = alpha * positive
        negative = (1.0 - alpha) * negative
    return ops.mean(y_true * positive + (1.0 - y_true) * negative, axis=-1)


def categorical_focal_loss(y_true, y_pred, gamma=2.0, alpha=None, from_logits=False):
    """Multi-class focal loss −Σ_c α_c y_c (1 − p_c)^γ log p_c, summed over the class axis.

    From logits, log p = log-softmax(x) and log(1 − p_c) is computed without cancellation: for the
    most probable class as log(S) − log(1 + S) with S the sum of the other classes' exp(x_j − max),
    for the others as log1p(−p_c) (there p_c ≤ 1/2). From probabilities, ``y_pred`` is normalised
    to sum to 1 and clipped to ``[eps, 1 − eps]``.

    Args:
        y_true: one-hot (or soft) labels, shape ``(..., C)``.
        y_pred: probabilities or logits, same shape.
        gamma: focusing parameter γ ≥ 0 (γ = 0, α = None: categorical cross-entropy).
        alpha: None, one weight for every class, or a sequence of C per-class weights ≥ 0.
        from_logits: whether ``y_pred`` holds logits.

    Returns:
        Tensor of shape ``y_true.shape[:-1]``.

    Raises:
        ValueError: γ < 0, negative or wrongly sized α, shapes that differ.

    Example:
        >>> import numpy as np
        >>> loss = categorical_focal_loss([[0.0, 1.0, 0.0]], [[0.0, 0.0, 0.0]], gamma=2.0, from_logits=True)
        >>> bool(np.isclose(np.asarray(loss)[0], (2 / 3) ** 2 * np.log(3)))
        True

    See the chapter: notebooks/focal-loss.ipynb
    """
    gamma = _check_gamma(gamma)
    y_true, y_pred = _prepare(y_true, y_pred)
    classes = y_pred.shape[-1]
    if classes is None:
        raise ValueError("y_pred's last axis (the classes) must have a known size, got None")
    if alpha is not None:
        if isinstance(alpha, numbers.Real) and not isinstance(alpha, bool):
            alpha = [_check_number("alpha", alpha, low=0.0)] * classes
        try:
            alpha = [float(a) for a in alpha]
        except TypeError as error:
            raise TypeError(f"alpha must be None, a number or a sequence of numbers, got {alpha!r}") from error
        if len(alpha) != classes:
            raise ValueError(f"alpha must have one weight per class ({classes}), got {len(alpha)}")
        if any(not math.isfinite(a) or a < 0 for a in alpha):
            raise ValueError(f"alpha weights must be finite and >= 0, got {alpha}")
    if from_logits:
        log_p = ops.log_softmax(y_pred, axis=-1)
        shifted = y_pred - ops.stop_gradient(ops.max(y_pred, axis=-1, keepdims=True))
        top = ops.one_hot(ops.argmax(y_pred, axis=-1), classes, dtype=y_pred.dtype)
        rest = ops.sum(ops.exp(shifted) * (1.0 - top), axis=-1, keepdims=True)
        tiny = 1e-30  # floor: below it the focal factor (≤ tiny^γ) is zero in float32 anyway
        rest = ops.maximum(rest, tiny)
        log_q_top = ops.log(rest) - ops.log1p(rest)
        p_safe = ops.minimum(ops.exp(log_p), 0.5)  # the top class is not used from this branch
        log_q_other = ops.log1p(-p_safe)
        log_q = ops.where(top > 0.5, log_q_top, log_q_other)
    else:
        eps = keras.config.epsilon()
        p = y_pred / ops.sum(y_pred, axis=-1, keepdims=True)
        p = ops.clip(p, eps, 1.0 - eps)
        log_p, log_q = ops.log(p), ops.log1p(-p)
    per_class = -y_true * ops.exp(gamma * log_q) * log_p
    if alpha is not None:
        per_class = per_class * ops.convert_to_tensor(alpha, dtype=y_pred.dtype)
    return ops.sum(per_class, axis=-1)


# --------------------------------------------------------------------------- gradients


def value_and_gradient(fn, x):
    """Evaluate ``fn(x)`` and the gradient of ``sum(fn(x))`` with respect to ``x``, as NumPy.

    Keras 3 has no backend-neutral ``grad``; this dispatches to ``tf.GradientTape``,
    ``jax.value_and_grad`` or ``torch.autograd`` according to ``keras.backend.backend()``. When the
    entries of ``fn(x)`` depend on separate entries of ``x`` (one logit per sample), the result is
    each sample's derivative with respect to its own logit, which is what the chapter plots.

    Args:
        fn: maps a float32 tensor shaped like ``x`` to a tensor (any shape).
        x: array-like of floats.

    Returns:
        ``(value, gradient)``: NumPy arrays of ``fn(x)``'s shape and ``x``'s shape.

    Example:
        >>> import numpy as np
        >>> v, g = value_and_gradient(lambda t: binary_focal_loss(np.ones((2, 1)), t, gamma=0.0, from_logits=True),
        ...                           np.array([[0.0], [-200.0]]))
        >>> [round(float(a), 4) for a in g.ravel()]  # σ(x) − 1
        [-0.5, -1.0]

    See the chapter: notebooks/focal-loss.ipynb
    """
    x = keras.ops.convert_to_numpy(ops.convert_to_tensor(x, dtype="float32"))
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        t = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(t)
            value = fn(t)
            total = tf.reduce_sum(value)
        return value.numpy(), tape.gradient(total, t).numpy()
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        def total(t):
            value = fn(t)
            return jnp.sum(value), value

        (_, value), grad = jax.value_and_grad(total, has_aux=True)(jnp.asarray(x))
        return np.asarray(value), np.asarray(grad)
    if backend == "torch":
        import torch

        t = torch.tensor(x, requires_grad=True)
        value = fn(t)
        value.sum().backward()
        return value.detach().cpu().numpy(), t.grad.cpu().numpy()
    raise ValueError(f"value_and_gradient supports the tensorflow, jax and torch backends, not {backend!r}")


def probe_keras_focal(logits=(5.0, 10.0, 17.0, 20.0, 30.0, 100.0), seed=0):
    """Measure Keras's built-in focal losses against ours on the current backend.

    Returns a dict of plain Python values (JSON-serialisable, so it can come back from a
    subprocess running another backend):

    - ``keras_loss`` / ``ours_loss`` and ``keras_grad`` / ``ours_grad``: binary focal loss with
      γ = 0 (i.e. cross-entropy) at label 0, one sample per logit, and its derivative; the exact
      value is log(1 + e^x);
    - ``keras_grad_half`` / ``ours_grad_half``: the derivative at label 1 with γ = 0.5;
    - ``alpha_ignored``: the largest change of ``keras.losses.binary_focal_crossentropy`` when
      ``alpha`` goes from 0.25 to 0.9 without ``apply_class_balancing``; ``alpha_balanced``: the
      same with it;
    - ``categorical_ratio``: mean of Keras's categorical focal loss at γ = 0 (default α) over
      categorical cross-entropy.

    Example:
        >>> out = probe_keras_focal(logits=(30.0,))  # doctest: +SKIP
        >>> round(out["ours_loss"][0], 3)  # doctest: +SKIP
        30.0

    See the chapter: notebooks/focal-loss.ipynb
    """
    x = np.asarray(logits, dtype="float32").reshape(-1, 1)
    zeros, ones = np.zeros_like(x), np.ones_like(x)
    out = {"backend": keras.backend.backend(), "logits": x[:, 0].tolist()}
    for who, fn in (("keras", keras.losses.binary_focal_crossentropy), ("ours", binary_focal_loss)):
        value, grad = value_and_gradient(lambda t: fn(zeros, t, gamma=0.0, from_logits=True), x)
        out[who + "_loss"] = [float(v) for v in value]
        out[who + "_grad"] = [float(g) for g in grad[:, 0]]
        _, grad = value_and_gradient(lambda t: fn(ones, t, gamma=0.5, from_logits=True), x)
        out[who + "_grad_half"] = [float(g) for g in grad[:, 0]]
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, (200, 1)).astype("float32")
    z = rng.normal(size=(200, 1)).astype("float32")

    def keras_bfc(alpha, balanced):
        loss = keras.losses.binary_focal_crossentropy(
            y, z, alpha=alpha, apply_class_balancing=balanced, from_logits=True
        )
        return keras.ops.convert_to_numpy(loss)

    out["alpha_ignored"] = float(np.max(np.abs(keras_bfc(0.25, False) - keras_bfc(0.9, False))))
    out["alpha_balanced"] = float(np.max(np.abs(keras_bfc(0.25, True) - keras_bfc(0.9, True))))
    yc = np.eye(4, dtype="float32")[rng.integers(0, 4, 200)]
    zc = rng.normal(size=(200, 4)).astype("float32")
    focal = keras.ops.convert_to_numpy(keras.losses.categorical_focal_crossentropy(yc, zc, gamma=0.0, from_logits=True))
    plain = keras.ops.convert_to_numpy(keras.losses.categorical_crossentropy(yc, zc, from_logits=True))
    out["categorical_ratio"] = float(np.mean(focal / plain))
    return out


# --------------------------------------------------------------------------- Keras Loss classes


class _PerSampleLoss(keras.losses.Loss):
    """Shared plumbing: match ranks like Keras's wrappers ((batch,) labels vs (batch, 1) outputs)."""

    def _align(self, y_true, y_pred):
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.convert_to_tensor(y_true)
        if len(y_true.shape) == len(y_pred.shape) - 1 and y_pred.shape[-1] == 1:
            y_true = ops.expand_dims(y_true, -1)
        elif len(y_true.shape) == len(y_pred.shape) + 1 and y_true.shape[-1] == 1:
            y_true = ops.squeeze(y_true, -1)
        return y_true, y_pred


@keras.saving.register_keras_serializable(package="kbook")
class HardTruncationLoss(_PerSampleLoss):
    """Keras ``Loss`` around :func:`hard_truncation_loss`.

    Example:
        >>> import numpy as np
        >>> loss = HardTruncationLoss(margin=0.6)
        >>> round(float(loss(np.array([1.0, 1.0]), np.array([[0.9], [0.5]]))), 4)  # batch mean
        0.3466

    See the chapter: notebooks/sentiment-loss.ipynb
    """

    def __init__(self, margin=0.6, from_logits=False, name="hard_truncation", **kwargs):
        super().__init__(name=name, **kwargs)
        self.margin = _check_margin(margin)
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        y_true, y_pred = self._align(y_true, y_pred)
        return hard_truncation_loss(y_true, y_pred, margin=self.margin, from_logits=self.from_logits)

    def get_config(self):
        return {**super().get_config(), "margin": self.margin, "from_logits": self.from_logits}


@keras.saving.register_keras_serializable(package="kbook")
class SoftTruncationLoss(_PerSampleLoss):
    """Keras ``Loss`` around :func:`soft_truncation_loss` (expects logits).

    Example:
        >>> import numpy as np
        >>> round(float(SoftTruncationLoss(k=5.0)(np.array([1.0]), np.array([[0.0]]))), 4)
        0.3466

    See the chapter: notebooks/focal-loss.ipynb
    """

    def __init__(self, k=5.0, name="soft_truncation", **kwargs):
        super().__init__(name=name, **kwargs)
        self.k = _check_number("k", k, low=0.0, low_open=True)

    def call(self, y_true, y_pred):
        y_true, y_pred = self._align(y_true, y_pred)
        return soft_truncation_loss(y_true, y_pred, k=self.k)

    def get_config(self):
        return {**super().get_config(), "k": self.k}


@keras.saving.register_keras_serializable(package="kbook")
class BinaryFocalLoss(_PerSampleLoss):
    """Keras ``Loss`` around :func:`binary_focal_loss`.

    Example:
        >>> import numpy as np
        >>> loss = BinaryFocalLoss(gamma=0.0, from_logits=True)
        >>> round(float(loss(np.array([0.0]), np.array([[30.0]]))), 4)
        30.0

    See the chapter: notebooks/focal-loss.ipynb
    """

    def __init__(self, gamma=2.0, alpha=None, from_logits=False, name="binary_focal", **kwargs):
        super().__init__(name=name, **kwargs)
        self.gamma = _check_gamma(gamma)
        self.alpha = _check_alpha(alpha)
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        y_true, y_pred = self._align(y_true, y_pred)
        return binary_focal_loss(
            y_true, y_pred, gamma=self.gamma, alpha=self.alpha, from_logits=self.from_logits
        )

    def get_config(self):
        return {
            **super().get_config(),
            "gamma": self.gamma,
            "alpha": self.alpha,
            "from_logits": self.from_logits,
        }


@keras.saving.register_keras_serializable(package="kbook")
class CategoricalFocalLoss(_PerSampleLoss):
    """Keras ``Loss`` around :func:`categorical_focal_loss` (one-hot labels).

    Example:
        >>> import numpy as np
        >>> loss = CategoricalFocalLoss(gamma=0.0, from_logits=True)
        >>> round(float(loss(np.array([[1.0, 0.0]]), np.array([[0.0, 0.0]]))), 4)  # log 2
        0.6931

    See the chapter: notebooks/focal-loss.ipynb
    """

    def __init__(self, gamma=2.0, alpha=None, from_logits=False, name="categorical_focal", **kwargs):
        super().__init__(name=name, **kwargs)
        self.gamma = _check_gamma(gamma)
        if alpha is not None and not isinstance(alpha, numbers.Real):
            alpha = [float(a) for a in alpha]
        self.alpha = alpha
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        return categorical_focal_loss(
            y_true, y_pred, gamma=self.gamma, alpha=self.alpha, from_logits=self.from_logits
        )

    def get_config(self):
        return {
            **super().get_config(),
            "gamma": self.gamma,
            "alpha": self.alpha,
            "from_logits": self.from_logits,
        }
