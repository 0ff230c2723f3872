"""Sample quality as a number: the Fréchet distance, and an "FID on Fashion-MNIST features".

See the chapter: ``notebooks/fashion-gan.ipynb`` (Part V, "A Fashion-MNIST GAN"); the
``wgan-gp`` chapter uses it too.

The Fréchet distance between two Gaussians :math:`N(\\mu_1, \\Sigma_1)` and
:math:`N(\\mu_2, \\Sigma_2)` (Dowson & Landau 1982) is

.. math:: d^2 = \\lVert\\mu_1-\\mu_2\\rVert^2 + \\operatorname{tr}\\bigl(\\Sigma_1+\\Sigma_2
          - 2(\\Sigma_1\\Sigma_2)^{1/2}\\bigr).

The FID of Heusel et al. (2017) applies it to the mean and covariance of features of two sets of
images. Their features come from an Inception network trained on ImageNet; ours come from a
small CNN trained in this book on Fashion-MNIST (``scripts/train_fid_classifier.py``; 64 features,
the last hidden layer; its test accuracy is in :func:`classifier_info`). **The numbers are
therefore on a different scale from published Inception FIDs and cannot be compared with them**,
nor with FIDs from another feature network, another sample size, or another preprocessing. They
are meant for comparisons inside this book: same network, same number of images.

What goes in: images of shape ``(n, 28, 28)`` or ``(n, 28, 28, 1)``. Float images are expected in
``value_range`` (default ``(-1, 1)``: the output of a ``tanh`` generator, and the range the book's
GANs use); uint8 images are read as 0–255 (the raw dataset). Values outside the range raise a
ValueError rather than silently shifting every feature. Images in ``[0, 1]`` lie inside the
default ``[-1, 1]`` and cannot be told from it by the range check: pass ``value_range=(0, 1)``
for them. As a guard, a set of at least 100 float images with no negative value under the
default range gets a ``UserWarning`` (real and ``tanh`` images have a background near -1).

This lives in its own module rather than in ``kbook.gan`` (where the issue first listed
``frechet_distance``) so that the two topic modules stay independent: ``kbook.gan`` trains GANs,
``kbook.fid`` scores images, and a notebook imports both.

Imports: NumPy at module level, nothing else; ``import kbook.fid`` does not import Keras,
TensorFlow or JAX. The classifier runs in NumPy from weights shipped as package data
(``kbook/results/fid_classifier.npz``), so the features are the same under every Keras backend.
"""

from __future__ import annotations

import importlib.resources
import json
import numbers
import warnings

import numpy as np

__all__ = [
    "frechet_distance",
    "feature_statistics",
    "load_classifier",
    "classifier_info",
    "fashion_features",
    "fashion_predict",
    "fashion_outputs",
    "fashion_fid",
]

WEIGHTS = "fid_classifier.npz"
"""The classifier's weights, a file in ``kbook/results/`` (package data)."""
N_FEATURES = 64
"""Length of a feature vector (the classifier's last hidden layer)."""
_WARN_MIN_IMAGES = 100
"""Sets at least this large, all >= 0, with value_range (-1, 1) get a UserWarning ([0, 1] images?)."""
_LAYERS = ("conv1", "conv2", "dense1", "dense2")
_SHAPES = {
    "conv1_kernel": (3, 3, 1, 16), "conv1_bias": (16,),
    "conv2_kernel": (3, 3, 16, 32), "conv2_bias": (32,),
    "dense1_kernel": (7 * 7 * 32, N_FEATURES), "dense1_bias": (N_FEATURES,),
    "dense2_kernel": (N_FEATURES, 10), "dense2_bias": (10,),
}  # fmt: skip


# --------------------------------------------------------------------------- the distance


def _as_float_array(value, name: str, ndim: int) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise TypeError(f"{name} must be a numeric array, got dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real, got a complex array")
    if array.ndim != ndim:
        expected = "a vector (d,)" if ndim == 1 else "a square matrix (d, d)"
        raise ValueError(f"{name} must be {expected}, got shape {array.shape}")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinity")
    return array


def _check_covariance(sigma: np.ndarray, name: str, d: int) -> np.ndarray:
    if sigma.shape != (d, d):
        raise ValueError(f"{name} must have shape ({d}, {d}) to match the mean, got {sigma.shape}")
    scale = max(float(np.max(np.abs(sigma))), 1e-300)
    if not np.allclose(sigma, sigma.T, rtol=0.0, atol=1e-8 * scale):
        asym = float(np.max(np.abs(sigma - sigma.T)))
        raise ValueError(f"{name} must be symmetric (a covariance), max |{name} - {name}.T| = {asym:.3g}")
    sigma = 0.5 * (sigma + sigma.T)
    lowest = float(np.linalg.eigvalsh(sigma)[0]) if d else 0.0
    if lowest < -1e-8 * scale * max(d, 1):
        raise ValueError(f"{name} must be positive semi-definite (a covariance), its smallest eigenvalue is {lowest:.3g}")
    return sigma


