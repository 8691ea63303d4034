"""Histories, the tie rule and the leave-one-out split."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from recsys_tutorial import leave_one_out_split
from recsys_tutorial.split import order_interactions, tie_break_key


def test_tie_key_is_the_documented_hash():
    assert tie_break_key(7, 42) == hashlib.sha256(b"7:42").hexdigest()


def test_ties_broken_by_hash_not_by_file_order():
    rows = pd.DataFrame({"user_id": [1, 1, 1], "item_id": [30, 10, 20], "timestamp": [5, 5, 5]})
    ordered = order_interactions(rows, "hash")
    expected = sorted([30, 10, 20], key=lambda i: tie_break_key(1, i))
    assert ordered["item_id"].tolist() == expected
    shuffled = order_interactions(rows.iloc[::-1], "hash")
    assert shuffled["item_id"].tolist() == expected
    assert order_interactions(rows, "item_id")["item_id"].tolist() == [10, 20, 30]
    assert order_interactions(rows, "file")["item_id"].tolist() == [30, 10, 20]
    with pytest.raises(ValueError, match="tie_break"):
        order_interactions(rows, "random")


def test_split_holds_out_last_two_by_time(platform, synthetic_split):
    split = synthetic_split
    frame = order_interactions(platform.interactions)
    for u, (_, group) in enumerate(frame.groupby("user_id")):
        items = split.item_index(group["item_id"].to_numpy())
        assert split.test_targets[u] == items[-1]
        assert split.valid_targets[u] == items[-2]
        np.testing.assert_array_equal(split.train.sequences[u], items[:-2])
    test_hist = split.histories("test")
    assert all(h[-1] == v for h, v in zip(test_hist, split.valid_targets))
    seen = split.seen("test").toarray().astype(bool)
    assert not seen[np.arange(split.n_users), split.test_targets].any()


def test_short_histories_have_no_targets():
    rows = pd.DataFrame({"user_id": [1, 1, 2, 2, 2], "item_id": [1, 2, 1, 2, 3],
                         "timestamp": [1, 2, 1, 2, 3]})
    split = leave_one_out_split(rows)
    assert split.valid_targets.tolist() == [-1, 1] and split.test_targets.tolist() == [-1, 2]
    assert split.eval_users("test").tolist() == [1]
    assert split.train.sequences[0].tolist() == [0, 1]


def test_fingerprint_is_stable_and_sensitive(platform):
    a = leave_one_out_split(platform.interactions)
    b = leave_one_out_split(platform.interactions.sample(frac=1.0, random_state=3))
    assert a.fingerprint == b.fingerprint  # row order in the file does not matter
    changed = platform.interactions.copy()
    changed.loc[0, "timestamp"] += 10**7
    assert leave_one_out_split(changed).fingerprint != a.fingerprint


def test_item_index_rejects_unknown_ids(synthetic_split):
    assert synthetic_split.item_index([1, 2]).tolist() == [0, 1]
    with pytest.raises(KeyError):
        synthetic_split.item_index([10**6])


def test_split_on_movielens_has_documented_ties(movielens_dir):
    from recsys_tutorial import load_movielens_100k

    ml = load_movielens_100k(movielens_dir)
    frame = ml.interactions
    last = frame.groupby("user_id")["timestamp"].transform("max")
    tied = frame[frame["timestamp"] == last].groupby("user_id").size()
    assert (tied > 1).sum() == 415
    split = leave_one_out_split(frame)
    assert split.n_users == 943 and split.n_items == 1682
    assert leave_one_out_split(frame, "item_id").fingerprint != split.fingerprint
