"""Chapter 08's package: the two-tower model, the nearest-neighbour wrapper, the funnel.

On the synthetic platform and synthetic vectors; each test is fast and deterministic.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_tutorial import Popularity, bench, evaluate, rank_frame
from recsys_tutorial.retrieval.ann import (
    ANNIndex,
    exact_top_k,
    queries_per_second,
    recall_at_k,
    search_unseen,
    set_threads,
    synthetic_catalogue,
)
from recsys_tutorial.retrieval.funnel import (
    Funnel,
    ann_retriever,
    candidate_scores,
    funnel_curve,
    model_retriever,
)
from recsys_tutorial.retrieval.two_tower import TwoTower, in_batch_softmax_loss
from recsys_tutorial.sequential import SASRec


def text_vectors(n_items: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n_items, 16)).astype(np.float32)


def quick_tower(split, **kwargs) -> TwoTower:
    config = dict(item_vectors=text_vectors(split.n_items), dim=16, epochs=2, eval_every=1,
                  progress=False, device="cpu")
    return TwoTower(**{**config, **kwargs}).fit(split.train, split)


def test_defaults_are_the_bench_configuration():
    vectors = text_vectors(5)

    class Data:
        items = None

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bench, "catalogue_embeddings", lambda items: vectors)
        model = bench.MODELS["two_tower"](Data(), 7)
    assert model == dataclasses.replace(TwoTower(item_vectors=vectors), seed=7)
    assert model.loss == "logq" and model.time_budget is None


@pytest.mark.parametrize("loss", ["logq", "in-batch", "full"])
@pytest.mark.parametrize("user_encoder", ["mean", "sasrec"])
def test_every_loss_and_user_tower_trains(synthetic_split, loss, user_encoder, one_thread):
    model = quick_tower(synthetic_split, loss=loss, user_encoder=user_encoder)
    scores = model.score(synthetic_split.histories("test")[:5])
    assert scores.shape == (5, synthetic_split.n_items) and np.isfinite(scores).all()
    assert np.isfinite([h["loss"] for h in model.log_.history]).all()


def test_logq_changes_the_loss_by_the_items_sampling_probability():
    generator = torch.Generator().manual_seed(0)
    users = torch.nn.functional.normalize(torch.randn(6, 4, generator=generator), dim=1)
    ids = torch.tensor([0, 1, 2, 3, 4, 5])
    plain = in_batch_softmax_loss(users, users, ids, 1.0)
    flat = in_batch_softmax_loss(users, users, ids, 1.0, torch.full((6,), -2.0))
    assert torch.isclose(plain, flat)  # a constant correction changes nothing
    skewed = in_batch_softmax_loss(users, users, ids, 1.0, torch.log(torch.arange(1.0, 7.0) / 21))
    assert not torch.isclose(plain, skewed)


def test_a_repeated_item_is_not_its_own_negative():
    users = torch.eye(3)
    ids = torch.tensor([0, 0, 1])  # rows 0 and 1 both target item 0
    loss = in_batch_softmax_loss(users, users[[0, 0, 1]], ids, 1.0)
    # logits [[1, 1, 0], [0, 0, 1], [0, 0, 0]]; each row's copy of its own target is left out
    e = torch.e
    rows = torch.tensor([np.log(1 + 1 / e), np.log(1 + e), np.log(3.0)], dtype=torch.float32)
    assert torch.isclose(loss, rows.mean())


def test_cold_items_get_finite_scores_from_their_text(synthetic_split, one_thread):
    model = quick_tower(synthetic_split)
    vectors = model.item_embeddings()
    assert np.isfinite(vectors).all() and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    # an item the towers never saw in training still has a text vector, hence a direction
    with torch.no_grad():
        model.network_.item_tower.warm[1:] = False  # every item cold: its text part alone
        cold_vectors = model.network_.item_vectors().numpy()
    assert np.isfinite(cold_vectors).all() and (np.linalg.norm(cold_vectors, axis=1) > 0.99).all()
    scores = cold_vectors @ model.user_embeddings(synthetic_split.histories("test")[:3]).T
    assert np.isfinite(scores).all()


def test_fitting_twice_gives_the_same_scores(synthetic_split, one_thread):
    histories = synthetic_split.histories("test")[:4]
    a = quick_tower(synthetic_split).score(histories)
    b = quick_tower(synthetic_split).score(histories)
    assert np.array_equal(a, b)


def test_a_wrong_loss_is_refused(synthetic_split):
    with pytest.raises(ValueError, match="loss"):
        TwoTower(loss="sampled").fit(synthetic_split.train)


# -- nearest neighbours ---------------------------------------------------------------

@pytest.mark.parametrize("kind", ["exact", "hnsw", "ivfpq"])
def test_every_index_finds_most_exact_neighbours(kind):
    vectors = synthetic_catalogue(4000, dim=16, seed=1)
    queries, items = vectors[:50], vectors[50:]
    index = ANNIndex(kind, pq_m=4, nprobe=16).build(items)
    recall = recall_at_k(index.search(queries, 10)[1], exact_top_k(items, queries, 10))
    assert recall >= {"exact": 1.0, "hnsw": 0.95, "ivfpq": 0.4}[kind]


def test_recall_counts_shared_ids_and_never_missing_ones():
    assert recall_at_k(np.array([[1, 2, -1]]), np.array([[2, 1, 3]])) == pytest.approx(2 / 3)


def test_hnsw_is_ten_times_faster_than_exact_search_at_high_recall():
    """The issue's bar on 10^5 clustered vectors, as a ratio measured in one run."""
    set_threads(1)
    vectors = synthetic_catalogue(100_000 + 500, dim=32, seed=0)
    items, queries = vectors[:100_000], vectors[100_000:]
    exact = ANNIndex("exact").build(items)
    truth = exact.search(queries, 10)[1]
    hnsw = ANNIndex("hnsw", m=16, ef_construction=40, ef_search=32).build(items)
    recall = recall_at_k(hnsw.search(queries, 10)[1], truth)
    ratio = queries_per_second(hnsw, queries, 10) / queries_per_second(exact, queries, 10)
    assert recall >= 0.95, recall
    assert ratio >= 10, ratio


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_seen_items_never_come_back_through_an_index(data):
    kind = data.draw(st.sampled_from(["exact", "hnsw", "ivfpq"]))
    n_items, k = 300, data.draw(st.integers(1, 20))
    vectors = synthetic_catalogue(n_items + 8, dim=8, seed=2)
    index = ANNIndex(kind, m=8, ef_search=data.draw(st.integers(1, 32)), pq_m=2, nprobe=1,
                     nlist=8).build(vectors[:n_items])
    seen = [np.asarray(data.draw(st.lists(st.integers(0, n_items - 1), max_size=250)), dtype=np.int64)
            for _ in range(8)]
    seen = [s if n_items - len(np.unique(s)) >= k else s[:0] for s in seen]
    result = search_unseen(index, vectors[n_items:], seen, k)
    assert result.ids.shape == (8, k) and (result.ids >= 0).all()
    for row, s in zip(result.ids, seen):
        assert not np.isin(row, s).any() and len(set(row)) == k


