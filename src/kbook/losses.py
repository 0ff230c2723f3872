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

For ``model.compile`` there is one wrapper, :class:`LossFunction`, in the style of Keras's own
``LossFunctionWrapper``: it holds one of the functions above (each registered with Keras as
``kbook>name``) and its keyword arguments, leaves reduction, sample weights and masks to
``keras.losses.Loss.__call__``, and serializes as the function's registered name plus the
keyword arguments. :class:`HardTruncationLoss`, :class:`SoftTruncationLoss`,
:class:`BinaryFocalLoss` and :class:`CategoricalFocalLoss` are the same wrapper with the function
fixed (thin subclasses, so their names and arguments keep working).

Imports: Keras at module level (this module defines ``keras.losses.Loss`` subclasses, so
``import kbook.losses`` imports Keras and with it the active backend, TensorFlow by default). The
gradient helper lives in the spine, :func:`kbook.autodiff.value_and_grad`.

See the chapters: notebooks/sentiment-loss.ipynb and notebooks/focal-loss.ipynb.
"""

from __future__ import annotations

import math
import numbers

import keras
from keras import ops

__all__ = [
    "truncation_weight",
    "hard_truncation_loss",
    "soft_truncation_loss",
    "binary_focal_loss",
    "categorical_focal_loss",
    "LossFunction",
    "HardTruncationLoss",
    "SoftTruncationLoss",
    "BinaryFocalLoss",
    "CategoricalFocalLoss",
]

_register = keras.saving.register_keras_serializable(package="kbook")


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


def _check_bool(name, value):
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__}")
    return value


def _check_margin(margin):
    return _check_number("margin", margin, low=0.5, high=1.0, low_open=True, high_open=True)


def _check_gamma(gamma):
    return _check_number("gamma", gamma, low=0.0)


def _check_alpha(alpha):
    if alpha is None:
        return None
    return _check_number("alpha", alpha, low=0.0, high=1.0)


def _check_class_alpha(alpha):
    """None, one weight >= 0 for every class, or a sequence of per-class weights >= 0."""
    if alpha is None:
        return None
    if isinstance(alpha, numbers.Real) and not isinstance(alpha, bool):
        return _check_number("alpha", alpha, low=0.0)
    if isinstance(alpha, (str, bytes)) or not hasattr(alpha, "__iter__"):
        raise TypeError(f"alpha must be None, a number or a sequence of numbers, got {type(alpha).__name__}")
    weights = list(alpha)
    if not weights:
        raise ValueError("alpha must hold one weight per class, got an empty sequence")
    return [_check_number(f"alpha[{i}]", a, low=0.0) for i, a in enumerate(weights)]


# The keyword arguments of each loss function, validated and normalised to JSON-friendly values.
# The functions and the Keras wrapper both go through these, so they accept exactly the same input.


def _hard_args(margin=0.6, from_logits=False):
    return {"margin": _check_margin(margin), "from_logits": _check_bool("from_logits", from_logits)}


def _soft_args(k=5.0, margin=0.5):
    return {
        "k": _check_number("k", k, low=0.0, low_open=True),
        "margin": _check_number("margin", margin, low=0.5, high=1.0, high_open=True),
    }


def _focal_args(gamma=2.0, alpha=None, from_logits=False):
    return {
        "gamma": _check_gamma(gamma),
        "alpha": _check_alpha(alpha),
        "from_logits": _check_bool("from_logits", from_logits),
    }


def _categorical_args(gamma=2.0, alpha=None, from_logits=False):
    return {
        "gamma": _check_gamma(gamma),
        "alpha": _check_class_alpha(alpha),
        "from_logits": _check_bool("from_logits", from_logits),
    }


def _prepare(y_true, y_pred):
    """Convert to float tensors of y_pred's float dtype and insist on identical shapes."""
    for name, value in (("y_true", y_true), ("y_pred", y_pred)):
        if isinstance(value, (str, bytes)) or value is None:
            raise TypeError(f"{name} must be an array-like of numbers, got {type(value).__name__}")
    y_pred = ops.convert_to_tensor(y_pred)
    dtype = keras.backend.standardize_dtype(y_pred.dtype)
    if not dtype.startswith(("float", "bfloat", "int", "uint", "bool")):
        raise TypeError(f"y_pred must hold numbers, got dtype {dtype}")
    if not dtype.startswith(("float", "bfloat")):
        y_pred = ops.cast(y_pred, keras.config.floatx())
    y_true = ops.convert_to_tensor(y_true)
    if not keras.backend.standardize_dtype(y_true.dtype).startswith(("float", "bfloat", "int", "uint", "bool")):
        raise TypeError(f"y_true must hold numbers, got dtype {y_true.dtype}")
    y_true = ops.cast(y_true, y_pred.dtype)
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
    args = _hard_args(margin, from_logits)
    margin, from_logits = args["margin"], args["from_logits"]
    y_true, y_pred = _prepare(y_true, y_pred)
    dtype = y_pred.dtype

    def constant(value):  # compare in y_pred's dtype (a Python float may be cast to float32 first)
        return ops.convert_to_tensor(value, dtype=dtype)

    if from_logits:
        threshold = math.log(margin / (1.0 - margin))  # σ(x) > m  ⇔  x > logit(m)
        right_positive = ops.greater(y_pred, constant(threshold))
        right_negative = ops.less(y_pred, constant(-threshold))
    else:
        right_positive = ops.greater(y_pred, constant(margin))
        right_negative = ops.less(y_pred, constant(1.0 - margin))
    positive = ops.cast(ops.greater(y_true, constant(margin)), dtype)
    negative = ops.cast(ops.less(y_true, constant(1.0 - margin)), dtype)
    weight = (
        1.0
        - positive * ops.cast(right_positive, y_pred.dtype)
        - negative * ops.cast(right_negative, y_pred.dtype)
    )
    return ops.stop_gradient(weight)


