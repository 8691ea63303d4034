"""Hidden tests for ex-04-padded: causal attention that ignores padding."""

import torch
import torch.nn.functional as F

POINTS = {"test_shape": 1, "test_without_padding": 1, "test_with_padding": 2}


def _reference(q, k, v, tokens):
    n = tokens.shape[1]
    earlier = torch.ones(n, n, dtype=torch.bool).tril()
    ok = (earlier & (tokens > 0)[:, None, :]) | torch.eye(n, dtype=torch.bool)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=ok)


def _inputs(seed, batch, n, d):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, n, d, generator=gen, dtype=torch.float64) for _ in range(3)]


def test_shape(padded_attention):
    q, k, v = _inputs(500, 2, 5, 4)
    out = padded_attention(q, k, v, torch.ones(2, 5, dtype=torch.long))
    assert torch.is_tensor(out) and tuple(out.shape) == (2, 5, 4), "return the output: (batch, length, d)"


def test_without_padding(padded_attention):
    q, k, v = _inputs(501, 3, 7, 16)
    tokens = torch.ones(3, 7, dtype=torch.long)
    got = padded_attention(q, k, v, tokens)
    assert torch.allclose(got.double(), _reference(q, k, v, tokens), atol=1e-6), (
        "without padding this is the chapter's causal attention"
    )


def test_with_padding(padded_attention):
    q, k, v = _inputs(502, 4, 8, 12)
    tokens = torch.ones(4, 8, dtype=torch.long)
    for row, pad in enumerate([0, 2, 5, 7]):
        tokens[row, :pad] = 0
    got = padded_attention(q, k, v, tokens)
    assert torch.allclose(got.double(), _reference(q, k, v, tokens), atol=1e-6), (
        "with padding the output differs: no position may attend to padding keys"
    )
