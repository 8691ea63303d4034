"""Hidden tests for ex-07-perplexity: how evenly a codebook is used."""

import numbers

import numpy as np

POINTS = {"test_is_a_number": 1, "test_extremes": 1, "test_value": 2}


def _reference(codes, size):
    p = np.bincount(codes, minlength=size) / len(codes)
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum()))


def test_is_a_number(perplexity):
    out = perplexity(np.array([0, 1, 1, 2]), 4)
    assert isinstance(out, numbers.Real) and not isinstance(out, bool), (
        f"return a number, got {type(out).__name__}"
    )


def test_extremes(perplexity):
    assert np.isclose(float(perplexity(np.full(50, 3), 8)), 1.0), "one code for every item: 1"
    assert np.isclose(float(perplexity(np.arange(64) % 16, 16)), 16.0), "all codes alike: the size"


def test_value(perplexity):
    rng = np.random.default_rng(720)
    for size in (5, 32):
        codes = rng.integers(size, size=300) * (rng.random(300) < 0.7)  # uneven, some unused
        expected = _reference(codes, size)
        assert np.isclose(float(perplexity(codes, size)), expected), (
            "exp of the entropy of the codes' shares (natural log)"
        )
