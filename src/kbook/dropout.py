"""Dropout from scratch, and what Monte Carlo dropout needs.

See the chapter: ``notebooks/dropout.ipynb`` (Part I, "Dropout").

Inverted dropout (what every modern framework does) zeroes each element with probability ``rate``
and divides the survivors by ``1 - rate``, so the expectation of every element is unchanged and
inference needs no rescaling. Its variance is what changes: for a fixed input ``x``,
``Var[dropout(x)] = x**2 * rate / (1 - rate)`` (:func:`dropout_moments`).
"""

from __future__ import annotations

import numbers

import keras
import numpy as np

__all__ = [
    "dropout",
    "dropout_moments",
    "MCDropout",
    "mc_predict",
    "predictive_entropy",
    "mutual_information",
]


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
    array = np.asarray(x, dtype=float)
    return array.copy(), array**2 * rate / (1.0 - rate)


# --------------------------------------------------------------------------- Monte Carlo dropout


@keras.saving.register_keras_serializable(package="kbook")
class MCDropout(keras.layers.Dropout):
    """A ``keras.layers.Dropout`` that stays active at inference (Monte Carlo dropout).

    Use it in place of ``Dropout`` when predictions should be samples from the approximate
    posterior of Gal & Ghahramani (2016); the ``training`` argument is ignored. Arguments are
    those of ``keras.layers.Dropout`` (``rate``, ``noise_shape``, ``seed``).

    Input and output shape: anything, unchanged.

    Example:
        >>> layer = MCDropout(0.5, seed=1)
        >>> y = keras.ops.convert_to_numpy(layer(np.ones((2, 4))))  # dropped though not training
        >>> set(y.ravel().tolist()) <= {0.0, 2.0}
        True
    """

    def call(self, inputs, training=None):
        return super().call(inputs, training=True)


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

    Example:
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dropout(0.5), keras.layers.Dense(2)])
        >>> mc_predict(model, np.ones((4, 3)), n_samples=5).shape
        (5, 4, 2)
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive int, got {n_samples!r}")
    if batch_size is not None and (not isinstance(batch_size, numbers.Integral) or batch_size < 1):
        raise ValueError(f"batch_size must be a positive int or None, got {batch_size!r}")
    x = np.asarray(x)
    if x.ndim == 0 or len(x) == 0:
        raise ValueError(f"x must be a non-empty batch, shape (n, ...), got shape {x.shape}")
    size = len(x) if batch_size is None else int(batch_size)
    samples = []
    for _ in range(int(n_samples)):
        parts = [keras.ops.convert_to_numpy(model(x[i : i + size], training=True)) for i in range(0, len(x), size)]
        samples.append(np.concatenate(parts, axis=0))
    return np.stack(samples)


def _check_probabilities(probs) -> np.ndarray:
    probs = np.asarray(probs, dtype=float)
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
