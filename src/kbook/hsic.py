"""The Hilbert–Schmidt independence criterion (HSIC): estimators, a permutation test, large-n
approximations, greedy feature selection, and a differentiable estimator for training.

Imports: NumPy only at module level. :func:`hsic_tensor` (the differentiable estimator written with
``keras.ops``, for training objectives such as the HSIC bottleneck) imports Keras when it is
called, so ``import kbook.hsic`` loads neither Keras nor TensorFlow.

Inputs are sample arrays ``x`` of shape (n, d_x) and ``y`` of shape (n, d_y), row ``i`` of ``x``
paired with row ``i`` of ``y``; a 1-D array is read as n samples of one feature.

Kernels (``kernel=`` takes one name for both variables, or a pair ``(kernel_x, kernel_y)``):

* ``"gaussian"``: k(a, b) = exp(−‖a − b‖² / (2σ²)). ``sigma=None`` picks σ by the median
  heuristic (:func:`median_heuristic`: the median Euclidean distance between distinct samples).
* ``"linear"``: k(a, b) = aᵀb (then biased HSIC is the squared Frobenius norm of the sample
  cross-covariance).
* ``"delta"``: k(a, b) = 1 if the rows a and b are equal, else 0 (for class labels).

See the chapter: notebooks/hsic.ipynb
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np

KERNELS = ("gaussian", "linear", "delta")
ESTIMATORS = ("biased", "unbiased")
MEDIAN_MAX_SAMPLES = 1000
"""The median heuristic looks at no more than this many samples (a seeded random subset)."""

__all__ = [
    "HSICTestResult",
    "gram_matrix",
    "hsic",
    "hsic_blockwise",
    "hsic_forward_selection",
    "hsic_from_grams",
    "hsic_nystrom",
    "hsic_rff",
    "hsic_tensor",
    "hsic_test",
    "median_heuristic",
]


# --------------------------------------------------------------------------- validation


def _as_samples(a, name: str) -> np.ndarray:
    """Return ``a`` as a finite float64 array of shape (n, d), or raise naming ``name``."""
    if isinstance(a, (str, bytes)) or a is None:
        raise TypeError(f"{name} must be an array of numbers, got {type(a).__name__}")
    arr = np.asarray(a)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise TypeError(f"{name} must be an array of real numbers, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real-valued, got dtype {arr.dtype}")
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise ValueError(f"{name} must have shape (n,) or (n, d), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must be non-empty, got shape {arr.shape}")
    arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _pair(x, y):
    x = _as_samples(x, "x")
    y = _as_samples(y, "y")
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"x and y must have the same number of samples (rows), got {x.shape[0]} and {y.shape[0]}"
        )
    return x, y


def _kernels(kernel) -> tuple[str, str]:
    if isinstance(kernel, str):
        pair = (kernel, kernel)
    elif isinstance(kernel, (tuple, list)) and len(kernel) == 2:
        pair = tuple(kernel)
    else:
        raise TypeError(f"kernel must be a name or a pair of names from {KERNELS}, got {kernel!r}")
    for k in pair:
        if not isinstance(k, str):
            raise TypeError(f"kernel names must be strings from {KERNELS}, got {type(k).__name__}")
        if k not in KERNELS:
            raise ValueError(f"kernel must be one of {KERNELS} (or a pair of them), got {k!r}")
    return pair


def _check_estimator(estimator: str, n: int) -> None:
    if not isinstance(estimator, str):
        raise TypeError(f"estimator must be one of the strings {ESTIMATORS}, got {type(estimator).__name__}")
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
    minimum = 2 if estimator == "biased" else 4
    if n < minimum:
        raise ValueError(f"the {estimator} estimator needs at least {minimum} samples, got n={n}")


def _check_sigma(sigma, kernel: str, name: str):
    if sigma is None:
        return None
    if kernel != "gaussian":
        raise ValueError(f"{name} applies to the gaussian kernel only, but the kernel is {kernel!r}")
    if isinstance(sigma, bool) or not isinstance(sigma, numbers.Real):
        raise TypeError(f"{name} must be a positive number or None, got {type(sigma).__name__}")
    if not (math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"{name} must be a positive finite number or None, got {sigma}")
    return float(sigma)


def _check_kernel_name(kernel, name: str) -> str:
    if not isinstance(kernel, str):
        raise TypeError(f"{name} must be one of the strings {KERNELS}, got {type(kernel).__name__}")
    if kernel not in KERNELS:
        raise ValueError(f"{name} must be one of {KERNELS}, got {kernel!r}")
    return kernel


def _check_positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


# --------------------------------------------------------------------------- kernels


def _sq_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances between the rows of a (m, d) and b (p, d), clipped at 0."""
    d2 = a @ b.T  # in-place updates below: each pass over an n × n array costs memory bandwidth
    d2 *= -2.0
    d2 += np.einsum("ij,ij->i", a, a)[:, None]
    d2 += np.einsum("ij,ij->i", b, b)[None, :]
    np.maximum(d2, 0.0, out=d2)
    return d2


