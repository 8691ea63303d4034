"""Hidden tests for ex-06-normalise: sum or mean of token log-probabilities."""

import numpy as np

POINTS = {"test_one_score_per_title": 1, "test_sum": 1, "test_mean": 2}


def _titles(seed):
    rng = np.random.default_rng(seed)
    return [np.log(rng.uniform(0.01, 1, size=int(rng.integers(1, 9)))) for _ in range(15)]


def test_one_score_per_title(title_scores):
    titles = _titles(700)
    for normalise in (True, False):
        out = np.asarray(title_scores(titles, normalise))
        assert out.shape == (len(titles),), "return one score per title"
        assert np.issubdtype(out.dtype, np.floating), "scores are floats"


def test_sum(title_scores):
    titles = _titles(701)
    expected = np.array([t.sum() for t in titles])
    assert np.allclose(np.asarray(title_scores(titles, normalise=False), dtype=float), expected), (
        "without normalise: the title's log-probability"
    )


def test_mean(title_scores):
    for seed in (702, 703):
        titles = _titles(seed)
        expected = np.array([t.mean() for t in titles])
        assert np.allclose(np.asarray(title_scores(titles, normalise=True), dtype=float), expected), (
            "with normalise: per token"
        )
