"""Hidden tests for ex-03-pairwise: the FM's second-order term in linear time."""

import torch
from _shared import _uses  # the build copies the shared helpers in

POINTS = {"test_shape": 1, "test_random_embeddings": 2, "test_one_field": 1}


def _pairs(v):
    n = v.shape[1]
    total = v.new_zeros(v.shape[0])
    for f in range(n):
        for g in range(f + 1, n):
            total = total + (v[:, f] * v[:, g]).sum(-1)
    return total


def test_shape(pairwise_term):
    out = pairwise_term(torch.randn(5, 4, 3))
    assert torch.is_tensor(out) and tuple(out.shape) == (5,), "return a tensor of shape (batch,)"


def test_random_embeddings(pairwise_term):
    assert not _uses(pairwise_term, "fm_pairwise"), "write it yourself, without the package's fm_pairwise"
    gen = torch.Generator().manual_seed(303)
    for batch, n, k in [(3, 2, 4), (7, 9, 5), (2, 40, 16)]:
        v = torch.randn(batch, n, k, generator=gen, dtype=torch.float64)
        got = pairwise_term(v)
        assert torch.allclose(got.to(torch.float64), _pairs(v), atol=1e-8), (
            "differs from the sum over pairs of distinct fields"
        )


def test_one_field(pairwise_term):
    assert not _uses(pairwise_term, "fm_pairwise"), "write it yourself, without the package's fm_pairwise"
    v = torch.randn(4, 1, 6, dtype=torch.float64)
    assert torch.allclose(pairwise_term(v).to(torch.float64), torch.zeros(4, dtype=torch.float64)), (
        "a single field has no pair"
    )
