"""Tests of kbook.hsic against formulas written out independently here (double loops, an explicit
centring matrix, a brute-force U-statistic over index tuples, scipy's pdist, numpy's cov)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.distance import pdist

from kbook import hsic as H

# --------------------------------------------------------------------------- references


def loop_gram(x, kind, sigma=None):
    """Kernel matrix by a double loop over samples."""
    x = np.asarray(x, dtype=float).reshape(len(x), -1)
    n = len(x)
    k = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            if kind == "gaussian":
                k[i, j] = math.exp(-float(np.sum((x[i] - x[j]) ** 2)) / (2 * sigma**2))
            elif kind == "linear":
                k[i, j] = float(np.dot(x[i], x[j]))
            else:
                k[i, j] = float(np.array_equal(x[i], x[j]))
    return k


def explicit_biased(k, l):
    """tr(K H L H)/(n−1)² with the centring matrix H built explicitly."""
    n = len(k)
    h = np.eye(n) - np.ones((n, n)) / n
    return float(np.trace(k @ h @ l @ h)) / (n - 1) ** 2


def brute_unbiased(k, l):
    """The HSIC U-statistic: E[k_ij l_ij] + E[k_ij] E[l_qr] − 2 E[k_ij l_iq], each expectation an
    average over distinct index tuples (enumerated)."""
    n = len(k)
    pairs = list(itertools.permutations(range(n), 2))
    triples = list(itertools.permutations(range(n), 3))
    quads = list(itertools.permutations(range(n), 4))
    a = np.mean([k[i, j] * l[i, j] for i, j in pairs])
    b = np.mean([k[i, j] * l[q, r] for i, j, q, r in quads])
    c = np.mean([k[i, j] * l[i, q] for i, j, q in triples])
    return float(a + b - 2 * c)


def median_distance(x):
    x = np.asarray(x, dtype=float).reshape(len(x), -1)
    return float(np.median(pdist(x)))


# --------------------------------------------------------------------------- estimators


@pytest.mark.parametrize("dx,dy", [(1, 1), (2, 3)])
def test_biased_gaussian_matches_explicit_centring(dx, dy):
    rng = np.random.default_rng(dx * 10 + dy)
    x = rng.normal(size=(15, dx))
    y = np.tanh(x[:, :1]) + rng.normal(size=(15, dy))
    sx, sy = median_distance(x), median_distance(y)
    expected = explicit_biased(loop_gram(x, "gaussian", sx), loop_gram(y, "gaussian", sy))
    assert H.hsic(x, y) == pytest.approx(expected, rel=1e-10)
    assert H.hsic(x, y, sigma_x=0.7, sigma_y=2.0) == pytest.approx(
        explicit_biased(loop_gram(x, "gaussian", 0.7), loop_gram(y, "gaussian", 2.0)), rel=1e-10
    )


@pytest.mark.parametrize("kernel", ["gaussian", "linear", ("gaussian", "delta")])
def test_unbiased_matches_brute_force_u_statistic(kernel):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 2))
    y = rng.integers(0, 3, size=8) if kernel == ("gaussian", "delta") else x[:, 0] ** 2 + rng.normal(size=8)
    kx, ky = (kernel, kernel) if isinstance(kernel, str) else kernel
    k = loop_gram(x, kx, 1.3 if kx == "gaussian" else None)
    l = loop_gram(y, ky, 0.8 if ky == "gaussian" else None)
    sx = 1.3 if kx == "gaussian" else None
    sy = 0.8 if ky == "gaussian" else None
    got = H.hsic(x, y, sigma_x=sx, sigma_y=sy, estimator="unbiased", kernel=kernel)
    assert got == pytest.approx(brute_unbiased(k, l), rel=1e-9, abs=1e-12)
    assert H.hsic_from_grams(k, l, "unbiased") == pytest.approx(brute_unbiased(k, l), rel=1e-9, abs=1e-12)


def test_linear_kernel_is_squared_cross_covariance():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(40, 3)) + 100.0  # far from the origin on purpose
    y = x[:, :2] @ rng.normal(size=(2, 2)) + rng.normal(size=(40, 2))
    cross = np.cov(np.hstack([x, y]), rowvar=False)[:3, 3:]
    assert H.hsic(x, y, kernel="linear") == pytest.approx(float(np.sum(cross**2)), rel=1e-9)


def test_delta_kernel_equals_linear_kernel_on_one_hot():
    rng = np.random.default_rng(3)
    x = rng.normal(size=30)
    labels = rng.integers(0, 4, size=30)
    one_hot = np.eye(4)[labels]
    for estimator in ("biased", "unbiased"):
        assert H.hsic(x, labels, kernel=("gaussian", "delta"), estimator=estimator) == pytest.approx(
            H.hsic(x, one_hot, kernel=("gaussian", "linear"), estimator=estimator), rel=1e-10
        )


def test_gram_matrix_and_hsic_from_grams_match_loops():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(9, 2))
    np.testing.assert_allclose(H.gram_matrix(x, sigma=0.5), loop_gram(x, "gaussian", 0.5), rtol=1e-12)
    np.testing.assert_allclose(H.gram_matrix(x, kernel="linear"), loop_gram(x, "linear"), rtol=1e-12)
    labels = np.array([1, 2, 1, 1, 3, 2, 2, 1, 3])
    np.testing.assert_array_equal(H.gram_matrix(labels, kernel="delta"), loop_gram(labels, "delta"))
    k, l = loop_gram(x, "gaussian", 1.0), loop_gram(x[:, :1] ** 2, "gaussian", 1.0)
    assert H.hsic_from_grams(k, l) == pytest.approx(explicit_biased(k, l), rel=1e-12)


def test_median_heuristic_matches_pdist():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(51, 3))
    assert H.median_heuristic(x) == pytest.approx(median_distance(x), rel=1e-10)
    # many tied points: falls back to the positive distances
    tied = np.r_[np.zeros(20), [1.0, 2.0, 4.0]]
    d = pdist(tied.reshape(-1, 1))
    assert H.median_heuristic(tied) == pytest.approx(float(np.median(d[d > 0])))
    assert H.median_heuristic(np.ones(5)) == 1.0


# --------------------------------------------------------------------------- invariances


samples = st.integers(min_value=5, max_value=25).flatmap(
    lambda n: st.tuples(
        arrays(np.float64, (n, 2), elements=st.floats(-5, 5, allow_subnormal=False)),
        arrays(np.float64, (n,), elements=st.floats(-5, 5, allow_subnormal=False)),
        st.randoms(use_true_random=False),
    )
)


@settings(max_examples=30, deadline=None)
@given(samples, st.sampled_from(H.ESTIMATORS))
def test_invariances(data, estimator):
    x, y, random = data
    n = len(x)
    sx, sy = 1.1, 0.9  # fixed widths: the heuristic itself is checked separately
    base = H.hsic(x, y, sx, sy, estimator=estimator)
    perm = np.array(random.sample(range(n), n))
    assert H.hsic(x[perm], y[perm], sx, sy, estimator=estimator) == pytest.approx(base, rel=1e-7, abs=1e-10)
    shift = np.array([random.uniform(-50, 50), random.uniform(-50, 50)])
    assert H.hsic(x + shift, y - 7.0, sx, sy, estimator=estimator) == pytest.approx(base, rel=1e-6, abs=1e-9)
    angle = random.uniform(0, 2 * np.pi)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    assert H.hsic(x @ rotation, y, sx, sy, estimator=estimator) == pytest.approx(base, rel=1e-6, abs=1e-9)
    assert H.hsic(y, x, sy, sx, estimator=estimator) == pytest.approx(base, rel=1e-9, abs=1e-12)
    assert H.hsic(3 * x, y, 3 * sx, sy, estimator=estimator) == pytest.approx(base, rel=1e-6, abs=1e-9)
    if estimator == "biased":
        assert base >= -1e-12


@settings(max_examples=20, deadline=None)
@given(samples)
def test_median_heuristic_makes_hsic_scale_invariant(data):
    x, y, _ = data
    if H.median_heuristic(x) == 1.0 or H.median_heuristic(y) == 1.0:
        return  # degenerate (all equal) samples: the fallback width is not scale-equivariant
    assert H.hsic(2.5 * x, y) == pytest.approx(H.hsic(x, y), rel=1e-6, abs=1e-10)


# --------------------------------------------------------------------------- statistics


def test_unbiased_has_zero_mean_under_independence_and_biased_does_not():
    rng = np.random.default_rng(6)
    unbiased, biased = [], []
    for _ in range(300):
        x, y = rng.normal(size=12), rng.uniform(size=12)
        unbiased.append(H.hsic(x, y, estimator="unbiased"))
        biased.append(H.hsic(x, y))
    se_u = np.std(unbiased) / math.sqrt(len(unbiased))
    se_b = np.std(biased) / math.sqrt(len(biased))
    assert abs(np.mean(unbiased)) < 4 * se_u
    assert np.mean(biased) > 10 * se_b  # the O(1/n) bias is real and visible


def test_unbiased_matches_population_value_under_dependence():
    # Linear kernel: population HSIC = ‖Cov(X, Y)‖²_F; here Cov = 1 exactly.
    rng = np.random.default_rng(7)
    values = []
    for _ in range(400):
        x = rng.normal(size=10)
        values.append(H.hsic(x, x + rng.normal(size=10), kernel="linear", estimator="unbiased"))
    se = np.std(values) / math.sqrt(len(values))
    assert abs(np.mean(values) - 1.0) < 4 * se


@pytest.mark.parametrize("estimator", H.ESTIMATORS)
def test_permutation_test_against_the_exact_permutation_distribution(estimator):
    """n = 7 has 5,040 pairings: enumerate them all with the explicit formulas (no code shared with
    hsic_test, no knowledge of its random-number order) and check (a) every shuffled statistic is
    one of them, (b) the shuffles sample them uniformly (mean and a tail frequency within 4
    standard errors), (c) the p-value is within 4 binomial standard errors of the exact
    permutation p-value, and it follows (1 + #)/(1 + B) from the null it reports."""
    rng = np.random.default_rng(8)
    x = rng.normal(size=7)
    y = x**2 + 0.3 * rng.normal(size=7)
    sx, sy = 0.9, 0.6
    k, l = loop_gram(x, "gaussian", sx), loop_gram(y, "gaussian", sy)
    reference = explicit_biased if estimator == "biased" else brute_unbiased
    observed = reference(k, l)
    exact = np.array([reference(k, l[np.ix_(p, p)]) for p in map(list, itertools.permutations(range(7)))])
    exact_p = float(np.mean(exact >= observed - 1e-9 * abs(observed)))
    b = 4000
    result = H.hsic_test(x, y, n_permutations=b, seed=11, sigma_x=sx, sigma_y=sy, estimator=estimator)
    assert result.statistic == pytest.approx(observed, rel=1e-9, abs=1e-13)
    assert result.n_permutations == b
    support = np.sort(exact)
    nearest = support[np.clip(np.searchsorted(support, result.null), 0, len(support) - 1)]
    below = support[np.clip(np.searchsorted(support, result.null) - 1, 0, len(support) - 1)]
    gap = np.minimum(np.abs(nearest - result.null), np.abs(below - result.null))
    assert gap.max() < 1e-9 * np.abs(support).max()
    se_mean = exact.std() / math.sqrt(b)
    assert abs(result.null.mean() - exact.mean()) < 4 * se_mean
    tail = np.quantile(exact, 0.8)
    share, expected_share = np.mean(result.null > tail), np.mean(exact > tail)
    assert abs(share - expected_share) < 4 * math.sqrt(expected_share * (1 - expected_share) / b)
    assert abs(result.pvalue - exact_p) < 4 * math.sqrt(max(exact_p * (1 - exact_p), 1e-4) / b) + 1 / b
    count = int(np.sum(result.null >= observed - 1e-9 * abs(observed)))
    assert result.pvalue == pytest.approx((1 + count) / (1 + b))


def test_pvalue_never_zero_and_detects_nonlinear_dependence():
    x = np.linspace(-1, 1, 60)
    result = H.hsic_test(x, x**2, n_permutations=99, seed=0)
    assert result.pvalue == pytest.approx(0.01)  # 1/(1 + 99): the observed one counts
    assert abs(np.corrcoef(x, x**2)[0, 1]) < 1e-10  # correlation sees nothing


def test_false_positive_rate_is_near_the_level():
    rng = np.random.default_rng(9)
    pvalues = np.array(
        [H.hsic_test(rng.normal(size=25), rng.normal(size=25), n_permutations=99, seed=rng).pvalue
         for _ in range(200)]
    )
    # Binomial(200, 0.05): mean 10, sd 3.1; and Binomial(200, 0.2): mean 40, sd 5.7
    assert 2 <= np.sum(pvalues <= 0.05) <= 20
    assert 22 <= np.sum(pvalues <= 0.2) <= 58
    assert pvalues.min() > 0


def test_seed_reproducible():
    rng = np.random.default_rng(10)
    x, y = rng.normal(size=30), rng.normal(size=30)
    a = H.hsic_test(x, y, n_permutations=50, seed=3)
    b = H.hsic_test(x, y, n_permutations=50, seed=3)
    assert a.pvalue == b.pvalue and np.array_equal(a.null, b.null)


# --------------------------------------------------------------------------- large n


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 70), st.sampled_from(["gaussian", "linear", ("gaussian", "delta")]))
def test_blockwise_is_exact(block_size, kernel):
    rng = np.random.default_rng(block_size)
    x = rng.normal(size=(67, 2))
    y = rng.integers(0, 3, 67) if kernel == ("gaussian", "delta") else np.sin(x[:, 0]) + rng.normal(size=67)
    assert H.hsic_blockwise(x, y, kernel=kernel, block_size=block_size) == pytest.approx(
        H.hsic(x, y, kernel=kernel), rel=1e-9
    )