def median_heuristic(x, max_samples: int = MEDIAN_MAX_SAMPLES, seed: int = 0) -> float:
    """Return the median Euclidean distance between distinct samples of ``x``: a Gaussian width.

    This is the width of Gretton et al. (2005, 2008). If more than ``max_samples`` rows are given,
    a random subset of that size (drawn with ``seed``) is used. If the median is 0 (more than half
    the pairs coincide), the median of the positive distances is used; if every sample is the
    same, 1.0.

    Args:
        x: samples, shape (n,) or (n, d).
        max_samples: the largest number of rows looked at.
        seed: seed of the subset draw when n > ``max_samples``.

    Returns:
        float, a positive width σ.

    Example:
        >>> median_heuristic([0.0, 1.0, 3.0])  # distances 1, 3, 2
        2.0
    """
    x = _as_samples(x, "x")
    max_samples = _check_positive_int(max_samples, "max_samples", 2)
    x = x[_median_rows(x.shape[0], max_samples, seed)]
    x = x - x.mean(axis=0)
    upper = np.triu_indices(x.shape[0], k=1)
    sq = _sq_distances(x, x)
    # ‖a‖² + ‖b‖² − 2aᵀb leaves rounding noise where a = b: call such pairs tied, as they are.
    norms = np.einsum("ij,ij->i", x, x)
    sq[sq <= 1e-12 * (norms[:, None] + norms[None, :])] = 0.0
    return _median_width(sq[upper])


def _median_rows(n: int, max_samples: int = MEDIAN_MAX_SAMPLES, seed: int = 0):
    """The rows :func:`median_heuristic` looks at: all of them, or its seeded random subset."""
    if n > max_samples:
        return np.random.default_rng(seed).choice(n, size=max_samples, replace=False)
    return slice(None)


def _median_width(sq_distances: np.ndarray) -> float:
    """The median heuristic's rule on the squared distances of distinct pairs (any shape)."""
    distances = np.sqrt(sq_distances.ravel())
    if distances.size == 0:
        return 1.0
    median = float(np.median(distances))
    if median > 0:
        return median
    positive = distances[distances > 0]
    return float(np.median(positive)) if positive.size else 1.0


@dataclass(frozen=True)
class _Prepared:
    """One variable ready for kernel evaluation: the kind, the data (or codes) and σ."""

    kind: str
    data: np.ndarray
    sigma: float | None


def _prepare(a: np.ndarray, kind: str, sigma, name: str) -> _Prepared:
    sigma = _check_sigma(sigma, kind, name)
    if kind == "gaussian":
        # Centring changes no distance but keeps ‖a‖² + ‖b‖² − 2aᵀb accurate for shifted data.
        data = a - a.mean(axis=0)
        return _Prepared(kind, data, sigma if sigma is not None else median_heuristic(a))
    if kind == "delta":
        _, codes = np.unique(a, axis=0, return_inverse=True)
        return _Prepared(kind, codes.reshape(-1), None)
    # The linear kernel's HSIC (both estimators) is unchanged by shifting a; centring keeps the
    # trace identities used below free of cancellation when the data sit far from the origin.
    return _Prepared(kind, a - a.mean(axis=0), None)


def _block(p: _Prepared, rows: slice | np.ndarray, cols: slice | np.ndarray) -> np.ndarray:
    a, b = p.data[rows], p.data[cols]
    if p.kind == "gaussian":
        k = _sq_distances(a, b)
        k *= -0.5 / p.sigma**2
        return np.exp(k, out=k)
    if p.kind == "linear":
        return a @ b.T
    return (a[:, None] == b[None, :]).astype(np.float64)


def gram_matrix(x, kernel: str = "gaussian", sigma=None) -> np.ndarray:
    """Return the kernel (Gram) matrix K with K[i, j] = k(x_i, x_j).

    Args:
        x: samples, shape (n,) or (n, d).
        kernel: ``"gaussian"``, ``"linear"`` or ``"delta"`` (see the module docstring).
        sigma: Gaussian width; None = :func:`median_heuristic`. Only for the Gaussian kernel.

    Returns:
        array of shape (n, n), symmetric.

    Example:
        >>> gram_matrix([[0.0], [1.0]], sigma=1.0).round(4)
        array([[1.    , 0.6065],
               [0.6065, 1.    ]])
    """
    x = _as_samples(x, "x")
    _check_kernel_name(kernel, "kernel")
    p = _prepare(x, kernel, sigma, "sigma")
    if kernel == "linear":
        return x @ x.T  # the textbook kernel on the raw data (HSIC itself uses centred data)
    everything = slice(None)
    return _block(p, everything, everything)


# --------------------------------------------------------------------------- estimators


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """Σ a∘b for same-shaped arrays. einsum's own loop, not a BLAS dot: on a busy machine a
    multithreaded BLAS dot of a few hundred thousand numbers was measured 50× slower."""
    return float(np.einsum("ij,ij->", a, b))


