"""Hidden tests for ex-01-trigram: distinct triples, and the trigram with back-off."""

import numbers

import numpy as np

from recsys_tutorial import Markov, leave_one_out_split, load_movielens_100k, make_platform

POINTS = {"test_count_is_an_integer": 1, "test_count_value": 2, "test_trigram_scores": 2}


def test_count_is_an_integer(n_triples):
    assert isinstance(n_triples, numbers.Integral) and not isinstance(n_triples, bool), (
        f"n_triples must be an integer, got {type(n_triples).__name__}"
    )


def test_count_value(n_triples):
    assert isinstance(n_triples, numbers.Integral) and not isinstance(n_triples, bool), "not an integer"
    split = leave_one_out_split(load_movielens_100k().interactions)
    triples = set()
    for s in split.train.sequences:
        triples.update(zip(s[:-2].tolist(), s[1:-1].tolist(), s[2:].tolist()))
    assert int(n_triples) == len(triples), (
        "count each distinct consecutive (a, b, c) of the training histories once"
    )


def test_trigram_scores(Trigram):
    for seed, gamma in [(11, 1.0), (12, 3.0)]:
        platform = make_platform(n_users=120, n_items=40, length=(5, 25), seed=seed)
        split = leave_one_out_split(platform.interactions)
        train, histories = split.train, split.histories("valid")[:60]
        bigram = Markov().fit(train).score(histories)
        expected = bigram.copy()
        for row, h in enumerate(histories):
            if len(h) < 2:
                continue
            follow = np.zeros(train.n_items)
            for s in train.sequences:
                for i in range(len(s) - 2):
                    if s[i] == h[-2] and s[i + 1] == h[-1]:
                        follow[s[i + 2]] += 1
            if follow.sum() > 0:
                expected[row] = (follow + gamma * bigram[row]) / (follow.sum() + gamma)
        got = np.asarray(Trigram(gamma).fit(train).score(histories), dtype=float)
        assert got.shape == expected.shape, f"score returns shape {got.shape}, expected {expected.shape}"
        assert np.allclose(got, expected, atol=1e-9), (
            "on hidden data the scores differ from the formula (back off to the bigram "
            "when the pair was never a context)"
        )