def test_rff_is_unbiased_with_documented_spread():
    rng = np.random.default_rng(12)
    x = rng.normal(size=600)
    y = x**2 + 0.5 * rng.normal(size=600)
    exact = H.hsic(x, y)
    ratios = np.array([H.hsic_rff(x, y, n_features=256, seed=s) / exact for s in range(30)])
    assert abs(ratios.mean() - 1) < 4 * ratios.std() / math.sqrt(len(ratios))
    assert abs(ratios.mean() - 1) < 0.06
    assert ratios.std() < 0.2


@pytest.mark.parametrize("dims", [1, 2])
def test_nystrom_within_documented_error(dims):
    rng = np.random.default_rng(13)
    x = rng.normal(size=(1000, dims))
    y = np.sum(x**2, axis=1) + 0.5 * rng.normal(size=1000)
    exact = H.hsic(x, y)
    for seed in range(2):
        assert H.hsic_nystrom(x, y, n_landmarks=256, seed=seed) == pytest.approx(exact, rel=0.01)


def test_nystrom_with_every_point_as_landmark_is_exact():
    rng = np.random.default_rng(14)
    x = rng.normal(size=(60, 2))
    y = rng.integers(0, 3, 60)
    exact = H.hsic(x, y, kernel=("linear", "delta"))
    assert H.hsic_nystrom(x, y, n_landmarks=60, kernel=("linear", "delta")) == pytest.approx(exact, rel=1e-8)
    exact = H.hsic(x, y, kernel=("gaussian", "delta"), sigma_x=3.0)
    got = H.hsic_nystrom(x, y, n_landmarks=60, kernel=("gaussian", "delta"), sigma_x=3.0, rcond=1e-14)
    assert got == pytest.approx(exact, rel=1e-6)