def _biased(elementwise: float, k_rows: np.ndarray, l_rows: np.ndarray) -> float:
    """The biased estimator tr(KHLH)/(n − 1)², from pieces that row blocks can accumulate.

    ``elementwise`` = Σᵢⱼ KᵢⱼLᵢⱼ, ``k_rows`` = K1 and ``l_rows`` = L1 (both (n,)), and
    tr(KHLH) = Σ K∘L − (2/n)(K1)ᵀ(L1) + (1ᵀK1)(1ᵀL1)/n²: no centred n × n copy. Every biased
    value in this module (in memory, blockwise, permuted, per candidate feature set) ends here.
    """
    n = k_rows.shape[0]
    trace = elementwise - 2.0 / n * float(k_rows @ l_rows) + float(k_rows.sum()) * float(l_rows.sum()) / n**2
    return float(trace / (n - 1) ** 2)


def _biased_from_grams(k: np.ndarray, l: np.ndarray, l_rows: np.ndarray | None = None) -> float:
    """:func:`_biased` for two whole Gram matrices (``l_rows`` = L1, if already known)."""
    return _biased(_dot(k, l), k.sum(axis=1), l.sum(axis=1) if l_rows is None else l_rows)


class _UnbiasedK:
    """The parts of Song et al.'s unbiased estimator that depend on K only (reused per permutation)."""

    def __init__(self, k: np.ndarray):
        self.k = k.copy()
        np.fill_diagonal(self.k, 0.0)
        self.rows = self.k.sum(axis=1)
        self.total = self.rows.sum()

    def value(self, l: np.ndarray) -> float:
        n = l.shape[0]
        lt = l.copy()
        np.fill_diagonal(lt, 0.0)
        l_rows = lt.sum(axis=1)
        first = _dot(self.k, lt)
        second = self.total * l_rows.sum() / ((n - 1) * (n - 2))
        third = 2.0 * float(self.rows @ l_rows) / (n - 2)
        return float((first + second - third) / (n * (n - 3)))


def hsic_from_grams(k, l, estimator: str = "biased") -> float:
    """HSIC from two precomputed kernel matrices K and L (both (n, n)).

    ``"biased"``: tr(K H L H) / (n − 1)², with H = I − 11ᵀ/n (Gretton et al. 2005).

    ``"unbiased"`` (Song et al. 2012), with K̃, L̃ the Gram matrices with zeroed diagonals:
    [tr(K̃L̃) + 1ᵀK̃1 · 1ᵀL̃1 / ((n − 1)(n − 2)) − 2/(n − 2) · 1ᵀK̃L̃1] / (n(n − 3)); needs n ≥ 4.

    Example:
        >>> import numpy as np
        >>> k = np.array([[1.0, 0.0], [0.0, 1.0]])
        >>> hsic_from_grams(k, k)  # tr(HKHK) = tr(H) = 1
        1.0
    """
    k = _as_samples(k, "k")
    l = _as_samples(l, "l")
    for name, m in (("k", k), ("l", l)):
        if m.shape[0] != m.shape[1]:
            raise ValueError(f"{name} must be a square (n, n) matrix, got shape {m.shape}")
    if k.shape != l.shape:
        raise ValueError(f"k and l must have the same shape, got {k.shape} and {l.shape}")
    _check_estimator(estimator, k.shape[0])
    if estimator == "biased":
        return _biased_from_grams(k, l)
    return _UnbiasedK(k).value(l)


def hsic(x, y, sigma_x=None, sigma_y=None, estimator: str = "biased", kernel="gaussian") -> float:
    """Empirical HSIC between paired samples ``x`` and ``y``.

    ``estimator="biased"``: tr(K H L H)/(n − 1)² (Gretton et al. 2005), always ≥ 0, with a
    positive bias of order 1/n under independence. ``"unbiased"``: the U-statistic of Song et al.
    (2012), whose expectation is exactly the population HSIC (so 0 under independence); it can be
    negative. Cost O(n²(d_x + d_y)) time, O(n²) memory (see :func:`hsic_rff` and
    :func:`hsic_blockwise` for large n).

    Args:
        x: samples, shape (n,) or (n, d_x).
        y: samples, shape (n,) or (n, d_y).
        sigma_x, sigma_y: Gaussian widths; None = :func:`median_heuristic` of that variable.
        estimator: ``"biased"`` (n ≥ 2) or ``"unbiased"`` (n ≥ 4).
        kernel: a kernel name for both, or a pair ``(kernel_x, kernel_y)``.

    Returns:
        float.

    Raises:
        ValueError: mismatched n, too few samples, NaN/inf, unknown estimator or kernel.

    Example:
        >>> import numpy as np
        >>> x = np.linspace(-1, 1, 200)
        >>> round(hsic(x, x**2), 4), round(hsic(x, np.random.default_rng(0).permutation(x**2)), 4)
        (0.033, 0.0006)
    """
    x, y = _pair(x, y)
    kx, ky = _kernels(kernel)
    _check_estimator(estimator, x.shape[0])
    px = _prepare(x, kx, sigma_x, "sigma_x")
    py = _prepare(y, ky, sigma_y, "sigma_y")
    everything = slice(None)
    k = _block(px, everything, everything)
    l = _block(py, everything, everything)
    if estimator == "biased":
        return _biased_from_grams(k, l)
    return _UnbiasedK(k).value(l)


