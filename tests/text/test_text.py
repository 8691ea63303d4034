"""Chapter 05: text embeddings and their cache, the cold-start split, the content
recommender and the text-based SASRec (fake encoders; no model is loaded)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from recsys_tutorial import NotFittedError, bench, evaluate, leave_one_out_split, utils
from recsys_tutorial.coldstart import cold_start_split, evaluate_by_kind
from recsys_tutorial.sequential import SASRec
from recsys_tutorial.text import (
    DEFAULT_MODEL,
    MODEL_ENV_VAR,
    ContentRecommender,
    TextItemEncoder,
    TextSASRec,
    cache_file,
    catalogue_embeddings,
    encode_items,
    item_text,
    recency_weights,
    resolve_model_name,
)


class CountingEncoder:
    """A fake sentence encoder: a hash of each text as a vector; counts its calls."""

    def __init__(self, dim: int = 8):
        self.dim, self.calls = dim, 0

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        return np.stack([np.random.default_rng(abs(hash(t)) % 2**32).normal(size=self.dim) for t in texts])


# -- item text and the embedding cache ----------------------------------------------------

def test_item_text_reads_like_a_sentence():
    assert item_text("Toy Story (1995)", 1995, ["Animation", "Comedy"]) == \
        "Toy Story (1995). Genres: Animation, Comedy."
    # the shared title cleaner puts every article it knows back in front
    assert item_text("Usual Suspects, The (1995)", 1995, []) == "The Usual Suspects (1995)"
    assert item_text("Postino, Il (1994)", 1994, ["Drama"]) == "Il Postino (1994). Genres: Drama."
    assert item_text("Enfer, L' (1994)", 1994, []) == "L'Enfer (1994)"
    assert item_text("Nameless", pd.NA, ["unknown"]) == "Nameless"
    assert item_text("Heat", 1995, []) == "Heat (1995)"


def test_model_name_resolution(monkeypatch):
    monkeypatch.delenv(MODEL_ENV_VAR, raising=False)
    assert resolve_model_name() == DEFAULT_MODEL
    monkeypatch.setenv(MODEL_ENV_VAR, "some/other-model")
    assert resolve_model_name() == "some/other-model"
    assert resolve_model_name("explicit/model") == "explicit/model"


def test_cache_is_keyed_by_model_and_text(tmp_path):
    encoder = CountingEncoder()
    texts = ["a film", "another film", "a third"]
    assert not cache_file(texts, "fake/a", tmp_path).exists()
    first = encode_items(texts, "fake/a", tmp_path, encoder=encoder)
    assert cache_file(texts, "fake/a", tmp_path).exists()
    assert first.shape == (3, 8) and first.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, rtol=1e-5)
    again = encode_items(texts, "fake/a", tmp_path, encoder=encoder)
    assert encoder.calls == 1, "same model and texts: a cache hit"
    np.testing.assert_array_equal(first, again)
    encode_items(texts, "fake/b", tmp_path, encoder=encoder)
    assert encoder.calls == 2, "another model: a miss"
    encode_items([*texts[:2], "a changed text"], "fake/a", tmp_path, encoder=encoder)
    assert encoder.calls == 3, "another text: a miss"
    encode_items(texts[::-1], "fake/a", tmp_path, encoder=encoder)
    assert encoder.calls == 4, "another order: a miss (rows follow the texts)"
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 4 and all(name.endswith(".npy") and not name.startswith(".") for name in files)


def test_default_cache_is_the_shared_one():
    assert cache_file(["a film"], "fake/a").parent == utils.cache_dir("text_embeddings")


def test_a_failed_write_leaves_no_file(tmp_path, monkeypatch):
    def disk_full(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "save", disk_full)
    with pytest.raises(OSError, match="disk full"):
        encode_items(["x", "y"], "fake/a", tmp_path, encoder=CountingEncoder())
    assert not list(tmp_path.iterdir()), "neither the file nor a temporary one is left"


def test_corrupt_cache_file_is_replaced(tmp_path):
    encoder = CountingEncoder()
    encode_items(["x", "y"], "fake/a", tmp_path, encoder=encoder)
    (path,) = tmp_path.iterdir()
    path.write_bytes(b"not an array")
    vectors = encode_items(["x", "y"], "fake/a", tmp_path, encoder=encoder)
    assert encoder.calls == 2 and vectors.shape == (2, 8)


def test_a_fake_encoder_cannot_take_the_real_models_name(tmp_path):
    with pytest.raises(ValueError, match="model_name"):
        encode_items(["x"], None, tmp_path, encoder=CountingEncoder())


def test_catalogue_embeddings_are_indexed_by_item_id(tmp_path):
    items = pd.DataFrame({"title": ["B (1990)", "A (1991)"], "year": [1990, 1991],
                          "genres": [["Drama"], ["Comedy"]]}, index=pd.Index([7, 3], name="item_id"))
    frame = catalogue_embeddings(items, "fake/a", tmp_path, encoder=CountingEncoder())
    assert list(frame.index) == [7, 3] and frame.shape == (2, 8)


# -- the cold-start split -----------------------------------------------------------------

@pytest.fixture(scope="module")
def cold_split(platform):
    return cold_start_split(platform.interactions, fraction=0.15, min_interactions=5, seed=3)


def test_cold_items_never_reach_training(cold_split):
    cold = set(cold_split.cold_items.tolist())
    assert len(cold) == round(0.15 * cold_split.n_items)
    assert not cold & set(np.concatenate(cold_split.train.sequences).tolist())
    assert (cold_split.train.item_counts()[cold_split.cold_items] == 0).all()
    for hidden in cold_split.hidden:
        assert set(hidden.tolist()) <= cold


def test_cold_split_keeps_the_standard_targets(platform, cold_split):
    standard = leave_one_out_split(platform.interactions)
    np.testing.assert_array_equal(cold_split.test_targets, standard.test_targets)
    np.testing.assert_array_equal(cold_split.valid_targets, standard.valid_targets)
    assert (cold_split.target_kinds("test") == "cold").sum() > 0
    for kept, hidden, full in zip(cold_split.train.sequences, cold_split.hidden, standard.train.sequences):
        assert len(kept) + len(hidden) == len(full)
        np.testing.assert_array_equal(kept, full[~np.isin(full, cold_split.cold_items)])


def test_hidden_cold_items_are_excluded_from_ranking(cold_split):
    seen = cold_split.seen("test")
    for user, hidden in enumerate(cold_split.hidden):
        assert seen[user, hidden].sum() == len(np.unique(hidden))


def test_split_is_fixed_and_fingerprinted(platform, cold_split):
    same = cold_start_split(platform.interactions, fraction=0.15, min_interactions=5, seed=3)
    other = cold_start_split(platform.interactions, fraction=0.15, min_interactions=5, seed=4)
    assert same.fingerprint == cold_split.fingerprint != other.fingerprint
    np.testing.assert_array_equal(same.cold_items, cold_split.cold_items)
    assert cold_split.fingerprint != leave_one_out_split(platform.interactions).fingerprint


def test_warm_and_cold_users_partition_the_evaluation(cold_split):
    from recsys_tutorial import Popularity

    model = Popularity().fit(cold_split.train)
    results = evaluate_by_kind(model, cold_split)
    assert results["warm"]["users"] + results["cold"]["users"] == results["all"]["users"]
    weighted = sum(results[k]["ndcg@10"] * results[k]["users"] for k in ("warm", "cold"))
    assert weighted / results["all"]["users"] == pytest.approx(results["all"]["ndcg@10"])
    assert results["cold"]["hr@10"] == 0.0, "popularity gives cold items a zero count"
    assert evaluate(model, cold_split.restrict("test", "cold"), "test")["users"] == results["cold"]["users"]
    with pytest.raises(ValueError):
        cold_split.restrict("test", "lukewarm")


# -- the zero-shot content recommender ----------------------------------------------------

def test_recency_weights():
    np.testing.assert_allclose(recency_weights(3, 0.5), [0.25, 0.5, 1.0])


def test_content_recommender_ranks_by_text_similarity(synthetic_split):
    n = synthetic_split.n_items
    vectors = np.zeros((n, 3))
    vectors[:, 2] = 1.0
    vectors[0], vectors[1], vectors[2] = [1, 0, 0], [0.9, 0.1, 0], [0, 1, 0]
    model = ContentRecommender(vectors, decay=0.5).fit(synthetic_split.train)
    scores = model.score([np.array([0]), np.array([0, 2]), np.array([], dtype=int)])
    assert scores.shape == (3, n)
    assert np.argsort(-scores[0])[:2].tolist() == [0, 1]
    assert scores[1, 2] > scores[1, 1], "the latest item weighs most"
    assert not scores[2].any(), "an empty history scores nothing"


def test_content_recommender_takes_a_frame_by_item_id(synthetic_split):
    ids = synthetic_split.item_ids
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(len(ids), 4)), index=ids[::-1])  # any order
    model = ContentRecommender(frame).fit(synthetic_split.train)
    np.testing.assert_allclose(model.vectors_[0] * np.linalg.norm(frame.loc[ids[0]]), frame.loc[ids[0]],
                               rtol=1e-5)
    with pytest.raises(KeyError):
        ContentRecommender(frame.iloc[1:]).fit(synthetic_split.train)


# -- the text-based SASRec ----------------------------------------------------------------

def test_text_encoder_gives_cold_items_text_only():
    rng = np.random.default_rng(0)
    text = rng.normal(size=(5, 6))
    warm = np.array([True, True, True, False, False])
    encoder = TextItemEncoder(text, dim=4, use_ids=True, warm=warm, dropout=0.0).eval()
    tokens = torch.tensor([[0, 1, 4, 5]])
    out = encoder(tokens)
    assert torch.equal(out[0, 0], torch.zeros(4)), "padding is the zero vector"
    text_only = TextItemEncoder(text, dim=4, use_ids=False, dropout=0.0).eval()
    text_only.load_state_dict({k: v for k, v in encoder.state_dict().items() if not k.startswith("ids")},
                              strict=False)
    torch.testing.assert_close(out[0, 2:], text_only(tokens)[0, 2:])  # cold: no id vector
    assert not torch.allclose(out[0, 1], text_only(tokens)[0, 1])  # warm: text + id


def test_text_sasrec_scores_items_absent_from_training(platform, cold_split):
    # Texts that say which topic a film belongs to: a trained text model should rank
    # the cold films of a history's topic above the other cold films.
    topics = platform.item_topic[cold_split.item_ids - 1]
    rng = np.random.default_rng(0)
    text = np.eye(topics.max() + 1)[topics] + 0.1 * rng.normal(size=(len(topics), topics.max() + 1))
    model = TextSASRec(item_vectors=text, max_len=20, dim=16, epochs=6, lr=1e-2, batch_size=64,
                       progress=False, dropout=0.0, text_dropout=0.0, seed=0)
    model.fit(cold_split.train)
    cold = cold_split.cold_items
    histories = [np.flatnonzero((topics == t) & ~cold_split.is_cold)[:8] for t in range(topics.max() + 1)]
    scores = model.score(histories)
    assert scores.shape == (len(histories), cold_split.n_items) and np.isfinite(scores).all()
    hits = [topics[cold[np.argmax(scores[t, cold])]] == t for t in range(len(histories))]
    assert np.mean(hits) >= 0.75, "the best cold film should share the history's topic"
    results = evaluate_by_kind(model, cold_split)
    assert results["cold"]["hr@10"] > 0.0


def test_text_sasrec_is_sasrec_with_another_item_encoder(synthetic_split):
    text = np.random.default_rng(0).normal(size=(synthetic_split.n_items, 6))
    config = dict(max_len=10, dim=8, epochs=1, progress=False, device="cpu")
    ids, texts = SASRec(**config).fit(synthetic_split.train), TextSASRec(item_vectors=text, **config)
    texts.fit(synthetic_split.train)
    assert isinstance(texts.network_.item_encoder, TextItemEncoder)
    shapes = {name: p.shape for name, p in ids.network_.named_parameters()
              if not name.startswith("item_encoder")}
    assert shapes == {name: p.shape for name, p in texts.network_.named_parameters()
                      if not name.startswith("item_encoder")}, "the same transformer"
    encoder = sum(p.numel() for p in texts.network_.item_encoder.parameters())
    assert encoder == 6 + 6 * 8 + 8, "centre, projection: the text vectors are a frozen buffer"
    assert texts.n_parameters == sum(shape.numel() for shape in shapes.values()) + encoder


def test_text_sasrec_trains_on_warm_items_only(cold_split):
    text = np.random.default_rng(0).normal(size=(cold_split.n_items, 6))
    model = TextSASRec(item_vectors=text, max_len=10, dim=8, epochs=1, progress=False,
                       device="cpu").fit(cold_split.train)
    warm = model.trainable_items()
    assert warm.tolist() == (cold_split.train.item_counts() > 0).tolist()
    assert not warm[cold_split.cold_items].any()
    model.network_.eval()
    inputs, targets = next(model.batches(np.random.default_rng(0)))
    hidden = model.network_(inputs)[targets > 0]
    logits = hidden @ model.network_.item_vectors()[warm].T  # cold items are not in the softmax
    position = torch.cumsum(warm, 0) - 1  # an item's column among the warm ones
    expected = torch.nn.functional.cross_entropy(logits, position[targets[targets > 0] - 1])
    torch.testing.assert_close(model.training_loss((inputs, targets)), expected)


def test_content_and_text_models_say_when_they_are_not_fitted():
    text = np.eye(3)
    for model in (ContentRecommender(text), TextSASRec(item_vectors=text)):
        with pytest.raises(NotFittedError, match="not fitted"):
            model.score([np.array([0])])
        with pytest.raises(NotFittedError):
            model.n_parameters  # noqa: B018


def test_content_recommender_learns_nothing_and_keeps_float32_unit_rows(synthetic_split):
    vectors = np.random.default_rng(0).normal(size=(synthetic_split.n_items, 4))  # float64
    vectors[3] = 0.0  # an item without text stays the zero vector
    model = ContentRecommender(vectors).fit(synthetic_split.train)
    assert model.n_parameters == 0
    assert model.vectors_.dtype == np.float32 and not model.vectors_[3].any()
    np.testing.assert_allclose(np.linalg.norm(np.delete(model.vectors_, 3, axis=0), axis=1), 1.0,
                               rtol=1e-6)
    assert model.score([np.array([0, 1])]).dtype == np.float32


# -- defaults are the configurations that bench registers ------------------------------------

@pytest.fixture
def bench_text_models(monkeypatch):
    """bench's chapter-05 factories, with a fake catalogue (no encoder is loaded)."""
    frame = pd.DataFrame(np.eye(3), index=[1, 2, 3])
    monkeypatch.setattr(bench, "catalogue_embeddings", lambda items: frame)
    data = type("FakeMovieLens", (), {"items": frame})()
    return frame, {name: bench.MODELS[name](data, 7) for name in ("content", "text_sasrec", "text_id_sasrec")}


def _fields(model) -> dict[str, object]:
    return {f.name: getattr(model, f.name) for f in dataclasses.fields(model) if f.name != "item_vectors"}


def test_text_defaults_are_the_bench_configurations(bench_text_models):
    frame, models = bench_text_models
    assert _fields(models["content"]) == _fields(ContentRecommender(frame))
    assert _fields(models["text_sasrec"]) == _fields(TextSASRec(seed=7))
    assert _fields(models["text_id_sasrec"]) == _fields(TextSASRec(use_ids=True, id_dropout=0.5, seed=7))
    assert all(model.item_vectors is frame for model in models.values())
    assert TextSASRec().time_budget is None, "no time box decides a reported number"
