"""Hidden tests for ex-07-unique: the disambiguation code of every item."""

import numpy as np
from _shared import _uses  # the build copies the shared helpers in

POINTS = {"test_shape_and_type": 1, "test_no_collisions": 1, "test_collisions": 2}


def _reference(content):
    seen, out = {}, np.empty(len(content), dtype=np.int64)
    for row, codes in enumerate(map(tuple, content)):
        out[row] = seen.get(codes, 0)
        seen[codes] = out[row] + 1
    return out


def test_shape_and_type(last_code):
    content = np.random.default_rng(710).integers(4, size=(30, 2))
    out = np.asarray(last_code(content))
    assert out.shape == (30,), "one code per item: shape (n_items,)"
    assert np.issubdtype(out.dtype, np.integer), "the codes are integers"


def test_no_collisions(last_code):
    assert not _uses(last_code, "disambiguate"), "write it yourself, not with disambiguate"
    content = np.array([[i // 5, i % 5, 7] for i in range(25)])[::-1]
    assert (np.asarray(last_code(content)) == 0).all(), "distinct rows all get code 0"


def test_collisions(last_code):
    assert not _uses(last_code, "disambiguate"), "write it yourself, not with disambiguate"
    for seed, shape in [(711, (200, 2)), (712, (500, 3)), (713, (40, 1))]:
        content = np.random.default_rng(seed).integers(3, size=shape)
        assert np.array_equal(np.asarray(last_code(content)), _reference(content)), (
            "0 for the first item (in row order) with its codes, 1 for the second, ..."
        )
