"""The generative retriever (chapter 07): the protocol, its token rows, its IDs, training."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from recsys_tutorial import NotFittedError
from recsys_tutorial.generative.decoding import beam_against_exact
from recsys_tutorial.generative.ids import random_ids
from recsys_tutorial.generative.retriever import GenerativeRetriever, code_rows

pytestmark = pytest.mark.usefixtures("one_thread")


FAST = dict(max_len=6, dim=16, epochs=2, eval_every=1, batch_size=64, levels=2, codebook=4,
            progress=False, device="cpu")


def test_code_rows_put_the_start_token_before_the_latest_items():
    item_tokens = np.array([[1, 4], [2, 5], [3, 6]])
    out = code_rows(item_tokens, [np.array([0, 1, 2]), np.array([2]), np.array([], dtype=int)], 2, 9)
    assert out.tolist() == [[9, 2, 5, 3, 6], [0, 0, 9, 3, 6], [0, 0, 0, 0, 9]]


def test_protocol(synthetic_split):
    histories = [np.array([], dtype=np.int64), np.array([0]), *synthetic_split.histories("test")[:3]]
    model = GenerativeRetriever(id_method="random", **FAST)
    with pytest.raises(NotFittedError, match="fit"):
        model.score(histories)
    assert model.fit(synthetic_split.train, valid=synthetic_split) is model
    scores = model.score(histories)
    assert scores.shape == (len(histories), synthetic_split.n_items) and scores.dtype == np.float32
    assert np.isfinite(scores).all() and (scores <= 0).all()  # log-probabilities
    assert np.exp(scores).sum(1).max() <= 1 + 1e-4
    again = GenerativeRetriever(id_method="random", **FAST).fit(synthetic_split.train, valid=synthetic_split)
    assert np.array_equal(scores, again.score(histories))
    assert isinstance(model.n_parameters, int) and model.n_parameters > 0
    assert model.ids_.n_items == synthetic_split.n_items and model.ids_.method == "random"


def test_score_is_the_same_in_any_batch(synthetic_split):
    model = GenerativeRetriever(id_method="random", **FAST).fit(synthetic_split.train)
    histories = synthetic_split.histories("test")[:9]
    np.testing.assert_allclose(model.score(histories, batch_size=4), model.score(histories), atol=1e-5)


def test_ids_from_vectors_in_either_form(synthetic_split):
    train = synthetic_split.train
    rng = np.random.default_rng(0)
    vectors = pd.DataFrame(rng.normal(size=(train.n_items, 8)), index=train.item_ids[::-1].copy())
    as_frame = GenerativeRetriever(item_vectors=vectors, **FAST).build_ids(train)
    as_array = GenerativeRetriever(item_vectors=vectors.loc[train.item_ids].to_numpy(),
                                   **FAST).build_ids(train)
    assert as_frame.method == "rq-kmeans" and as_frame.n_items == train.n_items
    assert np.array_equal(as_frame.codes, as_array.codes)  # the frame is reindexed by item id
    with pytest.raises(ValueError, match="item_vectors"):
        GenerativeRetriever(**FAST).build_ids(train)
    with pytest.raises(ValueError, match="id_method"):
        GenerativeRetriever(id_method="bpe", **FAST).build_ids(train)
    with pytest.raises(ValueError, match="IDs for"):
        GenerativeRetriever(ids=random_ids(train.n_items + 1, 2, 4), **FAST).fit(train)


def test_training_lowers_the_loss_and_beats_chance(synthetic_split):
    settings = {**FAST, "dim": 32, "epochs": 8, "eval_every": 4, "lr": 5e-3}
    model = GenerativeRetriever(id_method="random", **settings)
    model.fit(synthetic_split.train, valid=synthetic_split)
    losses = [r["loss"] for r in model.log_.history]
    assert losses[-1] < losses[0]
    histories = synthetic_split.histories("valid")
    unseen = [synthetic_split.n_items - len(set(histories[u])) for u in synthetic_split.eval_users("valid")]
    discounts = 1 / np.log2(np.arange(2, 12))
    chance = np.mean([discounts[:min(10, n)].sum() / n for n in unseen])  # NDCG@10 of a random order
    assert model.log_.best_score > 1.25 * chance


def test_beam_search_follows_the_scores(synthetic_split):
    model = GenerativeRetriever(id_method="random", **FAST).fit(synthetic_split.train)
    histories = synthetic_split.histories("test")[:5]
    top = model.beam_search(histories, k=5, beam=synthetic_split.n_items)
    scores = model.score(histories)
    for u, history in enumerate(histories):
        assert not np.isin(top[u], history).any()
        scores[u, history] = -np.inf
    assert (top == np.argsort(-scores, axis=1, kind="stable")[:, :5]).all()
    with_seen = model.beam_search(histories, k=5, beam=synthetic_split.n_items, exclude_seen=False)
    assert (with_seen == np.argsort(-model.score(histories), axis=1, kind="stable")[:, :5]).all()
    table = beam_against_exact(model, histories, widths=(1, synthetic_split.n_items), k=5)
    assert table["decoding"].tolist() == ["exact", "beam", "beam"]
    assert table["recall"].iloc[-1] == 1.0 and table["all_found"].iloc[-1] == 1.0
    assert 0 < table["recall"].iloc[1] <= 1 and (table["ms_per_user"] > 0).all()


def test_cold_codes_even_changes_only_the_items_absent_from_training(synthetic_split):
    train = synthetic_split.train
    held_out = np.array([2, 7])
    sequences = tuple(s[~np.isin(s, held_out)] for s in train.sequences)
    cold_train = dataclasses.replace(train, sequences=sequences)
    histories = synthetic_split.histories("test")[:4]
    model = GenerativeRetriever(id_method="random", **FAST).fit(cold_train)
    even = dataclasses.replace(model).set_cold_codes("even", cold_train)
    assert even.unlearned_[held_out].all()
    changed = (model.score(histories) != even.score(histories)).any(0)
    assert changed[held_out].all() and not changed[~even.unlearned_].any()
    with pytest.raises(ValueError, match="cold_codes"):
        GenerativeRetriever(id_method="random", cold_codes="zero", **FAST).fit(cold_train)
    with pytest.raises(ValueError, match="cold_codes"):
        even.set_cold_codes("zero", cold_train)
