"""Hidden tests for ex-00-by-hand: the rank of a target, ties counted apart."""

import numbers

import numpy as np

from recsys_tutorial import Popularity, leave_one_out_split, load_movielens_100k

POINTS = {"test_returns_two_integers": 1, "test_random_scores": 2, "test_first_test_user": 2}


def _integer(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _reference(scores, seen, target):
    keep = np.ones(len(scores), dtype=bool)
    keep[seen] = False
    keep[target] = False
    return int((scores[keep] > scores[target]).sum()), int((scores[keep] == scores[target]).sum())


def test_returns_two_integers(rank_counts):
    out = rank_counts(np.array([3.0, 1.0, 2.0, 2.0]), np.array([0]), 2)
    assert len(out) == 2 and all(_integer(x) for x in out), "return two integers (above, tied)"


def test_random_scores(rank_counts):
    rng = np.random.default_rng(20261)
    for _ in range(30):
        n = int(rng.integers(5, 60))
        scores = rng.integers(0, 4, size=n).astype(float)  # many ties
        items = rng.permutation(n)
        target, seen = int(items[0]), items[1 : 1 + int(rng.integers(0, n // 2))]
        got = tuple(int(x) for x in rank_counts(scores, seen, target))
        assert got == _reference(scores, seen, target), (
            "on hidden scores: count only unseen candidates, never the target itself"
        )


def test_first_test_user(better, tied):
    assert _integer(better) and _integer(tied), "better and tied must be integers"
    split = leave_one_out_split(load_movielens_100k().interactions)
    scores = Popularity().fit(split.train).score([split.histories("test")[0]])[0]
    expected = _reference(scores, split.histories("test")[0], split.test_targets[0])
    assert (int(better), int(tied)) == expected, (
        "rank the first test user's test target, excluding the whole test-time history"
    )