# --------------------------------------------------------------------------- permutation test


@dataclass(frozen=True)
class HSICTestResult:
    """Result of :func:`hsic_test`.

    Attributes:
        statistic: HSIC of the observed pairing.
        pvalue: (1 + #{null ≥ statistic}) / (1 + n_permutations), in (0, 1].
        null: the statistics of the permuted pairings, shape (n_permutations,).
        estimator: which estimator the statistic uses.
    """

    statistic: float
    pvalue: float
    null: np.ndarray = field(repr=False)
    estimator: str = "biased"

    @property
    def n_permutations(self) -> int:
        return int(self.null.shape[0])


def hsic_test(
    x,
    y,
    n_permutations: int = 1000,
    seed=None,
    sigma_x=None,
    sigma_y=None,
    estimator: str = "biased",
    kernel="gaussian",
) -> HSICTestResult:
    """Permutation test of independence between ``x`` and ``y`` with HSIC as the statistic.

    Shuffling the rows of ``y`` breaks any dependence while keeping both marginals, so the
    statistics of shuffled pairings sample the null distribution. The observed statistic is
    counted among them, so the p-value is never 0 and the test has level α exactly (up to ties)
    when x and y are independent. The Gram matrices are computed once; each permutation costs
    O(n²).

    Args:
        x: samples, shape (n,) or (n, d_x).
        y: samples, shape (n,) or (n, d_y).
        n_permutations: number of random permutations (≥ 1).
        seed: anything ``numpy.random.default_rng`` accepts.
        sigma_x, sigma_y, estimator, kernel: as in :func:`hsic`.

    Returns:
        :class:`HSICTestResult` with ``.statistic``, ``.pvalue`` and ``.null`` (n_permutations,).

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).uniform(-1, 1, 100)
        >>> hsic_test(x, x**2, n_permutations=199, seed=1).pvalue  # the smallest possible
        0.005
        >>> independent = np.random.default_rng(2).uniform(size=100)
        >>> hsic_test(x, independent, n_permutations=199, seed=1).pvalue
        0.4
    """
    x, y = _pair(x, y)
    kx, ky = _kernels(kernel)
    _check_estimator(estimator, x.shape[0])
    n_permutations = _check_positive_int(n_permutations, "n_permutations")
    rng = np.random.default_rng(seed)
    px = _prepare(x, kx, sigma_x, "sigma_x")
    py = _prepare(y, ky, sigma_y, "sigma_y")
    everything = slice(None)
    k = _block(px, everything, everything)
    l = _block(py, everything, everything)
    n = x.shape[0]
    if estimator == "biased":
        k_rows, l_rows = k.sum(axis=1), l.sum(axis=1)
        observed = _biased(_dot(k, l), k_rows, l_rows)
    else:
        uk = _UnbiasedK(k)
        observed = uk.value(l)
    null = np.empty(n_permutations)
    for b in range(n_permutations):
        p = rng.permutation(n)
        lp = l[np.ix_(p, p)]
        null[b] = _biased(_dot(k, lp), k_rows, l_rows[p]) if estimator == "biased" else uk.value(lp)
    # A tiny tolerance keeps exact ties (e.g. a permutation that changes nothing) counted.
    tolerance = 1e-12 * max(abs(observed), 1e-300)
    pvalue = (1 + int(np.sum(null >= observed - tolerance))) / (1 + n_permutations)
    return HSICTestResult(float(observed), float(pvalue), null, estimator)


# --------------------------------------------------------------------------- large n


def hsic_blockwise(x, y, sigma_x=None, sigma_y=None, kernel="gaussian", block_size: int = 2048) -> float:
    """Exact biased HSIC without an (n, n) matrix in memory: O(n · block_size) memory.

    Uses tr(KHLH) = Σᵢⱼ KᵢⱼLᵢⱼ − (2/n)(K1)ᵀ(L1) + (1ᵀK1)(1ᵀL1)/n², accumulated over row blocks.
    Time is still O(n²): this is the reference for :func:`hsic_rff`, not a shortcut. Equals
    :func:`hsic` (biased) up to floating-point rounding.

    Args:
        x, y, sigma_x, sigma_y, kernel: as in :func:`hsic`.
        block_size: rows of K and L computed at a time.

    Returns:
        float.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=300); y = np.sin(3 * x)
        >>> bool(np.isclose(hsic_blockwise(x, y, block_size=64), hsic(x, y)))
        True
    """
    x, y = _pair(x, y)
    kx, ky = _kernels(kernel)
    _check_estimator("biased", x.shape[0])
    block_size = _check_positive_int(block_size, "block_size")
    px = _prepare(x, kx, sigma_x, "sigma_x")
    py = _prepare(y, ky, sigma_y, "sigma_y")
    n = x.shape[0]
    everything = slice(None)
    elementwise = 0.0
    k_rows = np.empty(n)
    l_rows = np.empty(n)
    for start in range(0, n, block_size):
        rows = slice(start, min(start + block_size, n))
        k = _block(px, rows, everything)
        l = _block(py, rows, everything)
        elementwise += _dot(k, l)
        k_rows[rows] = k.sum(axis=1)
        l_rows[rows] = l.sum(axis=1)
    return _biased(elementwise, k_rows, l_rows)


