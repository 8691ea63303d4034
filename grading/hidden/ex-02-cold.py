"""Hidden tests for ex-02-cold: test targets that are rare in training."""

import numbers

from recsys_tutorial import leave_one_out_split, load_movielens_100k

POINTS = {"test_is_an_integer": 1, "test_value": 2}


def test_is_an_integer(n_targets):
    assert isinstance(n_targets, numbers.Integral) and not isinstance(n_targets, bool), (
        f"n_targets must be an integer, got {type(n_targets).__name__}"
    )


def test_value(n_targets):
    assert isinstance(n_targets, numbers.Integral) and not isinstance(n_targets, bool), "not an integer"
    split = leave_one_out_split(load_movielens_100k().interactions)
    targets = split.test_targets[split.eval_users("test")]
    expected = int((split.train.item_counts()[targets] <= 5).sum())
    assert int(n_targets) == expected, (
        "count test targets (one per user) whose film occurs at most five times in training"
    )
