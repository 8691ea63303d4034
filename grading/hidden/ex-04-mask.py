"""Hidden tests for ex-04-mask: which keys each query may attend to."""

import torch
from _shared import _uses  # the build copies the shared helpers in

POINTS = {"test_shape_and_type": 1, "test_full_histories": 1, "test_padded_histories": 2}


def _reference(tokens):
    n = tokens.shape[1]
    earlier = torch.ones(n, n, dtype=torch.bool).tril()
    return (earlier & (tokens > 0)[:, None, :]) | torch.eye(n, dtype=torch.bool)


def test_shape_and_type(allowed):
    out = allowed(torch.tensor([[0, 3, 4], [1, 2, 5]]))
    assert torch.is_tensor(out) and out.dtype == torch.bool, "return a boolean tensor"
    assert tuple(out.shape) == (2, 3, 3), "shape (batch, length, length)"


def test_full_histories(allowed):
    assert not _uses(allowed, "attention_mask"), "write the mask yourself, not with attention_mask"
    tokens = torch.randint(1, 50, (3, 7), generator=torch.Generator().manual_seed(404))
    assert torch.equal(allowed(tokens), _reference(tokens)), "without padding: every earlier key and itself"


def test_padded_histories(allowed):
    assert not _uses(allowed, "attention_mask"), "write the mask yourself, not with attention_mask"
    gen = torch.Generator().manual_seed(405)
    tokens = torch.randint(1, 50, (6, 9), generator=gen)
    for row, pad in enumerate([0, 1, 3, 5, 8, 9]):
        tokens[row, :pad] = 0
    assert torch.equal(allowed(tokens), _reference(tokens)), (
        "with padding: no padding key, no later key, but always the position itself"
    )