def _low_rank(features_x, features_y, n: int, chunk_size: int) -> float:
    """Biased HSIC of the kernels K = ΦₓΦₓᵀ and L = Φ_yΦ_yᵀ given by explicit features.

    tr(KHLH) = ‖Φₓᵀ H Φ_y‖²_F: the (p, q) cross-covariance of the features, accumulated over row
    chunks (``features_x(rows)`` -> (rows, p), ``features_y(rows)`` -> (rows, q)), so memory is
    O(pq + chunk_size·(p + q)) and no n × n matrix exists. Shared by :func:`hsic_rff` and
    :func:`hsic_nystrom`.
    """
    cross = sum_x = sum_y = None
    for start in range(0, n, chunk_size):
        rows = slice(start, min(start + chunk_size, n))
        fx, fy = features_x(rows), features_y(rows)
        if cross is None:
            cross = np.zeros((fx.shape[1], fy.shape[1]))
            sum_x, sum_y = np.zeros(fx.shape[1]), np.zeros(fy.shape[1])
        cross += fx.T @ fy
        sum_x += fx.sum(axis=0)
        sum_y += fy.sum(axis=0)
    cross -= np.outer(sum_x, sum_y) / n
    return _dot(cross, cross) / (n - 1) ** 2


def _fourier_features(data: np.ndarray, frequencies: np.ndarray) -> np.ndarray:
    projection = data @ frequencies
    scale = 1.0 / math.sqrt(frequencies.shape[1])
    return np.hstack([np.cos(projection), np.sin(projection)]) * scale


def hsic_rff(
    x,
    y,
    n_features: int = 512,
    sigma_x=None,
    sigma_y=None,
    seed=None,
    chunk_size: int = 8192,
) -> float:
    """Biased Gaussian-kernel HSIC for large n by random Fourier features (Rahimi & Recht 2007).

    Each Gaussian kernel is replaced by φ(a)ᵀφ(b) with φ(a) = [cos(Wᵀa), sin(Wᵀa)]/√(D/2), the
    D/2 columns of W drawn from N(0, σ⁻²I), so E[φ(a)ᵀφ(b)] = k(a, b). Then
    tr(K̂HL̂H) = ‖Φ_xᵀ H Φ_y‖²_F: a D × D cross-covariance accumulated over chunks of rows, so
    time is O(n·D·(D + d)) and memory O(D² + chunk_size·D), with no n × n matrix.

    Error: because x and y get independent features, the estimate is unbiased for the exact
    biased HSIC given the data (E over the features of K̂ is K, of L̂ is L, and they are
    independent); its spread shrinks like 1/√D. Relative error also grows as the dependence gets
    weaker (the target shrinks toward 0). Measured for y = x² + noise (n = 4,000, widths by the
    median heuristic, 20 feature seeds): relative standard deviation about 22% at D = 64, 11% at
    D = 256, 8% at D = 512 and 6% at D = 1,024. That is far worse than :func:`hsic_nystrom` on
    low-dimensional data; the chapter (notebooks/hsic.ipynb) compares the two. The tests check the
    unbiasedness (mean over seeds) and a spread under 20% at D = 256.

    Args:
        x: samples, shape (n,) or (n, d_x).
        y: samples, shape (n,) or (n, d_y).
        n_features: D, an even number of features per variable (D/2 frequencies).
        sigma_x, sigma_y: Gaussian widths; None = :func:`median_heuristic` (on ≤ 1,000 rows).
        seed: anything ``numpy.random.default_rng`` accepts (draws the frequencies).
        chunk_size: rows processed at a time.

    Returns:
        float, an estimate of ``hsic(x, y, estimator="biased")``.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=2000); y = x**2
        >>> exact, approx = hsic(x, y), hsic_rff(x, y, n_features=1024, seed=0)
        >>> bool(abs(approx - exact) / exact < 0.1)
        True
    """
    x, y = _pair(x, y)
    _check_estimator("biased", x.shape[0])
    n_features = _check_positive_int(n_features, "n_features", 2)
    if n_features % 2:
        raise ValueError(f"n_features must be even (cos and sin per frequency), got {n_features}")
    chunk_size = _check_positive_int(chunk_size, "chunk_size")
    px = _prepare(x, "gaussian", sigma_x, "sigma_x")
    py = _prepare(y, "gaussian", sigma_y, "sigma_y")
    rng = np.random.default_rng(seed)
    half = n_features // 2
    wx = rng.normal(size=(x.shape[1], half)) / px.sigma
    wy = rng.normal(size=(y.shape[1], half)) / py.sigma
    return _low_rank(lambda rows: _fourier_features(px.data[rows], wx),
                     lambda rows: _fourier_features(py.data[rows], wy), x.shape[0], chunk_size)


