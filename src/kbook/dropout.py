"""Dropout from scratch, and what Monte Carlo dropout needs.

See the chapter: ``notebooks/dropout.ipynb`` (Part I, "Dropout").

Inverted dropout (what every modern framework does) zeroes each element with probability ``rate``
and divides the survivors by ``1 - rate``, so the expectation of every element is unchanged and
inference needs no rescaling. Its variance is what changes: for a fixed input ``x``,
``Var[dropout(x)] = x**2 * rate / (1 - rate)`` (:func:`dropout_moments`).

Imports: NumPy at module level, nothing else; ``import kbook.dropout`` does not import Keras,
TensorFlow or JAX. :func:`mc_predict` imports Keras (and with it the active backend) when it is
called. The Keras layer ``MCDropout`` lives in the private module ``kbook._dropout_keras``, which
this module loads the first time the name is looked up (``kbook.dropout.MCDropout`` or
``from kbook.dropout import MCDropout``, through a module ``__getattr__``); loading it registers
the class with Keras as ``kbook>MCDropout``. To load a saved model that contains it, look the name
up first (or pass ``custom_objects``).
"""

from __future__ import annotations

import numbers

import numpy as np

from kbook import config as _config

__all__ = [
    "dropout",
    "dropout_moments",
    "MCDropout",
    "mc_predict",
    "predictive_entropy",
    "mutual_information",
]


_LAZY_LAYERS = {"MCDropout": "kbook._dropout_keras"}


# Load the Keras layer classes on first access (PEP 562), so that importing this module does not.
__getattr__, __dir__ = _config.lazy_attributes(__name__, globals(), _LAZY_LAYERS)


def _check_rate(rate) -> float:
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real):
        raise TypeError(f"rate must be a real number in [0, 1), got {type(rate).__name__}")
    if not 0.0 <= float(rate) < 1.0:
        raise ValueError(f"rate must be in [0, 1), got {rate}")
    return float(rate)


def dropout(x, rate, seed=None, training=True):
    """Inverted dropout in NumPy: zero each element with probability ``rate``, scale the rest.

    Args:
        x: array-like of any shape, real numbers.
        rate: probability of dropping an element, in [0, 1). (``rate = 1`` would drop everything
            and divide by zero, so it is refused.)
        seed: an int, a ``numpy.random.Generator``, or None for fresh randomness.
        training: when False, return ``x`` unchanged (inference needs no rescaling).

    Returns:
        An array of ``x``'s shape (float): each element is 0 or ``x / (1 - rate)``.

    Raises:
        TypeError: ``x`` is not numeric, or ``rate`` is not a real number.
        ValueError: ``rate`` is outside [0, 1).

    Example:
        >>> dropout(np.ones(8), rate=0.5, seed=0)
        array([2., 0., 0., 0., 2., 2., 2., 2.])
        >>> dropout(np.ones(3), rate=0.5, training=False)
        array([1., 1., 1.])
    """
    rate = _check_rate(rate)
    array = np.asarray(x)
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise TypeError(f"x must be numeric, got an array of dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.complexfloating):
        raise TypeError("x must be real, got a complex array")
    array = array.astype(np.result_type(array.dtype, np.float32), copy=False)
    if not training or rate == 0.0:
        return array.copy()
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    keep = rng.random(array.shape) >= rate  # P(keep) = 1 - rate exactly
    return np.where(keep, array / (1.0 - rate), 0.0).astype(array.dtype, copy=False)


def dropout_moments(x, rate):
    """Closed-form mean and variance of ``dropout(x, rate)`` for a fixed input ``x``.

    Each output is ``x * b / (1 - rate)`` with ``b ~ Bernoulli(1 - rate)``, so the mean is ``x``
    and the variance is ``x**2 * rate / (1 - rate)``.

    Returns:
        ``(mean, variance)``, two arrays of ``x``'s shape.

    Example:
        >>> dropout_moments(np.array([1.0, 2.0]), rate=0.5)
        (array([1., 2.]), array([1., 4.]))
    """
    rate = _check_rate(rate)
    array = _as_real(x, "x")
    return array.copy(), array**2 * rate / (1.0 - rate)


# --------------------------------------------------------------------------- Monte Carlo dropout


def mc_predict(model, x, n_samples=50, batch_size=None):
    """Run ``model`` ``n_samples`` times with dropout active and stack the predictions.

    Args:
        model: a Keras model whose dropout layers should be sampled; it is called with
            ``training=True``. (Batch-norm layers would also switch to batch statistics: use
            :class:`MCDropout` layers and ``training=False`` models for such networks.)
        x: inputs, shape ``(n, ...)``.
        n_samples: number of stochastic forward passes, at least 1.
        batch_size: split ``x`` into batches of this size (None: one batch).

    Returns:
        NumPy array ``(n_samples, n, ...)`` of the model's outputs.

    Raises:
        TypeError: ``model`` is not callable, ``n_samples`` / ``batch_size`` are not ints (``True``
            included), or ``x`` is not numeric.
        ValueError: ``n_samples`` / ``batch_size`` below 1, or ``x`` not a non-empty batch.

    Example:
        >>> import keras
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dropout(0.5), keras.layers.Dense(2)])
        >>> mc_predict(model, np.ones((4, 3)), n_samples=5).shape
        (5, 4, 2)
    """
    if not callable(model):
        raise TypeError(f"model must be a callable Keras model, got {type(model).__name__}")
    for name, value in (("n_samples", n_samples), ("batch_size", batch_size)):
        if name == "batch_size" and value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            allowed = "a positive int" + (" or None" if name == "batch_size" else "")
            raise TypeError(f"{name} must be {allowed}, got {type(value).__name__}")
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")
    x = np.asarray(x)
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise TypeError(f"x must be numeric, got an array of dtype {x.dtype}")
    if x.ndim == 0 or len(x) == 0:
        raise ValueError(f"x must be a non-empty batch, shape (n, ...), got shape {x.shape}")
    import keras

    size = len(x) if batch_size is None else int(batch_size)
    samples = []
    for _ in range(int(n_samples)):
        parts = [keras.ops.convert_to_numpy(model(x[i : i + size], training=True)) for i in range(0, len(x), size)]
        samples.append(np.concatenate(parts, axis=0))
    return np.stack(samples)


def _as_real(value, name: str) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool) \
            or np.issubdtype(array.dtype, np.complexfloating):
        raise TypeError(f"{name} must be an array of real numbers, got dtype {array.dtype}")
    return array.astype(float)


