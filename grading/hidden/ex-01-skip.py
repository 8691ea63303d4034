"""Hidden tests for ex-01-skip: co-occurrence within a window, weighted by distance."""

import numpy as np

from recsys_tutorial import leave_one_out_split, make_platform

POINTS = {"test_window_one_is_the_bigram": 1, "test_weights_by_distance": 2, "test_another_window": 1}


def _dense(matrix):
    return matrix.toarray() if hasattr(matrix, "toarray") else np.asarray(matrix, dtype=float)


def _expected(train, window):
    out = np.zeros((train.n_items, train.n_items))
    for s in train.sequences:
        for i in range(len(s)):
            for d in range(1, window + 1):
                if i + d < len(s):
                    out[s[i], s[i + d]] += 1.0 / d
    return out


def _train(seed):
    platform = make_platform(n_users=80, n_items=30, length=(3, 20), seed=seed)
    return leave_one_out_split(platform.interactions).train


def test_window_one_is_the_bigram(SkipBigram):
    train = _train(21)
    got = _dense(SkipBigram(1).fit(train).transitions_)
    assert np.allclose(got, _expected(train, 1)), "with window 1 the counts are the bigram's"


def test_weights_by_distance(SkipBigram):
    train = _train(22)
    got = _dense(SkipBigram(3).fit(train).transitions_)
    assert np.allclose(got, _expected(train, 3)), (
        "a pair at distance d (1 <= d <= window, j after i) adds 1/d"
    )


def test_another_window(SkipBigram):
    train = _train(23)
    model = SkipBigram(window=5).fit(train)
    assert np.allclose(_dense(model.transitions_), _expected(train, 5)), "wrong counts with window=5"
    scores = np.asarray(model.score(train.sequences[:5]))
    assert scores.shape == (5, train.n_items), "score must return one row per history"
