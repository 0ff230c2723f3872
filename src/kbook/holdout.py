"""Held-out evaluation: how much choosing among models on a finite set inflates the reported score.

Two helpers for the chapter on why data is split three ways:

- :func:`expected_best_accuracy` — the accuracy one expects to *report* for the best of ``k``
  equally good models scored on the same ``n`` examples, if their errors were independent
  (an exact formula over the binomial distribution);
- :func:`selection_experiment` — given which candidate got which held-out example right, draw many
  selection/report/fresh splits and measure what each protocol reports against what the chosen
  model really achieves on fresh data.

Splitting itself is left to scikit-learn (``train_test_split`` with ``stratify=``), which does it
well. This module imports NumPy and SciPy only; no Keras, no TensorFlow.

See the chapter: notebooks/neural-networks.ipynb
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["expected_best_accuracy", "selection_experiment"]


def _check_count(name: str, value, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def expected_best_accuracy(accuracy: float, n: int, k: int) -> float:
    """Expected reported accuracy of the best of ``k`` models, each right with probability ``accuracy``.

    Each model's score on ``n`` test examples is ``Binomial(n, accuracy) / n``; if the ``k`` scores
    were independent, the largest has expectation

    .. math:: \\mathbb E\\Big[\\max_j \\tfrac{X_j}{n}\\Big] = \\frac1n \\sum_{m=0}^{n-1} \\big(1 - F(m)^k\\big),

    where ``F`` is the binomial CDF. The excess over ``accuracy`` is the optimism of reporting the
    score on the set that chose the model. Real candidates share most of their errors, so their
    scores are correlated and the true optimism is smaller: read this as an upper bound for equally
    good models.

    Args:
        accuracy: the models' common true accuracy, in [0, 1].
        n: number of test examples, >= 1.
        k: number of models compared, >= 1.

    Returns:
        The expected best score, a float in [accuracy, 1].

    Example:
        >>> round(expected_best_accuracy(0.8, n=200, k=1), 6)
        0.8
        >>> round(expected_best_accuracy(0.8, n=200, k=50), 3)
        0.861

    See the chapter: notebooks/neural-networks.ipynb
    """
    from scipy.stats import binom

    if isinstance(accuracy, bool) or not isinstance(accuracy, numbers.Real):
        raise TypeError(f"accuracy must be a real number, got {type(accuracy).__name__}")
    if not 0.0 <= float(accuracy) <= 1.0:
        raise ValueError(f"accuracy must be in [0, 1], got {accuracy}")
    n = _check_count("n", n)
    k = _check_count("k", k)
    cdf = binom.cdf(np.arange(n), n, float(accuracy))  # F(0), ..., F(n-1)
    # 1 - F^k computed as -expm1(k log F) keeps precision when F is close to 1.
    with np.errstate(divide="ignore"):
        tail = -np.expm1(k * np.log(cdf))
    return float(tail.sum() / n)


def selection_experiment(correct, *, n_select: int, n_report: int, repeats: int = 200,
                         n_candidates: int | None = None, seed: int = 0) -> dict[str, np.ndarray]:
    """Replay model selection many times on random splits of a pool of held-out examples.

    For each repeat the examples are shuffled into a *selection* set (``n_select``), a *report* set
    (``n_report``) and a *fresh* set (all the rest, standing in for future data), and ``n_candidates``
    models are drawn at random from the rows of ``correct`` (all of them by default). Two protocols
    are compared:

    - **peeking**: choose the model with the best report-set accuracy and report that accuracy
      (the test set steered the choice);
    - **honest**: choose on the selection set (a validation set), report on the report set.

    Ties go to the candidate listed first.

    Args:
        correct: bool array (n_models, n_examples): ``correct[j, i]`` is whether model ``j`` got
            held-out example ``i`` right.
        n_select, n_report: sizes of the selection and report sets (>= 1); at least one example
            must remain fresh.
        repeats: number of random splits (>= 1).
        n_candidates: how many models each repeat chooses among (1..n_models); default all.
        seed: seed of the NumPy generator that draws splits and candidates.

    Returns:
        dict of float arrays, each shaped (repeats,):
        ``peeked`` (reported accuracy under peeking), ``peeked_fresh`` (fresh accuracy of that
        choice), ``honest`` (report-set accuracy of the validation choice), ``honest_fresh``
        (its fresh accuracy), ``oracle_fresh`` (the best fresh accuracy among the candidates).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> correct = rng.random((20, 2_000)) < 0.7      # 20 equally good models
        >>> out = selection_experiment(correct, n_select=100, n_report=100, repeats=500, seed=1)
        >>> bool(out["peeked"].mean() > out["peeked_fresh"].mean() + 0.05)  # peeking flatters
        True
        >>> bool(abs(out["honest"].mean() - out["honest_fresh"].mean()) < 0.01)  # honest does not
        True

    See the chapter: notebooks/neural-networks.ipynb
    """
    if not isinstance(correct, np.ndarray):
        if isinstance(correct, (str, bytes)) or not hasattr(correct, "__len__"):
            raise TypeError(f"correct must be a 2-D boolean array, got {type(correct).__name__}")
        correct = np.asarray(correct)
    if correct.ndim != 2:
        raise ValueError(f"correct must be 2-D (n_models, n_examples), got shape {correct.shape}")
    if correct.dtype != bool:
        if not np.isin(correct, (0, 1)).all():
            raise ValueError("correct must hold booleans (or 0/1): whether each model got each example right")
        correct = correct.astype(bool)
    n_models, n_examples = correct.shape
    if n_models < 1 or n_examples < 1:
        raise ValueError(f"correct must have at least one model and one example, got shape {correct.shape}")
    n_select = _check_count("n_select", n_select)
    n_report = _check_count("n_report", n_report)
    repeats = _check_count("repeats", repeats)
    if n_select + n_report >= n_examples:
        raise ValueError(
            f"n_select + n_report must leave at least one fresh example: {n_select} + {n_report} "
            f">= {n_examples} examples"
        )
    if n_candidates is None:
        n_candidates = n_models
    n_candidates = _check_count("n_candidates", n_candidates)
    if n_candidates > n_models:
        raise ValueError(f"n_candidates must be <= the number of models ({n_models}), got {n_candidates}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")

    rng = np.random.default_rng(seed)
    # Membership matrices: row r marks that repeat's set, so one matrix product counts every
    # model's correct answers on every repeat's set. The counts are whole numbers, exact in float64
    # (BLAS is far faster than an integer product), so ties stay exact ties.
    order = np.argsort(rng.random((repeats, n_examples)), axis=1)
    rows = np.arange(repeats)[:, None]
    n_fresh = n_examples - n_select - n_report
    scores = {}
    for name, start, size in (("select", 0, n_select), ("report", n_select, n_report),
                              ("fresh", n_select + n_report, n_fresh)):
        member = np.zeros((repeats, n_examples))
        member[rows, order[:, start:start + size]] = 1.0
        scores[name] = (correct.astype(np.float64) @ member.T) / size  # (models, repeats)

    # Candidate subsets: the first n_candidates of a random permutation, kept in their listed order
    # so that ties go to the candidate listed first.
    chosen = np.sort(np.argsort(rng.random((repeats, n_models)), axis=1)[:, :n_candidates], axis=1)
    pick = {name: np.take_along_axis(s.T, chosen, axis=1) for name, s in scores.items()}  # (repeats, cand)
    by_report = pick["report"].argmax(axis=1)
    by_select = pick["select"].argmax(axis=1)
    r = np.arange(repeats)
    return {
        "peeked": pick["report"][r, by_report],
        "peeked_fresh": pick["fresh"][r, by_report],
        "honest": pick["report"][r, by_select],
        "honest_fresh": pick["fresh"][r, by_select],
        "oracle_fresh": pick["fresh"].max(axis=1),
    }