def _check_probabilities(probs) -> np.ndarray:
    probs = _as_real(probs, "probs")
    if probs.ndim != 3:
        raise ValueError(f"probs must have shape (n_samples, n, classes), got {probs.shape}")
    if not np.all(np.isfinite(probs)) or probs.min() < 0 or probs.max() > 1:
        raise ValueError("probs must be finite probabilities in [0, 1]")
    if not np.allclose(probs.sum(axis=-1), 1.0, atol=1e-4):
        raise ValueError("probs must sum to 1 over the last axis (pass softmax outputs)")
    return probs


def _entropy(p: np.ndarray) -> np.ndarray:
    # 0 * log 0 = 0: the limit, and what keeps a one-hot prediction at zero entropy.
    return -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), axis=-1)


def predictive_entropy(probs):
    """Entropy (nats) of the Monte Carlo mean prediction: total uncertainty.

    Args:
        probs: ``(n_samples, n, classes)`` softmax outputs, e.g. from :func:`mc_predict`.

    Returns:
        ``(n,)`` array, ``H[mean over samples of p]``, between 0 and ``log(classes)``.

    Example:
        >>> probs = np.array([[[0.5, 0.5]], [[0.5, 0.5]]])
        >>> np.round(predictive_entropy(probs), 4)
        array([0.6931])
    """
    return _entropy(_check_probabilities(probs).mean(axis=0))


def mutual_information(probs):
    """Mutual information between prediction and weights (BALD): the model's own uncertainty.

    ``I = H[mean p] - mean H[p]``: zero when every dropout sample agrees, large when the samples
    are individually confident but disagree with each other (Gal & Ghahramani, 2016).

    Args:
        probs: ``(n_samples, n, classes)`` softmax outputs.

    Returns:
        ``(n,)`` array, non-negative.

    Example:
        >>> agree = np.array([[[0.9, 0.1]], [[0.9, 0.1]]])
        >>> disagree = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
        >>> float(mutual_information(agree)[0]), round(float(mutual_information(disagree)[0]), 4)
        (0.0, 0.6931)
    """
    probs = _check_probabilities(probs)
    mi = _entropy(probs.mean(axis=0)) - _entropy(probs).mean(axis=0)
    return np.maximum(mi, 0.0)  # rounding can leave -1e-17 where the exact value is 0
