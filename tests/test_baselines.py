"""The counting models, checked against the synthetic platform's known truth."""

from __future__ import annotations

import numpy as np
import pytest

from recsys_tutorial import ItemKNN, Markov, Popularity, evaluate
from recsys_tutorial.baselines import transition_counts
from recsys_tutorial.protocol import NotFittedError


def test_popularity_scores_training_counts(synthetic_split):
    model = Popularity().fit(synthetic_split.train)
    scores = model.score([np.array([0]), np.array([1, 2])])
    assert scores.shape == (2, synthetic_split.n_items)
    np.testing.assert_array_equal(scores[0], synthetic_split.train.item_counts())


def test_transition_counts():
    counts = transition_counts([np.array([0, 1, 2]), np.array([0, 1]), np.array([2])], 3)
    assert counts[0, 1] == 2 and counts[1, 2] == 1 and counts.sum() == 3


def test_markov_learns_the_successors(platform, synthetic_split):
    model = Markov().fit(synthetic_split.train)
    top = model.score([np.array([i]) for i in range(synthetic_split.n_items)]).argmax(axis=1)
    truth = synthetic_split.item_index(platform.successor + 1)
    assert (top == truth).mean() > 0.8
    rows = model.score([np.array([3])])
    assert rows.sum() == pytest.approx(1.0)  # a proper distribution over next items


def test_markov_backs_off_to_popularity_for_unseen_contexts(synthetic_split):
    model = Markov().fit(synthetic_split.train)
    empty = model.score([np.array([], dtype=int)])[0]
    np.testing.assert_allclose(empty, model.unigram_)


def test_models_beat_popularity_on_structured_data(synthetic_split):
    pop = evaluate(Popularity().fit(synthetic_split.train), synthetic_split)["ndcg@10"]
    markov = evaluate(Markov().fit(synthetic_split.train), synthetic_split)["ndcg@10"]
    knn = evaluate(ItemKNN(neighbours=20).fit(synthetic_split.train), synthetic_split)["ndcg@10"]
    assert markov > pop and knn > pop


def test_itemknn_similarity_is_cosine(synthetic_split):
    model = ItemKNN(neighbours=None).fit(synthetic_split.train)
    m = synthetic_split.train.matrix().toarray()
    a, b = m[:, 0], m[:, 1]
    expected = a @ b / np.sqrt(a.sum() * b.sum())
    assert model.similarity_[0, 1] == pytest.approx(expected, rel=1e-5)
    assert np.all(np.diag(model.similarity_) == 0)


@pytest.mark.parametrize("model", [Popularity(), Markov(), ItemKNN()], ids=type)
def test_unfitted_models_say_so(model):
    with pytest.raises(NotFittedError, match="fit"):
        model.score([np.array([1])])
    with pytest.raises(NotFittedError):
        model.n_parameters  # noqa: B018


def test_parameter_counts_are_the_numbers_stored(synthetic_split):
    train, n = synthetic_split.train, synthetic_split.n_items
    assert Popularity().fit(train).n_parameters == n
    markov = Markov().fit(train)
    assert markov.n_parameters == transition_counts(train.sequences, n).nnz + n
    knn = ItemKNN(neighbours=5).fit(train)
    assert knn.n_parameters == np.count_nonzero(knn.similarity_) <= 5 * n
    assert ItemKNN(neighbours=None).fit(train).n_parameters > knn.n_parameters
