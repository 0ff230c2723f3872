"""kbook.holdout against independent references: Monte Carlo, exact enumeration, a plain loop."""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import binom

from kbook.holdout import expected_best_accuracy, selection_experiment


# --------------------------------------------------------------------------- expected_best_accuracy


def _expected_max_by_enumeration(p, n, k):
    """E[max of k iid Binomial(n, p)] / n by summing over every joint outcome (tiny n and k only)."""
    pmf = binom.pmf(np.arange(n + 1), n, p)
    total = 0.0
    for outcome in itertools.product(range(n + 1), repeat=k):
        total += np.prod(pmf[list(outcome)]) * max(outcome)
    return total / n


@pytest.mark.parametrize("p, n, k", [(0.5, 3, 2), (0.8, 4, 3), (0.1, 5, 2), (0.93, 2, 4), (0.0, 3, 3), (1.0, 3, 2)])
def test_expected_best_accuracy_matches_enumeration(p, n, k):
    assert expected_best_accuracy(p, n, k) == pytest.approx(_expected_max_by_enumeration(p, n, k), abs=1e-12)


@given(p=st.floats(0.05, 0.95), n=st.integers(1, 300))
def test_one_model_reports_its_accuracy(p, n):
    assert expected_best_accuracy(p, n, 1) == pytest.approx(p, abs=1e-9)


@given(p=st.floats(0.05, 0.95), n=st.integers(5, 200), k=st.integers(1, 50))
def test_more_models_more_optimism_and_bounded(p, n, k):
    here, more = expected_best_accuracy(p, n, k), expected_best_accuracy(p, n, k + 1)
    assert p - 1e-9 <= here <= more + 1e-12 <= 1 + 1e-12


def test_expected_best_accuracy_agrees_with_monte_carlo():
    rng = np.random.default_rng(3)
    draws = rng.binomial(250, 0.75, size=(100_000, 30)).max(axis=1) / 250
    standard_error = draws.std() / np.sqrt(len(draws))
    assert abs(expected_best_accuracy(0.75, 250, 30) - draws.mean()) < 5 * standard_error


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(accuracy=1.5, n=10, k=2), ValueError, "accuracy"),
        (dict(accuracy=-0.1, n=10, k=2), ValueError, "accuracy"),
        (dict(accuracy="0.5", n=10, k=2), TypeError, "accuracy"),
        (dict(accuracy=0.5, n=0, k=2), ValueError, "n must"),
        (dict(accuracy=0.5, n=10, k=0), ValueError, "k must"),
        (dict(accuracy=0.5, n=10.0, k=2), TypeError, "n must"),
        (dict(accuracy=0.5, n=True, k=2), TypeError, "n must"),
    ],
)
def test_expected_best_accuracy_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        expected_best_accuracy(**kwargs)


# --------------------------------------------------------------------------- selection_experiment


def _loop_reference(correct, n_select, n_report, repeats, n_candidates, seed):
    """The same protocol written as a plain loop; it replays the helper's documented draws."""
    rng = np.random.default_rng(seed)
    n_models, n_examples = correct.shape
    order = np.argsort(rng.random((repeats, n_examples)), axis=1)
    candidates = np.sort(np.argsort(rng.random((repeats, n_models)), axis=1)[:, :n_candidates], axis=1)
    out = {key: [] for key in ("peeked", "peeked_fresh", "honest", "honest_fresh", "oracle_fresh")}
    for r in range(repeats):
        select = order[r, :n_select]
        report = order[r, n_select:n_select + n_report]
        fresh = order[r, n_select + n_report:]
        best_report, best_select = None, None
        for j in candidates[r]:
            acc_report = correct[j, report].mean()
            acc_select = correct[j, select].mean()
            if best_report is None or acc_report > correct[best_report, report].mean():
                best_report = j
            if best_select is None or acc_select > correct[best_select, select].mean():
                best_select = j
        out["peeked"].append(correct[best_report, report].mean())
        out["peeked_fresh"].append(correct[best_report, fresh].mean())
        out["honest"].append(correct[best_select, report].mean())
        out["honest_fresh"].append(correct[best_select, fresh].mean())
        out["oracle_fresh"].append(max(correct[j, fresh].mean() for j in candidates[r]))
    return {key: np.array(value) for key, value in out.items()}


