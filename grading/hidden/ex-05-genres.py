"""Hidden tests for ex-05-genres: distinct genre lists."""

import numbers

from recsys_tutorial import load_movielens_100k

POINTS = {"test_is_an_integer": 1, "test_value": 2}


def test_is_an_integer(n_lists):
    assert isinstance(n_lists, numbers.Integral) and not isinstance(n_lists, bool), (
        f"n_lists must be an integer, got {type(n_lists).__name__}"
    )


def test_value(n_lists):
    assert isinstance(n_lists, numbers.Integral) and not isinstance(n_lists, bool), "not an integer"
    expected = load_movielens_100k().items["genres"].map(tuple).nunique()
    assert int(n_lists) == expected, "count distinct genre lists, not distinct genres"
