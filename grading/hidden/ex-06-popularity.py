"""Hidden tests for ex-06-popularity: how popular the first choices are."""

import numbers

import numpy as np

POINTS = {"test_is_a_number": 1, "test_random_rankings": 2}


def test_is_a_number(first_choice_mean_count):
    out = first_choice_mean_count(np.array([[0.1, 0.9]]), np.array([[3, 1]]), np.arange(5.0))
    assert isinstance(out, numbers.Real) and not isinstance(out, bool), "return a number"


def test_random_rankings(first_choice_mean_count):
    rng = np.random.default_rng(606)
    for users, n_cand, n_items in [(5, 20, 300), (40, 7, 50)]:
        scores = rng.normal(size=(users, n_cand))
        candidates = np.stack([rng.choice(n_items, n_cand, replace=False) for _ in range(users)])
        counts = rng.integers(0, 500, size=n_items)
        expected = counts[candidates[np.arange(users), scores.argmax(1)]].mean()
        got = first_choice_mean_count(scores, candidates, counts)
        assert np.isclose(float(got), expected), "mean training count of each user's top-scored candidate"
