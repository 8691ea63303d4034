"""Function answers: a student's function is checked by its properties on fresh toy data.

``ex-02-window`` (chapter 02's reduced window) is called on histories of distinct,
scattered item ids and judged by what its pairs must satisfy: the items of the given
histories, contexts within the window, each pair once, every target's contexts a full
block on both sides, window sizes drawn from ``rng`` with the shares word2vec's draw gives.
Part of :mod:`recsys_tutorial.exercises`, used by the exercises of :doc:`/book/assignments`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np

from .feedback import Feedback, _one


@cache
def _toy_histories() -> tuple[np.ndarray, ...]:
    """Histories of distinct, scattered item ids, of varied lengths (the long one not first)."""
    lengths = [40, 1, 1500, 7, 2, 1200, 3]
    ids = np.random.default_rng(12345).choice(10**6, size=sum(lengths), replace=False) + 1
    ids.flags.writeable = False
    return tuple(np.split(ids, np.cumsum(lengths)[:-1]))


def _pairs_or_problem(function: Callable[..., object], window: int, seed: int) -> np.ndarray | str:
    try:
        result = function([h.copy() for h in _toy_histories()], window, np.random.default_rng(seed))
        pairs = np.asarray(result)
    except Exception as err:  # noqa: BLE001 - a student's function may fail in any way
        return f"Calling it as f(sequences, window, rng) raised {type(err).__name__}: {err}"
    if pairs.ndim == 2 and len(pairs) == 2 and pairs.shape[1] != 2:
        return "That is two rows; return one (target, context) row per pair, shape (n_pairs, 2)."
    if pairs.ndim != 2 or pairs.shape[1:] != (2,) or len(pairs) == 0:
        return f"Return the (target, context) pairs as an array of shape (n_pairs, 2), not {pairs.shape}."
    if not np.issubdtype(pairs.dtype, np.integer):
        return f"Pairs hold item ids (integers), not values of dtype {pairs.dtype}."
    return pairs.astype(np.int64)


def _window_problem(
    pairs: np.ndarray, histories: tuple[np.ndarray, ...], window: int
) -> tuple[str | None, np.ndarray]:
    """What breaks the reduced-window rule in ``pairs``, and each item's reach as a target.

    The histories hold distinct ids; an item's reach is its farthest context's distance.
    """
    ids, lengths = np.concatenate(histories), np.array([len(h) for h in histories])
    history_of = np.repeat(np.arange(len(histories)), lengths)
    position, length = np.concatenate([np.arange(n) for n in lengths]), lengths[history_of]
    order = np.argsort(ids)
    where = np.clip(np.searchsorted(ids[order], pairs), 0, len(ids) - 1)
    reach = np.zeros(len(ids), dtype=np.int64)
    if not (ids[order][where] == pairs).all():
        if pairs.min() >= 0 and pairs.max() < lengths.max():
            return "These look like positions in a history: pair the items themselves.", reach
        return "Some values are not items of the given histories: pair item ids.", reach
    target, context = order[where[:, 0]], order[where[:, 1]]
    offset = position[context] - position[target]
    if (history_of[target] != history_of[context]).any() or (offset == 0).any():
        return "A context comes from its target's own history, and is never the target.", reach
    if np.abs(offset).max() > window:
        return f"With window={window}, a context was {np.abs(offset).max()} positions away.", reach
    if len(np.unique(target * len(ids) + context)) < len(target):
        return "Each target should be paired with each of its contexts once.", reach
    must = length >= 2
    if not np.isin(np.flatnonzero(lengths >= 2), history_of[target]).all():
        return "Some histories gave no pairs at all: is every sequence used?", reach
    counts = np.bincount(target, minlength=len(ids))
    if (counts[must] == 0).any():
        return "Some items are never a target. Can a window size be 0?", reach
    np.maximum.at(reach, target, np.abs(offset))
    block = np.minimum(reach, position) + np.minimum(reach, length - 1 - position)
    if (counts[must] != block[must]).any():
        return ("For some targets the contexts are not all the items within one distance on "
                "both sides. What does the exercise draw once per target?"), reach
    return None, reach


def _reduced_window(*answer: object) -> Feedback:
    function = _one(answer, "ex-02-window", "reduced_window_pairs")
    if isinstance(function, Feedback):
        return function
    if not callable(function):
        return Feedback(False, f"Pass the function itself, not {type(function).__name__}.")
    window, reaches = 4, []
    for seed, w in [(7, window), (7, window), (8, window), (9, 2)]:
        pairs = _pairs_or_problem(function, w, seed)
        if isinstance(pairs, str):
            return Feedback(False, pairs)
        problem, reach = _window_problem(pairs, _toy_histories(), w)
        if problem is not None and _window_problem(pairs[:, ::-1], _toy_histories(), w)[0] is None:
            problem = "Put the target first in each pair: (target, context)."
        if problem is not None:
            return Feedback(False, problem)
        reaches.append(reach)
    if not np.array_equal(reaches[0], reaches[1]):
        return Feedback(False, "Two calls with equal seeds gave different pairs: draw from `rng`.")
    lengths = [len(h) for h in _toy_histories()]
    position = np.concatenate([np.arange(n) for n in lengths])
    length = np.repeat(lengths, lengths)
    inner = (position >= window) & (position < length - window)
    sizes = np.concatenate([reaches[0][inner], reaches[2][inner]])
    if sizes.max() < window:
        return Feedback(False, f"No pair is ever at distance {window} = window: can the drawn size "
                               "reach the window? Is your draw's upper bound inclusive?")
    if any(len(np.unique(r[inner & (length == n)])) == 1 for r in reaches[:3] for n in (1200, 1500)):
        return Feedback(False, "Every target of a long history got the same window size: is "
                               "one drawn at random for each target?")
    observed = np.array([(sizes >= d).mean() for d in range(1, window + 1)])
    expected = (window - np.arange(1, window + 1) + 1) / window
    if not np.allclose(observed, expected, atol=0.05):
        return Feedback(False, f"A neighbour at distance 1..{window} is paired with shares "
                               f"{np.round(observed, 2).tolist()} of targets; expected "
                               f"{expected.round(2).tolist()}, (w - d + 1)/w.")
    if np.array_equal(reaches[0], reaches[2]):
        return Feedback(False, "The window sizes do not change with the seed: draw them from `rng`.")
    return Feedback(True, "Near neighbours are paired more often than far ones, as in word2vec.")