# --------------------------------------------------------------------------- feature selection


@pytest.mark.parametrize("normalize", [False, True])
def test_forward_selection_with_per_set_width_matches_brute_force_greedy(normalize):
    """Default width: the median heuristic of the candidate columns, i.e. what hsic() does on them."""
    rng = np.random.default_rng(16)
    x = rng.normal(size=(40, 6)) * np.array([1.0, 3.0, 0.5, 1.0, 2.0, 1.0])
    labels = (x[:, 1] + x[:, 4] ** 2 > 1.0).astype(int) + (x[:, 2] > 0.3)
    chosen, scores = H.hsic_forward_selection(x, labels, 3, normalize=normalize)
    delta = ("gaussian", "delta")
    label_self = H.hsic(labels.astype(float), labels, kernel="delta")
    expected, expected_scores = [], []
    for _ in range(3):
        candidates = {}
        for j in (j for j in range(6) if j not in expected):
            columns = x[:, expected + [j]]
            sigma = median_distance(columns)
            value = H.hsic(columns, labels, sigma_x=sigma, kernel=delta)
            if normalize:
                value /= math.sqrt(H.hsic(columns, columns, sigma_x=sigma, sigma_y=sigma) * label_self)
            candidates[j] = value
        best = max(candidates, key=candidates.get)
        expected.append(best)
        expected_scores.append(candidates[best])
    assert list(chosen) == expected
    np.testing.assert_allclose(scores, expected_scores, rtol=1e-9)


