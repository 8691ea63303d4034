"""The new-item prior of chapter 07, on chapter 05's cold-start split."""

from __future__ import annotations

import numpy as np
import pytest

from recsys_tutorial import Popularity
from recsys_tutorial.coldstart import NewItemPrior, cold_start_split, evaluate_by_kind, prior_curve


@pytest.fixture(scope="module")
def cold_split(platform):
    return cold_start_split(platform.interactions, fraction=0.25, min_interactions=5, seed=3)


class Fixed:
    """Scores given in advance: one seeded random row per history length."""

    def __init__(self, n_items: int):
        self.n_items = n_items

    def score(self, histories):
        return np.stack([np.random.default_rng(len(h)).normal(size=self.n_items) for h in histories])


def test_prior_adds_the_bonus_to_new_items_only(cold_split):
    new = cold_split.train.item_counts() == 0
    base = Fixed(cold_split.n_items)
    histories = cold_split.histories("test")[:5]
    raised = NewItemPrior(base, new, bonus=2.5).score(histories)
    np.testing.assert_allclose(raised - base.score(histories), 2.5 * new[None, :].repeat(5, 0))


def test_curve_at_zero_is_the_protocol_and_a_large_bonus_ranks_new_items_first(cold_split):
    model = Popularity().fit(cold_split.train)
    curve = prior_curve(model, cold_split, "test", [0.0, 1e6])
    by_kind = evaluate_by_kind(model, cold_split, "test")
    assert curve.loc[0.0, "all NDCG@10"] == pytest.approx(by_kind["all"]["ndcg@10"])
    assert curve.loc[0.0, "warm NDCG@10"] == pytest.approx(by_kind["warm"]["ndcg@10"])
    assert curve.loc[0.0, "cold NDCG@10"] == 0.0, "popularity never ranks a new item"
    # a huge bonus puts every new item above every old one: warm targets fall out of
    # the top 10 when there are at least 10 unseen new items, cold ones rise
    new_count = int((cold_split.train.item_counts() == 0).sum())
    assert new_count >= 10
    assert curve.loc[1e6, "cold NDCG@10"] > 0.0
    assert curve.loc[1e6, "warm NDCG@10"] < curve.loc[0.0, "warm NDCG@10"]
    wrapped = NewItemPrior(model, cold_split.train.item_counts() == 0, bonus=1e6)
    assert evaluate_by_kind(wrapped, cold_split, "test")["cold"]["ndcg@10"] == pytest.approx(
        curve.loc[1e6, "cold NDCG@10"])
