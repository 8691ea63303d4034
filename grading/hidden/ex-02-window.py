"""Hidden tests for ex-02-window: skip-gram pairs with word2vec's reduced window."""

import numpy as np

POINTS = {
    "test_pairs_of_item_ids": 1,
    "test_every_sequence": 1,
    "test_distance_shares": 1,
    "test_one_size_per_target": 1,
    "test_sizes_are_random": 1,
    "test_within_window": 1,
}


def _pairs(function, sequences, window, seed):
    out = np.asarray(function([np.asarray(s) for s in sequences], window, np.random.default_rng(seed)))
    assert out.ndim == 2 and out.shape[1] == 2, "return an array of shape (n_pairs, 2)"
    return out.astype(np.int64)


def _offsets(pairs, seq):
    """Context position minus target position, for a history of distinct ids."""
    where = {int(item): pos for pos, item in enumerate(seq)}
    return np.array([where[int(c)] - where[int(t)] for t, c in pairs])


def test_pairs_of_item_ids(reduced_window_pairs):
    seq = np.random.default_rng(1).permutation(300) + 5000
    pairs = _pairs(reduced_window_pairs, [seq], 3, 0)
    assert len(pairs) and np.isin(pairs, seq).all(), "pairs hold item ids, not positions"


def test_every_sequence(reduced_window_pairs):
    sequences = [np.arange(100, 140), np.arange(200, 260), np.arange(300, 330)]
    pairs = _pairs(reduced_window_pairs, sequences, 2, 1)
    for seq in sequences:
        inside = np.isin(pairs[:, 0], seq)
        assert inside.any(), "every sequence contributes pairs"
        assert np.isin(pairs[inside, 1], seq).all(), "a pair never spans two sequences"


def test_within_window(reduced_window_pairs):
    seq = np.arange(1000)
    for window in (1, 3, 6):
        offsets = _offsets(_pairs(reduced_window_pairs, [seq], window, 2), seq)
        assert (offsets != 0).all(), "a context is never the target itself"
        assert np.abs(offsets).max() <= window, "no context beyond the window"
        assert set(np.abs(offsets)) == set(range(1, window + 1)), "every distance 1..window occurs"


def test_distance_shares(reduced_window_pairs):
    seq, window = np.arange(4000), 5
    offsets = _offsets(_pairs(reduced_window_pairs, [seq], window, 3), seq)
    for side in (1, -1):
        got = np.array([(offsets == side * d).sum() for d in range(1, window + 1)]) / len(seq)
        expected = (window - np.arange(1, window + 1) + 1) / window
        assert np.allclose(got, expected, atol=0.03), (
            f"shares at distances 1..{window} on one side: {got.round(3)}, expected {expected.round(3)}"
        )


def test_one_size_per_target(reduced_window_pairs):
    seq, window = np.arange(600), 4
    pairs = _pairs(reduced_window_pairs, [seq], window, 4)
    offsets = _offsets(pairs, seq)
    for pos in range(window, len(seq) - window):  # away from the ends
        mine = offsets[pairs[:, 0] == seq[pos]]
        size = np.abs(mine).max()
        full = set(range(-size, 0)) | set(range(1, size + 1))
        assert set(mine.tolist()) == full and len(mine) == 2 * size, (
            "each target is paired with every item within one window size on both sides"
        )


def test_sizes_are_random(reduced_window_pairs):
    seq = np.arange(2000)
    first = _pairs(reduced_window_pairs, [seq], 4, 5)
    again = _pairs(reduced_window_pairs, [seq], 4, 5)
    other = _pairs(reduced_window_pairs, [seq], 4, 6)
    assert np.array_equal(first, again), "the same rng seed must give the same pairs"
    assert not np.array_equal(first, other), "the window sizes must be drawn from rng"
    offsets = _offsets(first, seq)
    sizes = np.array([np.abs(offsets[first[:, 0] == t]).max() for t in seq[4:-4]])
    r = np.corrcoef(sizes[:-1], sizes[1:])[0, 1]
    assert abs(r) < 0.1, f"neighbouring targets' sizes are correlated (r = {r:.2f}): draw them independently"