@_register
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
        TypeError: margin not a real number, from_logits not a bool, non-numeric inputs.
        ValueError: margin outside (0.5, 1), or shapes that differ.

    Example:
        >>> import numpy as np
        >>> loss = hard_truncation_loss([[1.0], [1.0]], [[0.9], [0.5]], margin=0.6)
        >>> [round(float(v), 4) for v in np.asarray(loss)]  # the first is right by the margin: no loss
        [0.0, 0.6931]

    See the chapter: notebooks/sentiment-loss.ipynb
    """
    args = _hard_args(margin, from_logits)
    y_true, y_pred = _prepare(y_true, y_pred)
    log_p, log_q = _log_probabilities(y_pred, args["from_logits"])
    cross_entropy = -(y_true * log_p + (1.0 - y_true) * log_q)
    weight = truncation_weight(y_true, y_pred, **args)
    return ops.mean(weight * cross_entropy, axis=-1)


# --------------------------------------------------------------------------- soft truncation


@_register
def soft_truncation_loss(y_true, logits, k=5.0, margin=0.5):
    """Hard truncation with the step θ(·) softened to a sigmoid σ(k·).

    With t = logit(m) the logit at the margin (t = 0 for the default m = 0.5), a label-1 output
    with logit x costs −σ(−k(x − t))·log σ(x) and a label-0 output −σ(k(x + t))·log σ(−x); a soft
    label y mixes the two linearly. ``k → ∞`` gives back the hard step at the margin
    (:func:`hard_truncation_loss` with the same ``margin``), and ``k = 1`` with ``margin = 0.5``
    gives focal loss with γ = 1. Mean over the last axis.

    Args:
        y_true: labels in [0, 1], shape ``(..., d)``.
        logits: logits, same shape (this loss is defined on logits only).
        k: the sharpness of the softened step, > 0.
        margin: ``m`` in [0.5, 1), where the softened step is centred (σ(x) = m).

    Returns:
        Tensor of shape ``y_true.shape[:-1]``.

    Raises:
        TypeError: k or margin not a real number, non-numeric inputs.
        ValueError: k ≤ 0, margin outside [0.5, 1), shapes that differ.

    Example:
        >>> import numpy as np
        >>> loss = soft_truncation_loss([[1.0], [0.0]], [[0.0], [0.0]], k=5.0)
        >>> [round(float(v), 4) for v in np.asarray(loss)]  # at x = 0: σ(0)·log 2 for either label
        [0.3466, 0.3466]

    See the chapter: notebooks/focal-loss.ipynb
    """
    args = _soft_args(k, margin)
    k, shift = args["k"], math.log(args["margin"] / (1.0 - args["margin"]))
    y_true, logits = _prepare(y_true, logits)
    log_p, log_q = _log_probabilities(logits, from_logits=True)
    positive = -ops.sigmoid(-k * (logits - shift)) * log_p
    negative = -ops.sigmoid(k * (logits + shift)) * log_q
    return ops.mean(y_true * positive + (1.0 - y_true) * negative, axis=-1)


# --------------------------------------------------------------------------- focal loss


@_register
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
        TypeError: γ or α not a real number (``True`` is not one), from_logits not a bool.
        ValueError: γ < 0, α outside [0, 1], shapes that differ.

    Example:
        >>> import numpy as np
        >>> loss = binary_focal_loss([[0.0]], [[30.0]], gamma=0.0, from_logits=True)
        >>> [round(float(v), 4) for v in np.asarray(loss)]  # log(1 + e^30): no clipping at -log(1e-7)
        [30.0]

    See the chapter: notebooks/focal-loss.ipynb
    """
    args = _focal_args(gamma, alpha, from_logits)
    gamma, alpha = args["gamma"], args["alpha"]
    y_true, y_pred = _prepare(y_true, y_pred)
    log_p, log_q = _log_probabilities(y_pred, args["from_logits"])
    positive = -ops.exp(gamma * log_q) * log_p  # -(1 - p)^γ log p
    negative = -ops.exp(gamma * log_p) * log_q  # -p^γ log(1 - p)
    if alpha is not None:
        positive = alpha * positive
        negative = (1.0 - alpha) * negative
    return ops.mean(y_true * positive + (1.0 - y_true) * negative, axis=-1)