def _psd_sqrt(sigma: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric PSD matrix (eigenvalues clipped at 0)."""
    values, vectors = np.linalg.eigh(sigma)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """The squared Fréchet (2-Wasserstein) distance between ``N(mu1, sigma1)`` and ``N(mu2, sigma2)``.

    ``|mu1 - mu2|² + tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^½)``. The trace of the matrix square
    root is computed without forming it: ``(sigma1 sigma2)^½`` has the same eigenvalues as the
    symmetric PSD matrix ``sigma1^½ sigma2 sigma1^½``, so its trace is the sum of the square roots
    of that matrix's eigenvalues (``numpy.linalg.eigh``, negative round-off clipped to 0). This
    stays real and finite for singular covariances (fewer samples than features, a collapsed
    generator), where a general ``sqrtm`` of the non-symmetric product can return complex values.

    Args:
        mu1, mu2: means, shape ``(d,)``.
        sigma1, sigma2: covariances, shape ``(d, d)``, symmetric positive semi-definite.

    Returns:
        The distance as a float, ``>= 0`` (tiny negative round-off is clipped to 0). It is the
        squared distance, as in the FID literature.

    Raises:
        TypeError: an argument is not a real numeric array.
        ValueError: wrong shapes (not ``(d,)`` / ``(d, d)``, or mismatched ``d``), NaN/inf, a
            non-symmetric or clearly indefinite covariance.

    Example:
        >>> frechet_distance(np.zeros(2), np.eye(2), np.ones(2), 4 * np.eye(2))  # 2 + 2*(1+4-2*2)
        4.0
    """
    mu1 = _as_float_array(mu1, "mu1", 1)
    mu2 = _as_float_array(mu2, "mu2", 1)
    if mu1.shape != mu2.shape:
        raise ValueError(f"mu1 and mu2 must have the same length, got {mu1.shape} and {mu2.shape}")
    d = mu1.shape[0]
    if d == 0:
        raise ValueError("mu1 and mu2 must have at least one element")
    sigma1 = _check_covariance(_as_float_array(sigma1, "sigma1", 2), "sigma1", d)
    sigma2 = _check_covariance(_as_float_array(sigma2, "sigma2", 2), "sigma2", d)
    root1 = _psd_sqrt(sigma1)
    middle = root1 @ sigma2 @ root1
    eigenvalues = np.linalg.eigvalsh(0.5 * (middle + middle.T))
    trace_sqrt = float(np.sum(np.sqrt(np.clip(eigenvalues, 0.0, None))))
    diff = mu1 - mu2
    value = float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt)
    return max(value, 0.0)


def feature_statistics(features):
    """Mean and covariance of a set of feature vectors, the inputs of :func:`frechet_distance`.

    Args:
        features: shape ``(n, d)`` with ``n >= 2``.

    Returns:
        ``(mu, sigma)``: shape ``(d,)`` and ``(d, d)``, float64; ``sigma`` is the unbiased sample
        covariance (divides by ``n - 1``), as in the reference FID code.

    Example:
        >>> mu, sigma = feature_statistics(np.array([[0.0, 1.0], [2.0, 3.0]]))
        >>> mu, sigma
        (array([1., 2.]), array([[2., 2.],
               [2., 2.]]))
    """
    array = _as_float_array(features, "features", 2)
    if array.shape[0] < 2:
        raise ValueError(f"features must hold at least 2 vectors (rows), got {array.shape[0]}")
    return array.mean(axis=0), np.atleast_2d(np.cov(array, rowvar=False))


# --------------------------------------------------------------------------- the classifier


def load_classifier() -> dict:
    """The feature network's weights: a dict of float32 arrays (``conv1_kernel`` ... ``dense2_bias``).

    Read from package data with :mod:`importlib.resources`, so it works from an installed wheel
    (Colab) as in the repository. Pass the result as ``weights=`` to the functions below to avoid
    reading the file again.

    Example:
        >>> load_classifier()["dense1_kernel"].shape
        (1568, 64)
    """
    resource = importlib.resources.files("kbook") / "results" / WEIGHTS
    with resource.open("rb") as handle, np.load(handle, allow_pickle=False) as archive:
        weights = {key: archive[key] for key in archive.files}
    missing = sorted(set(_SHAPES) - set(weights))
    if missing:
        raise ValueError(f"{WEIGHTS} lacks {missing}: re-run scripts/train_fid_classifier.py")
    return weights


def classifier_info(weights=None) -> dict:
    """How the feature network was trained: test accuracy, seed, epochs, backend, ... (a dict).

    Example:
        >>> info = classifier_info()
        >>> info["n_test"], info["input_range"]
        (10000, [-1.0, 1.0])
    """
    weights = load_classifier() if weights is None else _check_weights(weights)
    return json.loads(str(weights["meta"]))


def _check_weights(weights) -> dict:
    if not isinstance(weights, dict):
        raise TypeError(f"weights must be the dict returned by load_classifier(), got {type(weights).__name__}")
    for key, shape in _SHAPES.items():
        if key not in weights or np.shape(weights[key]) != shape:
            raise ValueError(f"weights[{key!r}] must have shape {shape} (use load_classifier())")
    return weights


def _prepare_images(images, value_range, name: str = "images") -> np.ndarray:
    """Validate and map images to the network's input range [-1, 1]: shape (n, 28, 28), float32."""
    array = np.asarray(images)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise TypeError(f"{name} must be a numeric array, got dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real, got a complex array")
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 3 or array.shape[1:] != (28, 28):
        raise ValueError(f"{name} must have shape (n, 28, 28) or (n, 28, 28, 1), got {np.shape(images)}")
    if array.shape[0] == 0:
        raise ValueError(f"{name} is empty (n = 0)")
    if array.dtype == np.uint8:
        return array.astype(np.float32) / np.float32(127.5) - np.float32(1.0)
    if (not isinstance(value_range, (tuple, list)) or len(value_range) != 2
            or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value_range)):
        raise TypeError(f"value_range must be a pair of numbers (low, high), got {value_range!r}")
    low, high = float(value_range[0]), float(value_range[1])
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"value_range must be finite with low < high, got {value_range!r}")
    array = array.astype(np.float32)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinity")
    tolerance = 1e-3 * (high - low)
    found_low, found_high = float(array.min()), float(array.max())
    if (low, high) == (-1.0, 1.0) and found_low >= 0.0 and array.shape[0] >= _WARN_MIN_IMAGES:
        # [0, 1] images pass the [-1, 1] check; a large set with no negative pixel at all is
        # almost surely such a set (real and tanh images have a background near -1)
        warnings.warn(
            f"{name}: all {array.shape[0]} images are >= 0 but value_range is (-1, 1); "
            "if they are in [0, 1], pass value_range=(0, 1), or the features are wrong",
            UserWarning, stacklevel=4,
        )
    if found_low < low - tolerance or found_high > high + tolerance:
        raise ValueError(
            f"{name} must lie in value_range [{low:g}, {high:g}], found values in [{found_low:.4g}, {found_high:.4g}] "
            "(pass value_range=(0, 1) for images in [0, 1], or uint8 images for 0-255)"
        )
    return (2.0 * (np.clip(array, low, high) - low) / (high - low) - 1.0).astype(np.float32)


