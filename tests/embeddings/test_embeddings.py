"""Chapter 02: hand-written SGNS, gensim item2vec and GloVe on small known cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recsys_tutorial import TrainData, leave_one_out_split, make_platform
from recsys_tutorial.embeddings import (
    SGNS,
    GloVe,
    Item2Vec,
    cooccurrence,
    embedding_scores,
    fit_glove,
    keep_probabilities,
    neighbours,
    noise_distribution,
    sgns_loss,
    skipgram_pairs,
    train_sgns,
    unit_rows,
    user_vectors,
)
from recsys_tutorial.protocol import NotFittedError


@pytest.fixture(scope="module")
def platform():
    world = make_platform(n_users=300, n_items=60, n_topics=3, length=(15, 30), seed=1)
    split = leave_one_out_split(world.interactions)
    topics = world.item_topic[split.item_ids - 1]  # item index -> topic
    return split, topics


def topic_margin(vectors: np.ndarray, topics: np.ndarray) -> float:
    """Mean cosine of same-topic pairs minus that of different-topic pairs.

    The vectors are centred first: skip-gram's input vectors share a common direction
    (every item is a context of every other, somewhere) that hides the topics in raw cosines.
    """
    centred = unit_rows(vectors - vectors.mean(axis=0))
    sim = centred @ centred.T
    same = topics[:, None] == topics[None, :]
    off_diagonal = ~np.eye(len(topics), dtype=bool)
    return float(sim[same & off_diagonal].mean() - sim[~same].mean())


def test_sgns_loss_and_gradient_match_a_direct_computation():
    rng = np.random.default_rng(0)
    u, v, n = rng.normal(size=(2, 4)), rng.normal(size=(2, 4)), rng.normal(size=(2, 3, 4))
    sigmoid = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    direct = np.mean([
        -np.log(sigmoid(u[b] @ v[b])) - sum(np.log(sigmoid(-u[b] @ n[b, k])) for k in range(3))
        for b in range(2)
    ])
    tu, tv, tn = (torch.tensor(a, requires_grad=True) for a in (u, v, n))
    loss = sgns_loss(tu, tv, tn)
    loss.backward()
    assert loss.item() == pytest.approx(direct, rel=1e-12)
    # d loss / d u_b = (-(1 - s(u.v)) v + sum_k s(u.n_k) n_k) / batch
    grad_u = np.stack([
        -(1 - sigmoid(u[b] @ v[b])) * v[b] + (sigmoid(n[b] @ u[b])[:, None] * n[b]).sum(0)
        for b in range(2)
    ]) / 2
    grad_v = np.stack([-(1 - sigmoid(u[b] @ v[b])) * u[b] for b in range(2)]) / 2
    np.testing.assert_allclose(tu.grad.numpy(), grad_u, rtol=1e-10)
    np.testing.assert_allclose(tv.grad.numpy(), grad_v, rtol=1e-10)


def test_skipgram_pairs_window():
    pairs = {tuple(p) for p in skipgram_pairs([np.array([0, 1, 2]), np.array([5])], window=1)}
    assert pairs == {(0, 1), (1, 0), (1, 2), (2, 1)}
    assert len(skipgram_pairs([np.array([0, 1, 2, 3])], window=10)) == 12  # 4 * 3 ordered pairs


def test_noise_and_subsampling():
    counts = np.array([100, 10, 1, 0])
    assert noise_distribution(counts, 0.0) == pytest.approx([1 / 3, 1 / 3, 1 / 3, 0])
    assert noise_distribution(counts, 1.0) == pytest.approx([100 / 111, 10 / 111, 1 / 111, 0])
    rare_first = noise_distribution(counts, -1.0)
    assert rare_first[2] > rare_first[1] > rare_first[0] and rare_first[3] == 0
    keep = keep_probabilities(counts, 1e-2)
    assert keep[0] < keep[1] <= keep[2] == 1.0
    assert np.all(keep_probabilities(counts, 0.0) == 1.0)


def test_hand_written_sgns_learns_topics(platform):
    split, topics = platform
    seqs = [s for s in split.train.sequences if len(s)]
    model, losses = train_sgns(seqs, split.n_items, dim=16, window=3, sample=0.0, epochs=2,
                               batch_size=1024, lr=0.01, progress=False)
    assert np.mean(losses[-20:]) < np.mean(losses[:20])
    assert topic_margin(model.target.weight.detach().numpy(), topics) > 0.3


def test_item2vec_puts_same_topic_items_closer(platform):
    split, topics = platform
    model = Item2Vec(vector_size=16, window=3, epochs=10).fit(split.train)
    assert topic_margin(model.vectors_, topics) > 0.3
    histories = split.histories("test")[:7]
    assert model.score(histories).shape == (7, split.n_items)


def test_item2vec_is_deterministic_with_a_seed(platform):
    split, _ = platform
    a = Item2Vec(vector_size=8, epochs=2, seed=3).fit(split.train).vectors_
    b = Item2Vec(vector_size=8, epochs=2, seed=3).fit(split.train).vectors_
    c = Item2Vec(vector_size=8, epochs=2, seed=4).fit(split.train).vectors_
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_untrained_items_and_empty_histories_are_neutral():
    train = TrainData((np.array([0, 1, 0, 1]), np.array([1, 0])), 4, np.arange(1, 5), np.arange(1, 3))
    for model in (Item2Vec(vector_size=4, epochs=1), GloVe(dim=4, window=1, epochs=2),
                  SGNS(dim=4, epochs=1)):
        model.fit(train)
        assert np.all(model.vectors_[2:] == 0)  # items 2 and 3 never occur in training
        scores = model.score([np.array([0, 3]), np.array([], dtype=np.int64), np.array([2])])
        assert scores.shape == (3, 4) and np.isfinite(scores).all()
        assert np.all(scores[1:] == 0)  # nothing known about the user: every item ties
    for side in ("in", "in+out", "in-out"):
        model = Item2Vec(vector_size=4, epochs=1, side=side, similarity="dot", last=1).fit(train)
        assert model.score([np.array([0, 1])]).shape == (1, 4)
    with pytest.raises(ValueError, match="side"):
        Item2Vec(vector_size=4, epochs=1, side="out").fit(train).score([np.array([0])])


def test_fitted_state_and_parameter_counts():
    train = TrainData((np.array([0, 1, 2, 3]), np.array([3, 2])), 5, np.arange(1, 6), np.arange(1, 3))
    for model, tables in ((Item2Vec(vector_size=4, epochs=1), 2), (SGNS(dim=4, epochs=1), 2),
                          (GloVe(dim=4, window=1, epochs=1), 1)):
        with pytest.raises(NotFittedError, match="fit"):
            model.score([np.array([0])])
        with pytest.raises(NotFittedError):
            model.n_parameters  # noqa: B018
        assert model.fit(train).n_parameters == tables * 5 * 4  # items x dimensions per table


def test_neighbours_by_cosine():
    vectors = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [-1.0, 0.0], [0.8, 0.3]])
    assert neighbours(vectors, 0, k=2).tolist() == [1, 4]  # never the item itself
    assert neighbours(vectors, [0, 2], k=4).shape == (2, 4)
    assert neighbours(vectors, [3], k=1).tolist() == [[2]]
    shifted = vectors + 10.0  # a shared direction: raw cosines all near 1, centring removes it
    np.testing.assert_array_equal(neighbours(shifted, [0, 3], centre=True),
                                  neighbours(vectors, [0, 3], centre=True))


def test_recency_weighting():
    vectors = np.eye(3)
    users = user_vectors(vectors, [np.array([0, 1, 2])], decay=0.5)
    np.testing.assert_allclose(users[0], np.array([0.25, 0.5, 1.0]) / 1.75)
    np.testing.assert_allclose(user_vectors(vectors, [np.array([0, 1, 2])], last=1)[0], [0, 0, 1])
    scores = embedding_scores(vectors, [np.array([0, 1, 2])], last=2)
    assert scores[0, 0] == 0 and scores[0, 1] == scores[0, 2] > 0


def test_cooccurrence_counts_with_harmonic_weights():
    x = cooccurrence([np.array([0, 1, 2])], 3, window=2).toarray()
    np.testing.assert_allclose(x, [[0, 1, 0.5], [1, 0, 1], [0.5, 1, 0]])


def test_glove_fits_a_small_cooccurrence_matrix():
    rng = np.random.default_rng(0)
    w, c = rng.normal(size=(20, 3)), rng.normal(size=(20, 3))
    x = np.exp((w @ c.T + w @ c.T) / 4 + 1.0)  # a symmetric matrix of rank <= 3 in log space
    vectors, losses = fit_glove(x, dim=6, x_max=1.0, epochs=100, lr=0.3, seed=0)
    assert losses[-1] < 0.01 * losses[0] and losses[-1] < 0.02
    assert vectors.shape == (20, 6)