def _nystrom_map(p: _Prepared, landmarks: np.ndarray, rcond: float) -> np.ndarray:
    """The (m, r) matrix T with K_nm T (K_nm T)ᵀ = K_nm K_mm⁺ K_mn (eigenvalues ≤ rcond·max dropped)."""
    values, vectors = np.linalg.eigh(_block(p, landmarks, landmarks))
    keep = values > rcond * values.max()
    return vectors[:, keep] / np.sqrt(values[keep])


def hsic_nystrom(
    x,
    y,
    n_landmarks: int = 256,
    sigma_x=None,
    sigma_y=None,
    kernel="gaussian",
    seed=None,
    chunk_size: int = 8192,
    rcond: float = 1e-10,
) -> float:
    """Biased HSIC for large n by the Nyström approximation (Williams & Seeger 2001).

    m rows drawn at random (the same rows for x and y) serve as landmarks, and each Gram matrix is
    replaced by K̂ = K_nm K_mm⁺ K_mn = ΦΦᵀ with Φ = K_nm K_mm^(−1/2) (directions whose eigenvalue is
    below ``rcond`` times the largest are dropped). Then tr(K̂HL̂H) = ‖Φ_xᵀ H Φ_y‖²_F, accumulated
    over chunks of rows: O(n·m·(m + d)) time, O(m² + chunk_size·m) memory, no n × n matrix.

    Error: unlike :func:`hsic_rff` this is biased (K̂ ⪯ K), but for smooth kernels on
    low-dimensional data the spectrum of K decays so fast that a few hundred landmarks capture it
    almost exactly. Measured for y = x² + noise (n = 4,000, median-heuristic widths, 10 landmark
    seeds): largest relative error 1.1% at m = 32, 0.28% at m = 128 and 0.025% at m = 256; for a
    two-dimensional pair, 0.15% at m = 256. Without the noise (y = x², n = 2,000) it was up to
    0.34% at m = 256 and 0.01% at m = 512: points in the thin tail, far from every landmark, are
    the ones represented worst. The chapter (notebooks/hsic.ipynb) measures it
    at n = 10,000 and ``benchmarks/bench_hsic.py`` at n = 100,000; the tests require under 1% at
    m = 256 for one- and two-dimensional inputs. In high dimension the spectrum decays slowly and more
    landmarks are needed: check against :func:`hsic_blockwise` on a subsample.

    Args:
        x, y, sigma_x, sigma_y, kernel: as in :func:`hsic` (``"delta"`` works too: its rank is
            the number of distinct values).
        n_landmarks: m, the number of landmark rows (at most n).
        seed: anything ``numpy.random.default_rng`` accepts (draws the landmarks).
        chunk_size: rows processed at a time.
        rcond: relative eigenvalue cut-off for K_mm's pseudo-inverse.

    Returns:
        float, an estimate of ``hsic(x, y, estimator="biased")``.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=2000); y = x**2
        >>> exact, approx = hsic(x, y), hsic_nystrom(x, y, n_landmarks=128, seed=0)
        >>> bool(abs(approx - exact) / exact < 0.01)
        True
    """
    x, y = _pair(x, y)
    kx, ky = _kernels(kernel)
    _check_estimator("biased", x.shape[0])
    n = x.shape[0]
    n_landmarks = _check_positive_int(n_landmarks, "n_landmarks")
    if n_landmarks > n:
        raise ValueError(f"n_landmarks must be at most the number of samples ({n}), got {n_landmarks}")
    chunk_size = _check_positive_int(chunk_size, "chunk_size")
    if isinstance(rcond, bool) or not isinstance(rcond, numbers.Real):
        raise TypeError(f"rcond must be a real number in [0, 1), got {type(rcond).__name__}")
    if not 0 <= rcond < 1:
        raise ValueError(f"rcond must be a number in [0, 1), got {rcond!r}")
    px = _prepare(x, kx, sigma_x, "sigma_x")
    py = _prepare(y, ky, sigma_y, "sigma_y")
    landmarks = np.sort(np.random.default_rng(seed).choice(n, size=n_landmarks, replace=False))
    tx = _nystrom_map(px, landmarks, rcond)
    ty = _nystrom_map(py, landmarks, rcond)
    return _low_rank(lambda rows: _block(px, rows, landmarks) @ tx,
                     lambda rows: _block(py, rows, landmarks) @ ty, n, chunk_size)


# --------------------------------------------------------------------------- feature selection