def test_forward_selection_constant_column_keeps_the_score():
    """With a width per candidate set, adding a constant column changes no distance, hence no
    width and no kernel: the score stays exactly that of the set before (the trap the chapter
    measures on the digits, where such a column can beat every informative one)."""
    rng = np.random.default_rng(17)
    signal = rng.normal(size=80)
    labels = (signal > 0).astype(int)
    x = np.column_stack([np.zeros(80), signal])
    chosen, scores = H.hsic_forward_selection(x, labels, 2)
    assert list(chosen) == [1, 0]
    assert scores[1] == pytest.approx(scores[0], rel=1e-12)
    assert scores[0] == pytest.approx(H.hsic(signal, labels, kernel=("gaussian", "delta")), rel=1e-9)


def test_forward_selection_matches_brute_force_greedy():
    rng = np.random.default_rng(15)
    x = rng.normal(size=(50, 5))
    labels = (x[:, 1] + 0.5 * x[:, 4] ** 2 > 0.5).astype(int) + (x[:, 2] > 1)
    sigma = 2.0
    chosen, scores = H.hsic_forward_selection(x, labels, 3, sigma=sigma)
    expected, expected_scores = [], []
    for _ in range(3):
        candidates = {
            j: H.hsic(x[:, expected + [j]], labels, sigma_x=sigma, kernel=("gaussian", "delta"))
            for j in range(5) if j not in expected
        }
        best = max(candidates, key=candidates.get)
        expected.append(best)
        expected_scores.append(candidates[best])
    assert list(chosen) == expected
    np.testing.assert_allclose(scores, expected_scores, rtol=1e-9)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: H.hsic(np.ones(5), np.ones(6)), ValueError, "same number of samples"),
        (lambda: H.hsic([1.0], [2.0]), ValueError, "at least 2"),
        (lambda: H.hsic(np.arange(3.0), np.arange(3.0), estimator="unbiased"), ValueError, "at least 4"),
        (lambda: H.hsic([1.0, np.nan, 2.0], [1.0, 2.0, 3.0]), ValueError, "x contains NaN"),
        (lambda: H.hsic([1.0, 2.0, 3.0], [1.0, np.inf, 3.0]), ValueError, "y contains NaN"),
        (lambda: H.hsic(np.ones((3, 2, 2)), np.ones(3)), ValueError, "shape (n,) or (n, d)"),
        (lambda: H.hsic(np.ones((0, 2)), np.ones((0, 2))), ValueError, "non-empty"),
        (lambda: H.hsic("abc", [1, 2, 3]), TypeError, "x must be an array"),
        (lambda: H.hsic([1, 2, 3], [1j, 2, 3]), TypeError, "real"),
        (lambda: H.hsic([1, 2, 3], [1, 2, 3], estimator="v"), ValueError, "estimator"),
        (lambda: H.hsic([1, 2, 3], [1, 2, 3], kernel="rbf"), ValueError, "kernel"),
        (lambda: H.hsic([1, 2, 3], [1, 2, 3], kernel=3), TypeError, "kernel"),
        (lambda: H.hsic([1, 2, 3], [1, 2, 3], sigma_x=0.0), ValueError, "sigma_x"),
        (lambda: H.hsic([1, 2, 3], [1, 2, 3], sigma_y="1"), TypeError, "sigma_y"),
        (lambda: H.hsic([1, 2, 3], [1, 2, 3], sigma_x=1.0, kernel="linear"), ValueError, "sigma_x"),
        (lambda: H.hsic_test([1, 2, 3], [1, 2, 3], n_permutations=0), ValueError, "n_permutations"),
        (lambda: H.hsic_test([1, 2, 3], [1, 2, 3], n_permutations=2.5), TypeError, "n_permutations"),
        (lambda: H.hsic_rff([1, 2, 3], [1, 2, 3], n_features=7), ValueError, "even"),
        (lambda: H.hsic_nystrom([1, 2, 3], [1, 2, 3], n_landmarks=4), ValueError, "n_landmarks"),
        (lambda: H.hsic_nystrom([1, 2, 3], [1, 2, 3], n_landmarks=2, rcond=2.0), ValueError, "rcond"),
        (lambda: H.hsic_blockwise([1, 2, 3], [1, 2, 3], block_size=0), ValueError, "block_size"),
        (lambda: H.hsic_forward_selection(np.ones((5, 2)), np.ones(5), 3), ValueError, "n_select"),
        (lambda: H.hsic_forward_selection(np.ones((5, 2)), np.ones(4), 1), ValueError, "same number"),
        (lambda: H.hsic_from_grams(np.ones((3, 2)), np.ones((3, 2))), ValueError, "square"),
        (lambda: H.median_heuristic([1.0, 2.0], max_samples=1), ValueError, "max_samples"),
        (lambda: H.hsic([1, 2, 3], [1, 2, 3], estimator=1), TypeError, "estimator"),
        (lambda: H.hsic([1, 2, 3], [1, 2, 3], kernel=("gaussian", 2)), TypeError, "kernel"),
        (lambda: H.gram_matrix([1, 2, 3], kernel=None), TypeError, "kernel"),
        (lambda: H.gram_matrix([1, 2, 3], kernel="rbf"), ValueError, "kernel"),
        (lambda: H.hsic_forward_selection(np.ones((5, 2)), np.ones(5), 1, kernel_y=0), TypeError, "kernel_y"),
        (lambda: H.hsic_forward_selection(np.ones((5, 2)), np.ones(5), True), TypeError, "n_select"),
        (lambda: H.hsic_nystrom([1, 2, 3], [1, 2, 3], n_landmarks=2, rcond="0"), TypeError, "rcond"),
        (lambda: H.hsic_tensor([1.0, 2.0], [1.0, 2.0], kernel="delta"), ValueError, "one-hot"),
        (lambda: H.hsic_tensor([1.0, 2.0], [1.0, 2.0]), ValueError, "sigma_x is required"),
        (lambda: H.hsic_tensor([1.0, 2.0], [1.0, 2.0], 1.0, -1.0), ValueError, "sigma_y"),
        (lambda: H.hsic_tensor([1.0, 2.0], [1.0, 2.0], 1.0, "1"), TypeError, "sigma_y"),
        (lambda: H.hsic_tensor([1.0, 2.0], [1.0, 2.0], 1.0, kernel="linear"), ValueError, "sigma_x"),
        (lambda: H.hsic_tensor([1.0, 2.0], [1.0, 2.0, 3.0], 1.0, 1.0), ValueError, "same number"),
        (lambda: H.hsic_tensor(np.ones((2, 2, 2)), [1.0, 2.0], 1.0, 1.0), ValueError, "shape"),
        (lambda: H.hsic_tensor([1.0], [1.0], 1.0, 1.0), ValueError, "at least 2"),
        (lambda: H.hsic_tensor("ab", [1.0, 2.0], 1.0, 1.0), TypeError, "x must be"),
        (lambda: H.hsic_tensor([1.0, 2.0], [1.0, 2.0], 1.0, 1.0, normalize=1), TypeError, "normalize"),
    ],
)
def test_bad_input_is_named(call, error, words):
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        call()


