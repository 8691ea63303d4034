"""Hidden tests for ex-00-ties: the share of actions tied in time with another."""

import numbers

from recsys_tutorial import load_movielens_100k

POINTS = {"test_is_a_share": 1, "test_value": 2}


def _expected():
    frame = load_movielens_100k().interactions
    size = frame.groupby(["user_id", "timestamp"])["item_id"].transform("size")
    return float((size > 1).mean())


def test_is_a_share(share):
    assert isinstance(share, numbers.Real) and not isinstance(share, bool), (
        f"share must be a number, got {type(share).__name__}"
    )
    assert 0 <= float(share) <= 1, "a share lies between 0 and 1, not a percentage"


def test_value(share):
    assert isinstance(share, numbers.Real) and not isinstance(share, bool), "not a number"
    assert abs(float(share) - _expected()) <= 5e-4, (
        "count actions (rows), not users or groups; an action is tied when another "
        "action of the same user has its timestamp"
    )