@given(
    n_models=st.integers(1, 6),
    n_examples=st.integers(4, 40),
    data=st.data(),
)
def test_selection_experiment_matches_a_plain_loop(n_models, n_examples, data):
    seed = data.draw(st.integers(0, 10_000))
    correct = np.random.default_rng(seed + 1).random((n_models, n_examples)) < 0.6
    n_select = data.draw(st.integers(1, n_examples - 2))
    n_report = data.draw(st.integers(1, n_examples - n_select - 1))
    n_candidates = data.draw(st.integers(1, n_models))
    repeats = data.draw(st.integers(1, 5))
    got = selection_experiment(correct, n_select=n_select, n_report=n_report, repeats=repeats,
                               n_candidates=n_candidates, seed=seed)
    expected = _loop_reference(correct, n_select, n_report, repeats, n_candidates, seed)
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], atol=1e-12, err_msg=key)


def test_peeking_matches_the_closed_form_for_independent_models():
    # 25 models with the same accuracy and independent errors on a large pool: peeking should
    # report what expected_best_accuracy predicts, and choosing on a separate set should not flatter.
    rng = np.random.default_rng(11)
    correct = rng.random((25, 20_000)) < 0.8
    out = selection_experiment(correct, n_select=150, n_report=150, repeats=2_000, seed=5)
    predicted = expected_best_accuracy(0.8, 150, 25)
    assert out["peeked"].mean() == pytest.approx(predicted, abs=0.004)
    assert out["peeked_fresh"].mean() == pytest.approx(0.8, abs=0.004)
    assert out["honest"].mean() - out["honest_fresh"].mean() == pytest.approx(0.0, abs=0.003)


def test_a_single_candidate_is_reported_without_bias():
    rng = np.random.default_rng(2)
    correct = rng.random((1, 5_000)) < 0.65
    out = selection_experiment(correct, n_select=50, n_report=50, repeats=3_000, seed=9)
    np.testing.assert_array_equal(out["peeked"], out["honest"])
    assert out["peeked"].mean() == pytest.approx(correct.mean(), abs=0.004)


def test_clearly_better_model_is_found_by_both_protocols():
    correct = np.zeros((3, 1_000), dtype=bool)
    correct[0, :500] = True
    correct[1, :990] = True
    correct[2, :300] = True
    out = selection_experiment(correct, n_select=200, n_report=200, repeats=50, seed=0)
    np.testing.assert_allclose(out["honest_fresh"], out["oracle_fresh"])
    np.testing.assert_allclose(out["peeked_fresh"], out["oracle_fresh"])


@pytest.mark.parametrize(
    "correct, kwargs, error, match",
    [
        (np.ones(10, bool), dict(n_select=2, n_report=2), ValueError, "2-D"),
        (np.full((2, 10), 0.5), dict(n_select=2, n_report=2), ValueError, "booleans"),
        ("yes", dict(n_select=2, n_report=2), TypeError, "correct"),
        (np.ones((2, 10), bool), dict(n_select=5, n_report=5), ValueError, "fresh"),
        (np.ones((2, 10), bool), dict(n_select=0, n_report=2), ValueError, "n_select"),
        (np.ones((2, 10), bool), dict(n_select=2, n_report=2.5), TypeError, "n_report"),
        (np.ones((2, 10), bool), dict(n_select=2, n_report=2, repeats=True), TypeError, "repeats"),
        (np.ones((2, 10), bool), dict(n_select=2, n_report=2, n_candidates=3), ValueError, "n_candidates"),
        (np.ones((2, 10), bool), dict(n_select=2, n_report=2, seed="0"), TypeError, "seed"),
    ],
)
def test_selection_experiment_rejects_bad_arguments(correct, kwargs, error, match):
    with pytest.raises(error, match=match):
        selection_experiment(correct, **kwargs)