# --------------------------------------------------------------------------- differentiable (keras.ops)


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("kernel", ["gaussian", "linear", ("gaussian", "linear")])
def test_tensor_estimator_matches_numpy(kernel, normalize):
    from keras import ops

    rng = np.random.default_rng(18)
    x = rng.normal(size=(30, 3)) + 5.0
    y = np.eye(4)[rng.integers(0, 4, 30)] if kernel == ("gaussian", "linear") else np.sin(x[:, :2]) + 0.1 * rng.normal(size=(30, 2))
    kx, ky = (kernel, kernel) if isinstance(kernel, str) else kernel
    sx = 1.7 if kx == "gaussian" else None
    sy = 0.8 if ky == "gaussian" else None
    k, l = loop_gram(x, kx, sx), loop_gram(y, ky, sy)
    expected = explicit_biased(k, l)
    if normalize:
        expected /= math.sqrt(explicit_biased(k, k) * explicit_biased(l, l))
    got = H.hsic_tensor(x.astype("float32"), y.astype("float32"), sx, sy, kernel=kernel, normalize=normalize)
    assert float(ops.convert_to_numpy(got)) == pytest.approx(expected, rel=2e-4)
    width = ops.convert_to_tensor(np.float32(sx)) if sx else None  # a tensor width works too
    got = H.hsic_tensor(x.astype("float32"), y.astype("float32"), width, sy, kernel=kernel, normalize=normalize)
    assert float(ops.convert_to_numpy(got)) == pytest.approx(expected, rel=2e-4)


@pytest.mark.parametrize("normalize", [False, True])
def test_tensor_estimator_gradient_matches_finite_differences_of_numpy(normalize):
    from kbook.autodiff import value_and_grad

    rng = np.random.default_rng(19)
    z = rng.normal(size=(12, 2))
    y = np.eye(3)[rng.integers(0, 3, 12)]
    sz = 1.3

    def numpy_value(points):
        k, l = loop_gram(points, "gaussian", sz), loop_gram(y, "linear")
        value = explicit_biased(k, l)
        return value / math.sqrt(explicit_biased(k, k) * explicit_biased(l, l)) if normalize else value

    _, grad = value_and_grad(
        lambda t: H.hsic_tensor(t, y.astype("float32"), sz, None, kernel=("gaussian", "linear"), normalize=normalize), z
    )
    h = 1e-5
    numeric = np.zeros_like(z)
    for index in np.ndindex(*z.shape):
        step = np.zeros_like(z)
        step[index] = h
        numeric[index] = (numpy_value(z + step) - numpy_value(z - step)) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=2e-3, atol=2e-3 * np.abs(numeric).max())
