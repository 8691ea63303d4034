"""Chapter 07: semantic IDs, their diagnostics, RQ-KMeans, RQ-VAE and the random baseline."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import adjusted_rand_score

from recsys_tutorial.generative.ids import (
    MAX_LEVELS,
    SemanticIDs,
    check_vectors,
    disambiguate,
    mean_vector_error,
    random_ids,
)
from recsys_tutorial.generative.rq_kmeans import rq_kmeans
from recsys_tutorial.generative.rq_vae import reseed_dead_codes, rq_vae, train_rq_vae


def blobs(n_clusters: int = 8, per_cluster: int = 30, dim: int = 16, seed: int = 0):
    """Well-separated Gaussian blobs: centres far apart, small noise."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=10.0, size=(n_clusters, dim))
    labels = np.repeat(np.arange(n_clusters), per_cluster)
    return centres[labels] + rng.normal(scale=0.3, size=(len(labels), dim)), labels


# --- disambiguation and the ID table ---------------------------------------------------------


def test_disambiguate_ranks_items_within_their_prefix():
    content = np.array([[0, 1], [2, 3], [0, 1], [0, 1], [2, 3], [1, 1]])
    codes = disambiguate(content)
    np.testing.assert_array_equal(codes[:, :2], content)
    np.testing.assert_array_equal(codes[:, 2], [0, 0, 1, 2, 1, 0])


@settings(max_examples=100, deadline=None)
@given(arrays(np.int64, st.tuples(st.integers(1, 60), st.integers(1, 4)), elements=st.integers(0, 3)))
def test_disambiguated_ids_are_unique(content):
    codes = disambiguate(content)
    assert codes.shape == (len(content), content.shape[1] + 1)
    np.testing.assert_array_equal(codes[:, :-1], content)
    assert len(np.unique(codes, axis=0)) == len(codes)
    _, counts = np.unique(content, axis=0, return_counts=True)
    assert codes[:, -1].max() + 1 == counts.max()  # the last codebook: the largest group
    ids = SemanticIDs(codes, (4,) * content.shape[1] + (int(counts.max()),), "test")
    assert ids.collisions() == len(content) - len(counts)


def test_tokens_and_offsets():
    ids = SemanticIDs(np.array([[0, 2, 0], [1, 2, 0], [1, 2, 1]]), (2, 3, 2), "test")
    assert (ids.n_items, ids.n_levels, ids.vocab_size) == (3, 3, 7)
    np.testing.assert_array_equal(ids.offsets, [0, 2, 5])
    np.testing.assert_array_equal(ids.tokens(np.array([2, 0])), [[1, 4, 6], [0, 4, 5]])
    assert ids.collisions() == 1


def test_usage_counts_codes_and_perplexity():
    codes = disambiguate(np.array([[0, 0], [1, 0], [2, 0], [3, 0]]))
    usage = SemanticIDs(codes, (4, 2, 1), "test").usage()
    assert list(usage.index) == [1, 2]
    assert list(usage["used"]) == [4, 1]
    np.testing.assert_allclose(usage["perplexity"], [4.0, 1.0])  # uniform over 4; collapsed


def test_the_table_is_read_only_and_checked():
    ids = SemanticIDs(np.array([[0, 0], [1, 0]]), (2, 1), "test")
    with pytest.raises(ValueError):
        ids.codes[0, 0] = 1
    with pytest.raises(ValueError, match="share an ID"):
        SemanticIDs(np.array([[0, 0], [0, 0]]), (1, 1), "test")
    with pytest.raises(ValueError, match="sizes"):
        SemanticIDs(np.array([[0, 0], [1, 0]]), (2,), "test")
    with pytest.raises(ValueError, match="integers"):
        SemanticIDs(np.array([[0.5, 0], [1, 0]]), (2, 1), "test")
    with pytest.raises(ValueError, match="lie in"):
        SemanticIDs(np.array([[0, 0], [2, 0]]), (2, 1), "test")


# --- random IDs ------------------------------------------------------------------------------


def test_random_ids_have_the_shape_and_are_unique_and_seeded():
    ids = random_ids(500, levels=2, codebook=8, seed=3)
    assert ids.codes.shape == (500, 3) and ids.sizes[:2] == (8, 8) and ids.method == "random"
    assert len(np.unique(ids.codes, axis=0)) == 500
    np.testing.assert_array_equal(ids.codes, random_ids(500, levels=2, codebook=8, seed=3).codes)
    assert not np.array_equal(ids.codes, random_ids(500, levels=2, codebook=8, seed=4).codes)
    assert ids.reconstruction_error is None


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_items": 0}, "n_items"),
        ({"levels": 0}, "levels"),
        ({"levels": MAX_LEVELS + 1}, "levels"),
        ({"codebook": 1}, "codebook"),
    ],
)
def test_random_ids_reject_bad_shapes(kwargs, match):
    with pytest.raises(ValueError, match=match):
        random_ids(**{"n_items": 10, **kwargs})


# --- RQ-KMeans -------------------------------------------------------------------------------


def test_rq_kmeans_recovers_the_clusters_at_its_first_level():
    x, labels = blobs()
    ids = rq_kmeans(x, levels=2, codebook=8, normalise=False)
    assert adjusted_rand_score(labels, ids.codes[:, 0]) == 1.0
    assert ids.method == "rq-kmeans" and ids.sizes[:2] == (8, 8)
    assert len(np.unique(ids.codes, axis=0)) == len(x)


