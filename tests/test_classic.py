"""EASE and ALS: the closed forms checked by brute force, the fold-in, the seeds, bench."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from implicit.cpu.als import AlternatingLeastSquares

from recsys_tutorial import bench, evaluate
from recsys_tutorial.baselines import Popularity
from recsys_tutorial.classic import ALS, EASE, ease_weights, fold_in, indicator
from recsys_tutorial.protocol import NotFittedError


def test_ease_is_the_constrained_least_squares_solution():
    """Column by column, EASE solves ridge regression of item j on the other items."""
    x = np.random.default_rng(0).integers(0, 2, size=(12, 5)).astype(float)
    lam = 3.0
    weights = ease_weights(indicator([np.flatnonzero(row) for row in x], 5), lam)
    assert np.all(np.diag(weights) == 0)
    for j in range(5):
        others = [i for i in range(5) if i != j]
        a = x[:, others]
        ridge = np.linalg.solve(a.T @ a + lam * np.eye(4), a.T @ x[:, j])
        np.testing.assert_allclose(weights[others, j], ridge, rtol=1e-8, atol=1e-10)
    precision = np.linalg.inv(x.T @ x + lam * np.eye(5))
    np.testing.assert_allclose(weights, np.eye(5) - precision / np.diag(precision), atol=1e-12)


def test_ease_scores_are_the_history_times_the_weights(synthetic_split):
    model = EASE(lam=50.0).fit(synthetic_split.train)
    history = np.array([3, 7, 7, 11])  # a repeated item counts once
    expected = model.weights_[[3, 7, 11]].sum(axis=0)
    np.testing.assert_allclose(model.score([history])[0], expected)
    assert model.n_parameters == synthetic_split.n_items * (synthetic_split.n_items - 1)


@pytest.mark.parametrize("model", [EASE(lam=50.0), ALS(factors=8, iterations=5)], ids=type)
def test_scores_exclude_nothing(model, synthetic_split):
    """Seen items are scored like any other: excluding them is the evaluation's job."""
    model.fit(synthetic_split.train)
    histories = synthetic_split.histories("valid")[:20]
    scores = model.score(histories)
    seen = indicator(histories, synthetic_split.n_items).toarray() > 0
    assert np.isfinite(scores).all()
    assert np.ptp(scores[seen]) > 0  # seen items get ordinary, varied scores


def test_the_fold_in_is_implicits_user_solve(synthetic_split):
    train = synthetic_split.train
    model = AlternatingLeastSquares(factors=8, regularization=0.5, alpha=5.0, iterations=10,
                                    random_state=0, num_threads=1)
    model.fit(train.matrix().astype(np.float32), show_progress=False)
    histories = list(train.sequences[:15])
    ours = fold_in(histories, model.item_factors, 0.5, 5.0, batch=4)
    theirs = model.recalculate_user(np.arange(15), indicator(histories, train.n_items))
    np.testing.assert_allclose(ours, theirs, rtol=1e-3, atol=1e-5)
    # and close to the factors training left (one half-step staler, and solved by CG)
    gap = np.linalg.norm(ours - model.user_factors[:15]) / np.linalg.norm(ours)
    assert gap < 0.2


def test_a_training_user_folded_in_ranks_its_own_items_high(synthetic_split):
    train = synthetic_split.train
    model = ALS(factors=16, regularization=1.0, alpha=10.0).fit(train)
    histories = list(train.sequences[:30])
    scores = model.score(histories)
    seen = indicator(histories, train.n_items).toarray() > 0
    ranks = (-scores).argsort(axis=1).argsort(axis=1)
    assert np.median(ranks[seen]) < 0.25 * train.n_items
    assert not model.user_factors([np.array([], dtype=np.int64)]).any()  # empty: zero


def test_als_is_seeded(synthetic_split):
    histories = synthetic_split.histories("test")[:10]

    def scores(seed: int) -> np.ndarray:
        return ALS(factors=8, iterations=5, seed=seed).fit(synthetic_split.train).score(histories)

    np.testing.assert_array_equal(scores(0), scores(0))
    assert not np.allclose(scores(0), scores(1))


def test_both_beat_popularity_on_structured_data(synthetic_split):
    pop = evaluate(Popularity().fit(synthetic_split.train), synthetic_split)["ndcg@10"]
    ease = evaluate(EASE(lam=50.0).fit(synthetic_split.train), synthetic_split)["ndcg@10"]
    als = evaluate(ALS(factors=16).fit(synthetic_split.train), synthetic_split)["ndcg@10"]
    assert ease > pop and als > pop


@pytest.mark.parametrize("model", [EASE(), ALS()], ids=type)
def test_unfitted_models_say_so(model):
    with pytest.raises(NotFittedError, match="fit"):
        model.score([np.array([1])])
    with pytest.raises(NotFittedError):
        model.n_parameters  # noqa: B018


def test_ease_rejects_a_non_positive_lambda(synthetic_split):
    with pytest.raises(ValueError, match="lam"):
        EASE(lam=0.0).fit(synthetic_split.train)


@pytest.mark.parametrize(("name", "model_class"), [("ease", EASE), ("mf", ALS)])
def test_bench_builds_the_default_model(name, model_class):
    """The defaults are the configuration chosen on validation, and bench registers them."""
    model = bench.MODELS[name](None, 7)
    seeded = {"seed": 7} if "seed" in {f.name for f in dataclasses.fields(model_class)} else {}
    assert model == model_class(**seeded)
