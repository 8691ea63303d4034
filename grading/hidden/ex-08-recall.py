"""Hidden tests for ex-08-recall: recall of an index's answer against exact search."""

import numbers

import numpy as np
from _shared import _uses  # the build copies the shared helpers in

POINTS = {"test_is_a_number": 1, "test_extremes": 1, "test_value": 2}


def test_is_a_number(neighbour_recall):
    out = neighbour_recall(np.array([[1, 2]]), np.array([[2, 3]]))
    assert isinstance(out, numbers.Real) and not isinstance(out, bool), (
        f"return a number, got {type(out).__name__}"
    )


def test_extremes(neighbour_recall):
    exact = np.array([[0, 1, 2], [3, 4, 5]])
    assert np.isclose(float(neighbour_recall(exact[:, ::-1], exact)), 1.0), "order does not matter"
    assert np.isclose(float(neighbour_recall(np.full((2, 3), -1), exact)), 0.0), "-1 never counts"


def test_value(neighbour_recall):
    assert not _uses(neighbour_recall, "recall_at_k"), "write it, do not call the package's"
    found = np.array([[5, 1, -1, 7], [2, 3, 4, -1]])
    exact = np.array([[1, 2, 7, 9], [9, 8, 4, 2]])
    assert np.isclose(float(neighbour_recall(found, exact)), (2 / 4 + 2 / 4) / 2)
    found = np.array([[1, 2, 3, -1, -1]])
    exact = np.array([[3, 2, 1, 0, -1]])  # a missing exact answer is not a hit either
    assert np.isclose(float(neighbour_recall(found, exact)), 3 / 5)
