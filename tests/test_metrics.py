"""The evaluation protocol: ranks, ties, exclusions, and agreement with scikit-learn."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import ndcg_score

from recsys_tutorial import evaluate, leave_one_out_split, make_platform, rank_frame, sampled_evaluate
from recsys_tutorial.metrics import metrics_from_ranks, target_ranks, top_k


class Fixed:
    """A model returning preset scores (one row per user of the split)."""

    def __init__(self, scores):
        self.scores = np.asarray(scores, dtype=float)
        self.calls = 0

    def fit(self, train):
        return self

    def score(self, histories):
        out = self.scores[self.calls:self.calls + len(histories)]
        self.calls += len(histories)
        return out


@given(g=st.integers(0, 50), k=st.integers(1, 20))
def test_without_ties_metrics_are_textbook(g, k):
    m = metrics_from_ranks(np.array([g]), np.array([0]), k)
    assert m["hr"][0] == (1.0 if g < k else 0.0)
    assert m["ndcg"][0] == pytest.approx(1 / np.log2(g + 2) if g < k else 0.0)
    assert m["mrr"][0] == pytest.approx(1 / (g + 1) if g < k else 0.0)


@given(g=st.integers(0, 30), t=st.integers(0, 30), k=st.integers(1, 40))
def test_ties_give_the_mean_over_random_orders(g, t, k):
    m = metrics_from_ranks(np.array([g]), np.array([t]), k)
    ranks = np.arange(g, g + t + 1)
    inside = ranks < k
    assert m["hr"][0] == pytest.approx(inside.mean())
    assert m["ndcg"][0] == pytest.approx(np.where(inside, 1 / np.log2(ranks + 2), 0).mean())
    assert 0.0 <= m["ndcg"][0] <= m["hr"][0] <= 1.0


@settings(max_examples=60, deadline=None)
@given(
    n_items=st.integers(2, 30), k=st.integers(1, 35), seed=st.integers(0, 10**6),
    levels=st.integers(1, 6),
)
def test_ndcg_matches_scikit_learn_with_ties(n_items, k, seed, levels):
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, levels, size=(4, n_items)).astype(float)  # many ties
    targets = rng.integers(0, n_items, size=4)
    excluded = rng.random((4, n_items)) < 0.3
    g, t, n = target_ranks(scores, targets, excluded)
    ours = metrics_from_ranks(g, t, k)["ndcg"]
    for row in range(4):
        candidates = ~excluded[row]
        candidates[targets[row]] = True
        assert n[row] == candidates.sum()
        relevance = (np.arange(n_items) == targets[row])[candidates].astype(float)
        if candidates.sum() == 1:  # scikit-learn needs two documents
            assert ours[row] == 1.0
            continue
        expected = ndcg_score(relevance[None], scores[row, candidates][None], k=k)
        assert ours[row] == pytest.approx(expected)


def test_target_is_never_excluded_and_k_beyond_catalogue():
    scores = np.array([[0.0, 5.0, 1.0]])
    g, t, n = target_ranks(scores, np.array([0]), np.array([[True, True, False]]))
    assert (g[0], t[0], n[0]) == (1, 0, 2)  # item 1 excluded, item 2 outranks the target
    assert metrics_from_ranks(g, t, k=100)["hr"][0] == 1.0


def test_only_candidate_is_the_target():
    g, t, n = target_ranks(np.zeros((1, 3)), np.array([2]), np.array([[True, True, True]]))
    assert (g[0], t[0], n[0]) == (0, 0, 1)
    assert metrics_from_ranks(g, t, 1)["ndcg"][0] == 1.0


def test_nan_scores_and_bad_targets_are_errors():
    with pytest.raises(ValueError, match="NaN"):
        target_ranks(np.array([[np.nan, 1.0]]), np.array([0]), None)
    with pytest.raises(ValueError, match="target"):
        target_ranks(np.zeros((1, 2)), np.array([5]), None)


def test_constant_model_scores_chance(synthetic_split):
    split = synthetic_split
    users = split.eval_users("test")
    model = Fixed(np.zeros((len(users), split.n_items)))
    result = evaluate(model, split, "test", k=10)
    candidates = split.n_items - split.seen("test")[users].sum(axis=1).A.ravel()
    assert result["hr@10"] == pytest.approx(np.mean(np.minimum(10, candidates) / candidates))


def test_oracle_is_perfect_and_seen_items_cannot_help(synthetic_split):
    split = synthetic_split
    users = split.eval_users("test")
    scores = np.zeros((len(users), split.n_items))
    scores[np.arange(len(users)), split.test_targets[users]] = 1.0
    assert evaluate(Fixed(scores), split)["ndcg@10"] == pytest.approx(1.0)
    cheat = scores + 10 * split.seen("test")[users].toarray()  # seen items scored highest
    assert evaluate(Fixed(cheat), split)["ndcg@10"] == pytest.approx(1.0)


def test_wrong_shape_is_an_error(synthetic_split):
    with pytest.raises(ValueError, match="shape"):
        evaluate(Fixed(np.zeros((synthetic_split.n_users, 3))), synthetic_split)


def test_rank_frame_agrees_with_evaluate(synthetic_split):
    from recsys_tutorial import Markov

    model = Markov().fit(synthetic_split.train)
    frame = rank_frame(model, synthetic_split, "valid")
    result = evaluate(model, synthetic_split, "valid")
    assert frame["ndcg@10"].mean() == pytest.approx(result["ndcg@10"])
    assert len(frame) == result["users"]


def test_top_k_skips_excluded_items():
    top = top_k(np.array([[3.0, 2.0, 1.0, 0.0]]), np.array([[True, False, False, False]]), 2)
    assert top.tolist() == [[1, 2]]


def test_evaluation_is_fast_at_movielens_size():
    rng = np.random.default_rng(0)
    rows = [(u, i, t) for u in range(943) for t, i in enumerate(rng.choice(1682, 100, replace=False))]
    split = leave_one_out_split(pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"]))
    from recsys_tutorial import Popularity

    model = Popularity().fit(split.train)
    start = time.perf_counter()
    evaluate(model, split)
    assert time.perf_counter() - start < 1.0


def test_sampled_metrics_are_inflated():
    split = leave_one_out_split(make_platform(seed=3).interactions)
    from recsys_tutorial import Popularity

    model = Popularity().fit(split.train)
    full = evaluate(model, split)
    sampled = sampled_evaluate(model, split, n_negatives=20, seed=0)
    assert sampled["sampled_hr@10"] > full["hr@10"]
