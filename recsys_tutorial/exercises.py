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


def _reduced_window(pair_function: Callable[..., np.ndarray]) -> Feedback:
    window, history = 4, np.arange(2_000)
    try:
        pairs = np.asarray(pair_function([history], window, np.random.default_rng(0)))
    except Exception as err:  # a student's function may fail in any way
        return Feedback(False, f"Calling it as f(sequences, window, rng) raised {type(err).__name__}: {err}")
    if pairs.ndim != 2 or pairs.shape[1] != 2 or len(pairs) == 0:
        return Feedback(False, "Return an array of (target, context) pairs with shape (n_pairs, 2).")
    distance = np.abs(pairs[:, 0] - pairs[:, 1])
    if (distance == 0).any() or distance.max() > window:
        return Feedback(False, "A context is never the target itself, and never farther than the window.")
    observed = np.bincount(distance, minlength=window + 1)[1:] / (2 * len(history))
    expected = (window - np.arange(1, window + 1) + 1) / window
    if np.allclose(observed, expected, atol=0.03):
        return Feedback(True, "Near neighbours are paired more often than far ones, as in word2vec.")
    return Feedback(False, "Draw one window size per target, uniformly from 1 to the window, and pair the "
                           "target with every item within that size on both sides.")


def _sessions(count: int) -> Feedback:
    data, split = _movielens()
    from .split import order_interactions

    ordered = order_interactions(data.interactions)
    expected = 0
    for (_, group), train in zip(ordered.groupby("user_id", sort=True), split.train.sequences):
        times = group["timestamp"].to_numpy()[: len(train)]
        expected += 1 + int((np.diff(times) > 3600).sum()) if len(times) else 0
    if count == expected:
        return Feedback(True, "Compare the number of sessions with the number of users.")
    return Feedback(False, "Use the training part of each history only (in the course's order), and start "
                           "a new session wherever the gap to the previous rating exceeds 3,600 seconds.")


def _cold_targets(count: int) -> Feedback:
    _, split = _movielens()
    counts = split.train.item_counts()
    targets = split.test_targets[split.eval_users("test")]
    expected = int((counts[targets] <= 5).sum())
    if count == expected:
        return Feedback(True, "Now compare the model's NDCG@10 on these users with the others.")
    return Feedback(False, "Count test targets (one per user) whose item occurs at most five times in "
                           "the training histories; an item absent from training counts as zero.")


def _genre_lists(count: int) -> Feedback:
    data, _ = _movielens()
    expected = data.items["genres"].map(tuple).nunique()
    if count == expected:
        return Feedback(True, "Encoding each distinct list once is much cheaper than encoding every film.")
    return Feedback(False, "Count distinct genre *lists* (as tuples), not distinct genres.")


CHECKS: Mapping[str, Callable[..., Feedback]] = MappingProxyType(
    {
        "ex-00-ties": _ties,
        "ex-00-by-hand": _by_hand,
        "ex-01-trigram": _trigram_triples,
        "ex-02-window": _reduced_window,
        "ex-02-sessions": _sessions,
        "ex-02-cold": _cold_targets,
        "ex-05-genres": _genre_lists,
    }
)


def check(label: str, *answer: object) -> Feedback:
    """Check the answer to the exercise ``label`` (see :data:`CHECKS` for the labels)."""
    if label not in CHECKS:
        raise KeyError(f"no auto-check for {label!r}; exercises with one: {', '.join(CHECKS)}")
    return CHECKS[label](*answer)
