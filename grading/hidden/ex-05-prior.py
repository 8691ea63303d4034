"""Hidden tests for ex-05-prior: a popularity prior added to the content scores."""

import numpy as np

from recsys_tutorial import TrainData, leave_one_out_split, make_platform
from recsys_tutorial.text import ContentRecommender

POINTS = {"test_zero_weight": 1, "test_prior": 2, "test_unseen_items_get_nothing": 1}


def _data(seed, extra=0):
    split = leave_one_out_split(make_platform(n_users=60, n_items=40, seed=seed).interactions)
    train = split.train
    if extra:  # items that never occur in training
        ids = np.concatenate([train.item_ids, train.item_ids.max() + 1 + np.arange(extra)])
        train = TrainData(train.sequences, train.n_items + extra, ids, train.user_ids)
    vectors = np.random.default_rng(seed).normal(size=(train.n_items, 8))
    return train, vectors, split.histories("valid")[:20]


def test_zero_weight(ContentWithPrior):
    train, vectors, histories = _data(601)
    got = np.asarray(ContentWithPrior(vectors, 0.7, 0.0).fit(train).score(histories))
    expected = ContentRecommender(vectors, decay=0.7).fit(train).score(histories)
    assert np.allclose(got, expected), "with weight 0 the scores are the content scores"


def test_prior(ContentWithPrior):
    for seed, weight, decay in [(602, 0.1, 0.9), (603, 0.03, 0.5)]:
        train, vectors, histories = _data(seed)
        got = np.asarray(ContentWithPrior(vectors, decay, weight).fit(train).score(histories))
        base = ContentRecommender(vectors, decay=decay).fit(train).score(histories)
        expected = base + weight * np.log1p(train.item_counts())
        assert np.allclose(got, expected), "scores must be content + lambda * log(1 + training count)"


def test_unseen_items_get_nothing(ContentWithPrior):
    train, vectors, histories = _data(604, extra=5)
    got = np.asarray(ContentWithPrior(vectors, 0.9, 0.2).fit(train).score(histories))
    base = ContentRecommender(vectors, decay=0.9).fit(train).score(histories)
    assert np.allclose(got[:, -5:], base[:, -5:]), "an item never seen in training gains nothing"