def test_rq_kmeans_error_falls_with_each_level_and_is_seeded():
    x, _ = blobs(n_clusters=6, dim=8, seed=1)
    errors = [rq_kmeans(x, levels, 6, normalise=False).reconstruction_error for levels in (1, 2, 3)]
    assert errors[0] < mean_vector_error(x, normalise=False)
    assert errors[2] < errors[1] < errors[0]
    again = rq_kmeans(x, levels=3, codebook=6, normalise=False)
    np.testing.assert_array_equal(again.codes, rq_kmeans(x, levels=3, codebook=6, normalise=False).codes)


def test_rq_kmeans_with_a_code_per_item_stops_at_zero_residuals():
    x = np.random.default_rng(0).normal(size=(12, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no k-means on points that are all zero
        ids = rq_kmeans(x, levels=3, codebook=12)
    assert len(np.unique(ids.codes[:, 0])) == 12 and (ids.codes[:, 1:] == 0).all()
    assert ids.reconstruction_error < 1e-12 and ids.collisions() == 0


def test_rq_kmeans_normalises_the_rows_by_default():
    x, _ = blobs(n_clusters=4, dim=8)
    scaled = x * np.random.default_rng(0).uniform(1, 100, size=(len(x), 1))  # lengths vary, directions kept
    np.testing.assert_array_equal(rq_kmeans(x, 2, 4).codes, rq_kmeans(scaled, 2, 4).codes)
    assert rq_kmeans(scaled, 2, 4).reconstruction_error < 1.0  # measured on the unit rows


@pytest.mark.parametrize(
    "vectors, kwargs, match",
    [
        (np.full((10, 3), np.nan), {}, "NaN"),
        (np.ones(10), {}, "matrix"),
        (np.zeros((10, 3)), {}, "zero vector"),
        (np.ones((10, 3)), {"levels": 0}, "levels"),
        (np.ones((10, 3)), {"codebook": 1}, "codebook"),
        (np.ones((10, 3)), {"codebook": 11}, "only 10 items"),
    ],
)
def test_rq_kmeans_rejects_bad_input(vectors, kwargs, match):
    with pytest.raises(ValueError, match=match):
        rq_kmeans(vectors, **{"codebook": 2, **kwargs})


# --- RQ-VAE ----------------------------------------------------------------------------------

SMALL = {"latent": 8, "hidden": 32, "epochs": 30, "lr": 3e-3, "batch_size": 64}


def test_rq_vae_reconstructs_better_than_the_mean_and_uses_its_codes():
    x, labels = blobs()
    ids = rq_vae(x, levels=2, codebook=8, **SMALL)
    assert ids.method == "rq-vae" and ids.codes.shape == (len(x), 3)
    assert len(np.unique(ids.codes, axis=0)) == len(x)
    assert ids.reconstruction_error < 0.2 * mean_vector_error(x)
    assert ids.usage().loc[1, "perplexity"] > 4  # not collapsed onto a few codes
    assert adjusted_rand_score(labels, ids.codes[:, 0]) > 0.9


def test_rq_vae_is_seeded():
    x, _ = blobs(n_clusters=4, per_cluster=20)
    first, again = (rq_vae(x, 2, 4, seed=1, **SMALL) for _ in range(2))
    np.testing.assert_array_equal(first.codes, again.codes)
    assert first.reconstruction_error == again.reconstruction_error


def test_rq_vae_leaves_the_global_state_alone_and_can_show_progress(capsys):
    x, _ = blobs(n_clusters=4, per_cluster=10)
    threads, state = torch.get_num_threads(), torch.random.get_rng_state()
    rq_vae(x, 2, 4, **{**SMALL, "epochs": 2}, progress=True)
    assert torch.get_num_threads() == threads
    assert torch.equal(torch.random.get_rng_state(), state)
    assert "RQ-VAE" in capsys.readouterr().err


def test_reseeding_revives_dead_codes():
    x, _ = blobs()
    unit = check_vectors(x)
    kwargs = {**SMALL, "levels": 2, "codebook": 8, "init": "random"}  # random codes: most start dead
    used = {}
    for reseed in (False, True):
        model, history = train_rq_vae(unit, reseed=reseed, **kwargs)
        with torch.no_grad():
            _, codes, _, _ = model(torch.as_tensor(unit, dtype=torch.float32))
        used[reseed] = len(np.unique(codes[:, 0].numpy()))
        assert (history[0]["revived"] > 0) == reseed
    assert used[False] <= 3 < 7 <= used[True]


def test_reseed_dead_codes_moves_only_the_dead_ones_onto_residuals():
    codebooks = torch.zeros(2, 3, 2)
    residuals = torch.arange(2 * 5 * 2, dtype=torch.float32).reshape(2, 5, 2)
    counts = torch.tensor([[4, 0, 1], [0, 0, 5]])
    assert reseed_dead_codes(codebooks, counts, residuals, torch.Generator().manual_seed(0)) == 3
    assert (codebooks[0, [0, 2]] == 0).all() and (codebooks[1, 2] == 0).all()
    for level, code in [(0, 1), (1, 0), (1, 1)]:
        assert (codebooks[level, code] == residuals[level]).all(dim=1).any()


@pytest.mark.parametrize(
    "kwargs, match",
    [({"levels": 0}, "levels"), ({"codebook": 1}, "codebook"), ({"epochs": 0}, "epochs"), ({"lr": 0}, "lr")],
)
def test_rq_vae_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        rq_vae(np.random.default_rng(0).normal(size=(20, 4)), **{"codebook": 2, **kwargs})
    with pytest.raises(ValueError, match="NaN"):
        rq_vae(np.full((20, 4), np.nan), codebook=2)