@_register
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
        TypeError: γ not a real number, α neither a number nor a sequence of numbers,
            from_logits not a bool.
        ValueError: γ < 0, negative or wrongly sized α, shapes that differ.

    Example:
        >>> import numpy as np
        >>> loss = categorical_focal_loss([[0.0, 1.0, 0.0]], [[0.0, 0.0, 0.0]], gamma=2.0, from_logits=True)
        >>> bool(np.isclose(np.asarray(loss)[0], (2 / 3) ** 2 * np.log(3)))
        True

    See the chapter: notebooks/focal-loss.ipynb
    """
    args = _categorical_args(gamma, alpha, from_logits)
    gamma, alpha, from_logits = args["gamma"], args["alpha"], args["from_logits"]
    y_true, y_pred = _prepare(y_true, y_pred)
    classes = y_pred.shape[-1]
    if classes is None:
        raise ValueError("y_pred's last axis (the classes) must have a known size, got None")
    if isinstance(alpha, float):
        alpha = [alpha] * classes
    if alpha is not None and len(alpha) != classes:
        raise ValueError(f"alpha must have one weight per class ({classes}), got {len(alpha)}")
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


# --------------------------------------------------------------------------- the Keras wrapper


_ARGUMENTS = {
    hard_truncation_loss: _hard_args,
    soft_truncation_loss: _soft_args,
    binary_focal_loss: _focal_args,
    categorical_focal_loss: _categorical_args,
}
"""The functions :class:`LossFunction` can wrap, each with the checker of its keyword arguments."""


def _resolve(fn):
    """A wrappable loss function from itself or its registered name (``"kbook>binary_focal_loss"``)."""
    if isinstance(fn, str):
        found = keras.saving.get_registered_object(fn)
        if found not in _ARGUMENTS:
            known = ", ".join(keras.saving.get_registered_name(f) for f in _ARGUMENTS)
            raise ValueError(f"fn must name one of {known}, got {fn!r}")
        return found
    if fn not in _ARGUMENTS:
        if not callable(fn):
            raise TypeError(f"fn must be a kbook loss function or its registered name, got {type(fn).__name__}")
        known = ", ".join(f.__name__ for f in _ARGUMENTS)
        raise ValueError(f"fn must be one of kbook.losses' {known}, got {getattr(fn, '__name__', fn)!r}")
    return fn


def _match_rank(y_true, y_pred):
    """Labels of shape (batch,) against outputs of shape (batch, 1), or the other way round.

    The same rule as Keras's built-in losses: when the ranks differ by one and the longer tensor
    ends in an axis of size 1, add that axis to the shorter one. Any other mismatch is left for the
    loss function to report.
    """
    true_rank, pred_rank = len(y_true.shape), len(y_pred.shape)
    if true_rank == pred_rank - 1 and y_pred.shape[-1] == 1:
        y_true = ops.expand_dims(y_true, -1)
    elif pred_rank == true_rank - 1 and y_true.shape[-1] == 1:
        y_pred = ops.expand_dims(y_pred, -1)
    return y_true, y_pred


@_register
class LossFunction(keras.losses.Loss):
    """A ``keras.losses.Loss`` around one of this module's loss functions and its keyword arguments.

    Works like Keras's own ``LossFunctionWrapper``: ``call`` returns the function's per-sample
    losses, and ``keras.losses.Loss.__call__`` applies ``reduction``, ``sample_weight`` and any
    Keras mask. ``get_config`` stores the function's registered name (``"kbook>..."``) and the
    keyword arguments, so a compiled model survives ``model.save`` / ``keras.models.load_model``.

    Args:
        fn: :func:`hard_truncation_loss`, :func:`soft_truncation_loss`, :func:`binary_focal_loss`
            or :func:`categorical_focal_loss`, or its registered name.
        reduction: any reduction ``keras.losses.Loss`` accepts (``"sum_over_batch_size"``,
            ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"``, ``"none"`` or ``None``).
        name: the loss's name (defaults to the function's name).
        dtype: the dtype of the computation (defaults to ``keras.config.floatx()``).
        **kwargs: the function's keyword arguments, checked here (TypeError for an unknown one or a
            wrong type, ValueError for a bad value).

    Example:
        >>> import numpy as np
        >>> loss = LossFunction(binary_focal_loss, gamma=0.0, from_logits=True, reduction="sum")
        >>> round(float(loss(np.array([0.0, 1.0]), np.array([[0.0], [0.0]]))), 4)  # 2 log 2
        1.3863
        >>> loss.get_config()["fn"]
        'kbook>binary_focal_loss'

    See the chapters: notebooks/sentiment-loss.ipynb and notebooks/focal-loss.ipynb
    """

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        fn = _resolve(fn)
        try:
            fn_kwargs = _ARGUMENTS[fn](**kwargs)
        except TypeError as error:
            if "unexpected keyword" not in str(error):
                raise
            raise TypeError(f"{fn.__name__} does not take the argument(s) {sorted(kwargs)}: {error}") from None
        super().__init__(name=name or fn.__name__, reduction=reduction, dtype=dtype)
        self.fn = fn
        self.fn_kwargs = fn_kwargs

    def call(self, y_true, y_pred):
        y_true, y_pred = _match_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self.fn_kwargs)

    def get_config(self):
        return {**super().get_config(), "fn": keras.saving.get_registered_name(self.fn), **self.fn_kwargs}

    def __repr__(self):
        return f"<{type(self).__name__}({self.fn.__name__}, {self.fn_kwargs}, reduction={self.reduction!r})>"


class _FixedLoss(LossFunction):
    """A :class:`LossFunction` whose function is fixed by the subclass (``FUNCTION``)."""

    FUNCTION = None

    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None, fn=None, **kwargs):
        if fn is not None and _resolve(fn) is not self.FUNCTION:  # a config carries the name back
            raise ValueError(f"{type(self).__name__} wraps {self.FUNCTION.__name__}, got fn={fn!r}")
        super().__init__(self.FUNCTION, reduction=reduction, name=name, dtype=dtype, **kwargs)


@_register
class HardTruncationLoss(_FixedLoss):
    """:class:`LossFunction` of :func:`hard_truncation_loss`.

    Example:
        >>> import numpy as np
        >>> loss = HardTruncationLoss(margin=0.6)
        >>> round(float(loss(np.array([1.0, 1.0]), np.array([[0.9], [0.5]]))), 4)  # batch mean
        0.3466

    See the chapter: notebooks/sentiment-loss.ipynb
    """

    FUNCTION = staticmethod(hard_truncation_loss)

    def __init__(self, margin=0.6, from_logits=False, reduction="sum_over_batch_size", name="hard_truncation",
                 dtype=None, fn=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype, fn=fn, margin=margin, from_logits=from_logits)


@_register
class SoftTruncationLoss(_FixedLoss):
    """:class:`LossFunction` of :func:`soft_truncation_loss` (expects logits).

    Example:
        >>> import numpy as np
        >>> round(float(SoftTruncationLoss(k=5.0)(np.array([1.0]), np.array([[0.0]]))), 4)
        0.3466

    See the chapter: notebooks/focal-loss.ipynb
    """

    FUNCTION = staticmethod(soft_truncation_loss)

    def __init__(self, k=5.0, margin=0.5, reduction="sum_over_batch_size", name="soft_truncation", dtype=None,
                 fn=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype, fn=fn, k=k, margin=margin)


@_register
class BinaryFocalLoss(_FixedLoss):
    """:class:`LossFunction` of :func:`binary_focal_loss`.

    Example:
        >>> import numpy as np
        >>> loss = BinaryFocalLoss(gamma=0.0, from_logits=True)
        >>> round(float(loss(np.array([0.0]), np.array([[30.0]]))), 4)
        30.0

    See the chapter: notebooks/focal-loss.ipynb
    """

    FUNCTION = staticmethod(binary_focal_loss)

    def __init__(self, gamma=2.0, alpha=None, from_logits=False, reduction="sum_over_batch_size",
                 name="binary_focal", dtype=None, fn=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype, fn=fn, gamma=gamma, alpha=alpha,
                         from_logits=from_logits)


@_register
class CategoricalFocalLoss(_FixedLoss):
    """:class:`LossFunction` of :func:`categorical_focal_loss` (one-hot labels).

    Example:
        >>> import numpy as np
        >>> loss = CategoricalFocalLoss(gamma=0.0, from_logits=True)
        >>> round(float(loss(np.array([[1.0, 0.0]]), np.array([[0.0, 0.0]]))), 4)  # log 2
        0.6931

    See the chapter: notebooks/focal-loss.ipynb
    """

    FUNCTION = staticmethod(categorical_focal_loss)

    def __init__(self, gamma=2.0, alpha=None, from_logits=False, reduction="sum_over_batch_size",
                 name="categorical_focal", dtype=None, fn=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype, fn=fn, gamma=gamma, alpha=alpha,
                         from_logits=from_logits)