def hsic_forward_selection(x, y, n_select: int, sigma=None, kernel_y: str = "delta", normalize: bool = False):
    """Greedy forward feature selection by HSIC with a label (FOHSIC, cf. Song et al. 2012).

    Step t adds the feature j that maximises the biased HSIC between the columns S ∪ {j} of x
    (Gaussian kernel) and y (kernel ``kernel_y``). The squared distances of the selected set S
    are kept, so each candidate costs O(n²): one n × n kernel from them plus column j's.

    The width matters as much as the features. With ``sigma=None`` (the default) every candidate
    set gets its own width, the median heuristic of x[:, S ∪ {j}]: the kernel compares points at the
    scale of the distances in the pixels it actually looks at, exactly as :func:`hsic` would on
    those columns. A fixed ``sigma`` (say the median distance over all d features) is the same for
    every set; while S is small the distances are then much shorter than σ, the kernel is nearly
    flat, and HSIC behaves like a low-order (nearly linear) statistic.

    Args:
        x: features, shape (n, d).
        y: targets, shape (n,) or (n, d_y); class labels with the default ``"delta"`` kernel.
        n_select: how many features to pick, 1 ≤ n_select ≤ d.
        sigma: None = the median heuristic of each candidate set (its first 1,000 rows or the same
            seeded subset :func:`median_heuristic` uses); or one positive width for every set.
        kernel_y: ``"delta"``, ``"linear"`` or ``"gaussian"`` (then σ_y by the median heuristic).

    Returns:
        (indices, scores): int array (n_select,) in the order picked, and float array
        (n_select,) with HSIC(x[:, indices[:t+1]], y) after each step.

    Raises:
        TypeError: non-numeric x or y, n_select not an int, sigma not a number, kernel_y not a str.
        ValueError: mismatched n, n_select outside [1, d], sigma ≤ 0, unknown kernel_y.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(200, 5)); y = (x[:, 3] > 0).astype(int)
        >>> int(hsic_forward_selection(x, y, 1)[0][0])
        3
    """
    x = _as_samples(x, "x")
    y = _as_samples(y, "y")
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"x and y must have the same number of samples (rows), got {x.shape[0]} and {y.shape[0]}"
        )
    n, d = x.shape
    _check_estimator("biased", n)
    n_select = _check_positive_int(n_select, "n_select")
    if n_select > d:
        raise ValueError(f"n_select must be at most the number of features ({d}), got {n_select}")
    _check_kernel_name(kernel_y, "kernel_y")
    sigma = _check_sigma(sigma, "gaussian", "sigma")
    everything = slice(None)
    l = _block(_prepare(y, kernel_y, None, "sigma_y"), everything, everything)
    l_rows = l.sum(axis=1)
    l_self = _biased_from_grams(l, l, l_rows)
    median_rows = _median_rows(n)
    upper = np.triu_indices(np.arange(n)[median_rows].size, k=1)
    selected_sq = np.zeros((n, n))  # Σ over the selected features of (x_ik − x_jk)²
    chosen: list[int] = []
    scores: list[float] = []
    for _ in range(n_select):
        best, best_score, best_sq = -1, -np.inf, None
        for j in range(d):
            if j in chosen:
                continue
            column = x[:, j]
            sq = selected_sq + (column[:, None] - column[None, :]) ** 2
            width = sigma if sigma is not None else _median_width(sq[median_rows][:, median_rows][upper])
            candidate = np.exp(sq * (-0.5 / width**2))
            score = _biased_from_grams(candidate, l, l_rows)
            if normalize:
                score /= math.sqrt(max(_biased_from_grams(candidate, candidate), 1e-300) * l_self)
            if score > best_score:
                best, best_score, best_sq = j, score, sq
        chosen.append(best)
        scores.append(best_score)
        selected_sq = best_sq
    return np.array(chosen, dtype=np.int64), np.array(scores)


# --------------------------------------------------------------------------- differentiable