def _conv3x3_relu(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """'same' 3x3 cross-correlation + bias + ReLU, as keras.layers.Conv2D: (n, h, w, c) -> (n, h, w, o).

    out[n, i, j] = bias + sum over (di, dj) of padded[n, i + di, j + dj] @ kernel[di, dj]: nine
    matrix products of shifted views (no im2col copy).
    """
    n, h, w, _ = x.shape
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    out = np.empty((n, h, w, kernel.shape[-1]), dtype=np.float32)
    out[...] = bias
    for di in range(3):
        for dj in range(3):
            out += padded[:, di : di + h, dj : dj + w, :] @ kernel[di, dj]
    return np.maximum(out, 0.0, out=out)


def _maxpool2(x: np.ndarray) -> np.ndarray:
    n, h, w, c = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def _forward(images: np.ndarray, weights: dict, batch_size: int):
    """Features (n, 64) and logits (n, 10) of prepared images (n, 28, 28) in [-1, 1]."""
    features, logits = [], []
    for start in range(0, images.shape[0], batch_size):
        x = images[start : start + batch_size, :, :, None]
        x = _maxpool2(_conv3x3_relu(x, weights["conv1_kernel"], weights["conv1_bias"]))
        x = _maxpool2(_conv3x3_relu(x, weights["conv2_kernel"], weights["conv2_bias"]))
        hidden = np.maximum(x.reshape(x.shape[0], -1) @ weights["dense1_kernel"] + weights["dense1_bias"], 0.0)
        features.append(hidden)
        logits.append(hidden @ weights["dense2_kernel"] + weights["dense2_bias"])
    return np.concatenate(features).astype(np.float64), np.concatenate(logits).astype(np.float64)


def _check_batch_size(batch_size) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral):
        raise TypeError(f"batch_size must be an int, got {type(batch_size).__name__}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    return int(batch_size)


def fashion_features(images, value_range=(-1.0, 1.0), weights=None, batch_size=500) -> np.ndarray:
    """The classifier's 64 hidden features of each image (the inputs of the FID).

    Args:
        images: shape ``(n, 28, 28)`` or ``(n, 28, 28, 1)``; floats in ``value_range``, or uint8
            in 0–255 (then ``value_range`` is ignored).
        value_range: ``(low, high)`` of float images; default ``(-1, 1)`` (a tanh generator).
            Values outside it (beyond 0.1% of its width) raise.
        weights: the dict from :func:`load_classifier` (None: load it).
        batch_size: images per NumPy forward pass (memory, not results).

    Returns:
        Shape ``(n, 64)``, float64, non-negative (ReLU outputs).

    Example:
        >>> fashion_features(np.zeros((3, 28, 28))).shape
        (3, 64)
    """
    batch_size = _check_batch_size(batch_size)
    weights = load_classifier() if weights is None else _check_weights(weights)
    return _forward(_prepare_images(images, value_range), weights, batch_size)[0]


def fashion_predict(images, value_range=(-1.0, 1.0), weights=None, batch_size=500) -> np.ndarray:
    """The classifier's class probabilities (softmax of its logits), shape ``(n, 10)``.

    Classes are in the order of ``kbook.data.FASHION_MNIST_CLASSES``; ``argmax(axis=1)`` gives a
    label per image (the chapter's class histograms of generated samples). Arguments as in
    :func:`fashion_features`; :func:`fashion_outputs` gives features and probabilities from one
    pass.

    Example:
        >>> probabilities = fashion_predict(np.zeros((2, 28, 28, 1)))
        >>> probabilities.shape, bool(np.allclose(probabilities.sum(axis=1), 1.0))
        ((2, 10), True)
    """
    return fashion_outputs(images, value_range, weights, batch_size)[1]


def fashion_outputs(images, value_range=(-1.0, 1.0), weights=None, batch_size=500):
    """Features and class probabilities from one forward pass: ``((n, 64), (n, 10))``.

    Arguments as in :func:`fashion_features`.

    Example:
        >>> features, probabilities = fashion_outputs(np.zeros((2, 28, 28), dtype=np.uint8))
        >>> features.shape, probabilities.shape
        ((2, 64), (2, 10))
    """
    batch_size = _check_batch_size(batch_size)
    weights = load_classifier() if weights is None else _check_weights(weights)
    features, logits = _forward(_prepare_images(images, value_range), weights, batch_size)
    shifted = logits - logits.max(axis=1, keepdims=True)  # stable softmax
    exp = np.exp(shifted)
    return features, exp / exp.sum(axis=1, keepdims=True)


def fashion_fid(images_a, images_b, value_range=(-1.0, 1.0), weights=None, batch_size=500) -> float:
    """The "FID on Fashion-MNIST features" between two sets of images (each ``n >= 2``).

    :func:`frechet_distance` between Gaussians fitted (:func:`feature_statistics`) to the two sets'
    :func:`fashion_features`. Not comparable with Inception FIDs (see the module docstring). The
    estimate is biased upwards for small sets: compare only numbers computed from equally many
    images, and read them against the noise floor (two disjoint real sets of that size), which the
    chapter measures. ``value_range`` applies to both sets (uint8 sets are read as 0–255).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> a, b = rng.uniform(-1, 1, (50, 28, 28)), rng.uniform(-1, 1, (50, 28, 28))
        >>> round(fashion_fid(a, a), 6)  # the same set: zero up to round-off
        0.0
        >>> fashion_fid(a, b) > 0
        True
    """
    batch_size = _check_batch_size(batch_size)
    weights = load_classifier() if weights is None else _check_weights(weights)
    stats = []
    for name, images in (("images_a", images_a), ("images_b", images_b)):
        prepared = _prepare_images(images, value_range, name)
        if prepared.shape[0] < 2:
            raise ValueError(f"{name} must hold at least 2 images, got {prepared.shape[0]}")
        stats.append(feature_statistics(_forward(prepared, weights, batch_size)[0]))
    return frechet_distance(*stats[0], *stats[1])
