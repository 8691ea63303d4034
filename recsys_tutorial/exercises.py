"""Auto-checked exercises: tell a student whether an answer is right, with a hint if not.

``check("ex-00-ties", my_share)`` recomputes the reference answer from the data and
compares; a wrong answer gets a hint that points at the idea, never the expected value.
The labels are the exercises' labels in the book. Used by every chapter's exercises.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType

import numpy as np

from .baselines import Popularity
from .data import MovieLens, load_movielens_100k
from .split import LeaveOneOutSplit, leave_one_out_split


@dataclass(frozen=True)
class Feedback:
    """The verdict on an answer. Truthy when correct; prints as a short message."""

    correct: bool
    message: str

    def __bool__(self) -> bool:
        return self.correct

    def __str__(self) -> str:
        return ("Correct. " if self.correct else "Not yet. ") + self.message

    def _repr_markdown_(self) -> str:
        return ("**Correct.** " if self.correct else "**Not yet.** ") + self.message


@cache
def _movielens() -> tuple[MovieLens, LeaveOneOutSplit]:
    data = load_movielens_100k()
    return data, leave_one_out_split(data.interactions)


def _close(answer: object, expected: float, tolerance: float) -> bool:
    try:
        value = float(answer)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return bool(np.isfinite(value) and abs(value - expected) <= tolerance)


def _ties(share: float) -> Feedback:
    data, _ = _movielens()
    frame = data.interactions
    expected = float((frame.groupby(["user_id", "timestamp"])["item_id"].transform("size") > 1).mean())
    if _close(share, expected, 5e-4):
        return Feedback(True, "That share of actions has no well-defined order by time alone.")
    if _close(share, expected * 100, 0.05):
        return Feedback(False, "Give a share between 0 and 1, not a percentage.")
    return Feedback(False, "Group the actions by (user_id, timestamp); an action is tied when its "
                           "group has more than one row. Count actions, not users or groups.")


def _by_hand(greater: int, tied: int) -> Feedback:
    _, split = _movielens()
    model = Popularity().fit(split.train)
    history = split.histories("test")[0]
    scores = model.score([history])[0]
    target = split.test_targets[0]
    candidate = np.ones(split.n_items, dtype=bool)
    candidate[history] = False
    candidate[target] = True
    expected = (int((scores[candidate] > scores[target]).sum()),
                int((scores[candidate] == scores[target]).sum()) - 1)
    if (greater, tied) == expected:
        return Feedback(True, "Your ranking agrees with the course's evaluation.")
    if greater > expected[0]:
        return Feedback(False, "Too many items above the target: did you remove the user's history "
                               "(train and validation items) from the candidates?")
    return Feedback(False, "Score all items with popularity, drop the test history (but never the "
                           "target), then count items scored strictly above, and equal to, the target "
                           "(not counting the target itself).")


def _trigram_triples(count: int) -> Feedback:
    _, split = _movielens()
    triples = set()
    for seq in split.train.sequences:
        triples.update(zip(seq[:-2].tolist(), seq[1:-1].tolist(), seq[2:].tolist()))
    if count == len(triples):
        return Feedback(True, "Compare it with the number of distinct pairs: that gap is the sparsity.")
    if count > len(triples):
        return Feedback(False, "Count each distinct (a, b, c) once, however often it occurs.")
    return Feedback(False, "Use every consecutive triple of every training history (a history of "
                           "length n has n - 2 of them).")


CHECKS: Mapping[str, Callable[..., Feedback]] = MappingProxyType(
    {
        "ex-00-ties": _ties,
        "ex-00-by-hand": _by_hand,
        "ex-01-trigram": _trigram_triples,
    }
)


def check(label: str, *answer: object) -> Feedback:
    """Check the answer to the exercise ``label`` (see :data:`CHECKS` for the labels)."""
    if label not in CHECKS:
        raise KeyError(f"no auto-check for {label!r}; exercises with one: {', '.join(CHECKS)}")
    return CHECKS[label](*answer)