def hsic_tensor(x, y, sigma_x=None, sigma_y=None, kernel="gaussian", normalize: bool = False):
    """Biased HSIC, tr(KHLH)/(n − 1)², written with ``keras.ops``: differentiable, for training.

    The same statistic as ``hsic(x, y, estimator="biased")``, but on backend tensors (TensorFlow,
    JAX, ...) inside a loss, so that gradients flow into ``x`` and ``y``: the building block of
    the HSIC bottleneck (Ma, Lewis & Kleijn 2020), which trains a layer's output Z to have high
    HSIC with the labels and low HSIC with the input. Cost O(n²(d_x + d_y)) per call: meant for
    mini-batches. Imports Keras when called.

    Args:
        x: tensor or array, shape (n,) or (n, d_x), floating.
        y: tensor or array, shape (n,) or (n, d_y), floating (class labels: pass them one-hot with
            the ``"linear"`` kernel, which is then the delta kernel).
        sigma_x, sigma_y: Gaussian widths, positive numbers or scalar tensors (a width computed
            from the batch should be wrapped in ``keras.ops.stop_gradient``). Required for the
            Gaussian kernel, None for the linear one. There is no median default here: a median
            is not differentiable, and the width is a modelling choice the caller should see.
        kernel: ``"gaussian"`` or ``"linear"`` for both, or a pair ``(kernel_x, kernel_y)``.
        normalize: return HSIC(x, y) / √(HSIC(x, x) · HSIC(y, y)) instead (the normalised HSIC of
            the HSIC bottleneck; centred kernel alignment), which lies in [0, 1] and does not grow
            by merely rescaling the kernels; each Gram matrix is still computed once.

    Returns:
        a scalar tensor (the dtype of ``x``).

    Raises:
        TypeError: a kernel that is not a string or pair, a width that is not a number or tensor,
            ``normalize`` not a bool.
        ValueError: unknown kernel (``"delta"`` included), a missing/extra/non-positive width,
            rank other than 1 or 2, different numbers of rows, fewer than 2 rows.

    Example:
        >>> import numpy as np
        >>> x = np.linspace(-1, 1, 50); y = x**2
        >>> a = float(hsic_tensor(x, y, sigma_x=0.5, sigma_y=0.3))
        >>> bool(np.isclose(a, hsic(x, y, sigma_x=0.5, sigma_y=0.3), rtol=1e-5))
        True
    """
    from keras import ops

    if not isinstance(normalize, (bool, np.bool_)):
        raise TypeError(f"normalize must be a bool, got {type(normalize).__name__}")
    kinds = _kernels(kernel)
    for kind in kinds:
        if kind == "delta":
            raise ValueError('hsic_tensor has no "delta" kernel: pass labels one-hot with the "linear" kernel')
    tensors = []
    for name, value, kind, sigma in (("x", x, kinds[0], sigma_x), ("y", y, kinds[1], sigma_y)):
        if isinstance(value, (str, bytes)) or value is None:
            raise TypeError(f"{name} must be a tensor or array of numbers, got {type(value).__name__}")
        t = ops.convert_to_tensor(value)
        if len(t.shape) == 1:
            t = ops.reshape(t, (-1, 1))
        if len(t.shape) != 2:
            raise ValueError(f"{name} must have shape (n,) or (n, d), got shape {tuple(t.shape)}")
        tensors.append(t)
        width_name = f"sigma_{name}"
        if kind == "linear":
            if sigma is not None:
                raise ValueError(f"{width_name} applies to the gaussian kernel only, but the kernel is 'linear'")
        elif sigma is None:
            raise ValueError(f"{width_name} is required for the gaussian kernel (a positive number or scalar tensor)")
        elif isinstance(sigma, (bool, str, bytes)):
            raise TypeError(f"{width_name} must be a positive number or scalar tensor, got {type(sigma).__name__}")
        elif isinstance(sigma, numbers.Real) and not (math.isfinite(sigma) and sigma > 0):
            raise ValueError(f"{width_name} must be a positive finite number, got {sigma}")
        elif not isinstance(sigma, numbers.Real) and not hasattr(sigma, "shape"):
            raise TypeError(f"{width_name} must be a positive number or scalar tensor, got {type(sigma).__name__}")
    tx, ty = tensors
    n_x, n_y = tx.shape[0], ty.shape[0]
    if n_x is not None and n_y is not None and n_x != n_y:
        raise ValueError(f"x and y must have the same number of samples (rows), got {n_x} and {n_y}")
    if n_x is not None and n_x < 2:
        raise ValueError(f"the biased estimator needs at least 2 samples, got n={n_x}")
    ty = ops.cast(ty, tx.dtype)

    def gram(t, kind, sigma):
        inner = ops.matmul(t, ops.transpose(t))
        if kind == "linear":
            return inner
        sq_norms = ops.sum(t * t, axis=1)
        sq = ops.maximum(sq_norms[:, None] + sq_norms[None, :] - 2.0 * inner, 0.0)
        sigma = ops.cast(sigma, t.dtype)
        return ops.exp(-sq / (2.0 * sigma * sigma))

    # Centre the inputs first (distances are unchanged; the linear kernel's HSIC is too), which
    # keeps ‖a‖² + ‖b‖² − 2aᵀb accurate for data far from the origin.
    tx = tx - ops.mean(tx, axis=0, keepdims=True)
    ty = ty - ops.mean(ty, axis=0, keepdims=True)
    k = gram(tx, kinds[0], sigma_x)
    l = gram(ty, kinds[1], sigma_y)
    n = ops.cast(ops.shape(k)[0], k.dtype)

    def centred(m):
        return m - ops.mean(m, axis=0, keepdims=True) - ops.mean(m, axis=1, keepdims=True) + ops.mean(m)

    k_centred = centred(k)
    value = ops.sum(k_centred * l) / ((n - 1.0) ** 2)
    if not normalize:
        return value
    # Σ (HKH)∘(HLH) = tr(KHLH) too; the self-terms use the centred matrices on both sides.
    l_centred = centred(l)
    self_k = ops.sum(k_centred * k_centred) / ((n - 1.0) ** 2)
    self_l = ops.sum(l_centred * l_centred) / ((n - 1.0) ** 2)
    return value / ops.sqrt(ops.maximum(self_k * self_l, 1e-30))