def test_an_index_that_returns_too_few_says_so():
    vectors = synthetic_catalogue(400, dim=8, seed=3)
    index = ANNIndex("ivfpq", pq_m=2, nlist=10, nprobe=1).build(vectors[:390])
    seen = [np.arange(300)] * 10  # most of the catalogue seen: one cell holds too few
    with pytest.raises(RuntimeError, match="fewer than k"):
        search_unseen(index, vectors[390:], seen, 60, on_short="raise")
    result = search_unseen(index, vectors[390:], seen, 60)
    assert len(result.fallbacks) > 0 and not np.isin(result.ids, np.arange(300)).any()
    with pytest.raises(ValueError, match="fewer than k"):
        search_unseen(index, vectors[390:], seen, 100)


# -- the funnel -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sasrec(synthetic_split):
    return SASRec(dim=16, epochs=2, eval_every=1, progress=False, device="cpu").fit(
        synthetic_split.train, synthetic_split)


def test_the_funnel_over_every_item_is_the_reranker(synthetic_split, sasrec):
    funnel = Funnel(Popularity().fit(synthetic_split.train), sasrec, k=synthetic_split.n_items,
                    only_candidates=False)
    histories = synthetic_split.histories("test")
    assert np.array_equal(funnel.score(histories).astype(np.float32), sasrec.score(histories))
    for stage in ("valid", "test"):
        assert evaluate(funnel, synthetic_split, stage) == pytest.approx(
            {**evaluate(sasrec, synthetic_split, stage), "eval_seconds": pytest.approx(0, abs=1e9)})
        assert rank_frame(funnel, synthetic_split, stage).equals(rank_frame(sasrec, synthetic_split, stage))
    # scoring only the candidates' vectors gives the same scores, up to rounding
    fast = Funnel(funnel.retriever, sasrec, k=synthetic_split.n_items).score(histories)
    assert np.allclose(fast, sasrec.score(histories), atol=1e-5)


def test_the_funnel_ranks_only_its_candidates(synthetic_split, sasrec):
    pop = Popularity().fit(synthetic_split.train)
    funnel = Funnel(pop, sasrec, k=5)
    histories = synthetic_split.histories("test")[:10]
    scores = funnel.score(histories)
    found = model_retriever(pop)(histories, 5)
    for row, cands in zip(scores, found):
        others = np.setdiff1d(np.arange(len(row)), cands)
        assert row[cands].min() > row[others].max() and len(set(row[others])) == 1
    assert set(funnel.cost_per_1000()) == {"retrieve", "rerank"}


def test_candidate_scores_are_the_full_scores_read_at_the_candidates(synthetic_split, sasrec):
    histories = synthetic_split.histories("test")[:6]
    cands = np.tile(np.arange(7), (6, 1))
    assert np.allclose(candidate_scores(sasrec, histories, cands), sasrec.score(histories)[:, :7],
                       atol=1e-5)


def test_the_funnel_curve_is_capped_by_recall(synthetic_split, sasrec, one_thread):
    tower = quick_tower(synthetic_split)
    index = ANNIndex("hnsw").build(tower.item_embeddings())
    rows = funnel_curve(ann_retriever(tower, index), sasrec, synthetic_split, [10, 20])
    for row in rows:
        assert row["hr@10"] <= row["recall@k"] + 1e-12
    assert rows[0]["recall@k"] <= rows[1]["recall@k"]
