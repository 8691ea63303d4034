"""Hidden tests for ex-08-logq: the logQ correction of sampled logits."""

import numpy as np

POINTS = {"test_shape": 1, "test_a_constant_probability_shifts_all": 1, "test_value": 2}


def _reference(logits, item_ids, counts):
    counts = np.asarray(counts, dtype=float)
    return np.asarray(logits, dtype=float) - np.log(counts[item_ids] / counts.sum())[None, :]


def test_shape(logq_correct):
    out = np.asarray(logq_correct(np.zeros((3, 4)), np.array([0, 1, 2, 3]), np.arange(1, 6)))
    assert out.shape == (3, 4), f"one corrected logit per user and sampled item, got {out.shape}"


def test_a_constant_probability_shifts_all(logq_correct):
    logits = np.arange(6.0).reshape(2, 3)
    out = np.asarray(logq_correct(logits, np.array([0, 1, 2]), np.full(3, 7)), dtype=float)
    assert np.allclose(out, logits + np.log(3)), "equal counts: every logit rises by log(n_items)"


def test_value(logq_correct):
    rng = np.random.default_rng(808)
    counts = rng.integers(1, 500, size=40)
    ids = rng.integers(40, size=12)
    logits = rng.normal(size=(5, 12))
    out = np.asarray(logq_correct(logits, ids, counts), dtype=float)
    assert np.allclose(out, _reference(logits, ids, counts)), (
        "subtract the natural log of count / total from each column"
    )
