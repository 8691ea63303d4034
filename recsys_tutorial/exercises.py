"""Auto-checked exercises: tell a student whether an answer is right, with a hint if not.

``check("ex-00-ties", my_share)`` first checks the answer's type (an ``int``, a float,
a function), then compares it with the expected value, and answers with
:class:`Feedback`: a hint that points at the idea, or at a recognised mistake (a
percentage for a share, validation data, an off-by-one), never the expected value.

Numeric answers are compared through salted hashes, so the source does not show them
(which deters a glance, not a determined search). Counts must be exact. A float is
compared at a stated number of decimals: it is accepted when within half a unit of the
last decimal, and may be accepted up to one and a half units off (``ex-00-ties``: three
decimals, so within 0.0005 always, never beyond 0.0015). The expected values are those
of the course's MovieLens-100k split: a check refuses to judge when the split built here
has another :attr:`~recsys_tutorial.split.LeaveOneOutSplit.fingerprint`. Function
answers (``ex-02-window``) are checked by properties on fresh toy data.
The labels are the exercises' labels in the book (:doc:`/book/assignments`); chapters
00, 01, 02 and 05 use them.
"""

from __future__ import annotations

import hashlib
import math
import numbers
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType

import numpy as np

from .data import DataError, load_movielens_100k
from .split import leave_one_out_split

COURSE_FINGERPRINT = "adb22e678735c98a"
_SALT = "recsys-tutorial/exercises/v1"


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


def _digest(label: str, key: str) -> str:
    return hashlib.sha256(f"{_SALT}|{label}|{key}".encode()).hexdigest()[:16]


def _int_key(value: int) -> str:
    return f"int:{value}"


def _float_keys(value: float, decimals: int) -> list[str]:
    """Keys of the two grid points around ``value`` at ``decimals`` decimals."""
    scaled = value * 10**decimals
    if not math.isfinite(scaled):
        return []
    low = math.floor(scaled)
    return [f"float{decimals}:{low}", f"float{decimals}:{low + 1}"]


def _float_key(expected: float, decimals: int) -> str:
    """The key an expected value is stored under (to build the tables below)."""
    return f"float{decimals}:{round(expected * 10**decimals)}"


_PROBLEM = "Cannot judge here: "


def _kind(answer: object) -> str | None:
    """Why ``answer`` is not a genuine real number, or None if it is one."""
    if isinstance(answer, bool | np.bool_):
        return "a bool (True/False)"
    if isinstance(answer, str | bytes):
        return "text (a str)"
    if isinstance(answer, np.ndarray):
        return f"a numpy array of shape {answer.shape} (pass one number: .item())"
    if not isinstance(answer, numbers.Real):
        return f"an object of type {type(answer).__name__}"
    return None


def _as_int(answer: object, what: str) -> int | Feedback:
    kind = _kind(answer)
    if kind is None and not isinstance(answer, numbers.Integral):
        kind = f"a {type(answer).__name__} (if it is a whole number, pass int(value))"
    if kind is None:
        try:
            return operator.index(answer)  # type: ignore[arg-type]
        except Exception:  # noqa: BLE001 - any failure means it is not an int
            kind = f"an object of type {type(answer).__name__}"
    return Feedback(False, f"{what} should be an int, but this is {kind}.")


def _as_float(answer: object, what: str) -> float | Feedback:
    kind = _kind(answer)
    if kind is None:
        try:
            value = float(answer)  # type: ignore[arg-type]
        except Exception:  # noqa: BLE001
            value = math.nan
        if math.isfinite(value):
            return value
        kind = "not a finite number"
    return Feedback(False, f"{what} should be a number (a float), but this is {kind}.")


@cache
def _course_fingerprint() -> str:
    return leave_one_out_split(load_movielens_100k().interactions).fingerprint


def _data_problem() -> Feedback | None:
    try:
        fingerprint = _course_fingerprint()
    except DataError as err:
        return Feedback(False, f"{_PROBLEM}this check needs MovieLens-100k. {err}")
    if fingerprint != COURSE_FINGERPRINT:
        return Feedback(False, f"{_PROBLEM}this check knows the answer for the course's "
                               f"ML-100k split (fingerprint {COURSE_FINGERPRINT}), but the split "
                               f"built here has fingerprint {fingerprint}, so it cannot judge.")
    return None


def _judge(label: str, keys: list[str], hint: str) -> Feedback:
    """The verdict stored for the first key known for ``label``, else ``hint``."""
    if (problem := _data_problem()) is not None:
        return problem
    (right, *expected), *wrong = _ANSWERS[label]
    digests = [_digest(label, key) for key in keys]
    if any(d in expected for d in digests):
        return Feedback(True, right)
    for d in digests:  # in the order of the keys: the most specific first
        for message, *known in wrong:
            if d in known:
                return Feedback(False, message)
    return Feedback(False, hint)


def _one(answer: tuple[object, ...], label: str, name: str) -> object | Feedback:
    if len(answer) != 1:
        return Feedback(False, f"Pass one answer: check({label!r}, {name}).")
    return answer[0]


def _ties(*answer: object) -> Feedback:
    share = _one(answer, "ex-00-ties", "share")
    share = share if isinstance(share, Feedback) else _as_float(share, "The share")
    if isinstance(share, Feedback):
        return share
    keys = _float_keys(share, 3) + _float_keys(share, 1)
    if share.is_integer():
        keys.append(_int_key(int(share)))
    return _judge("ex-00-ties", keys, "What exactly is counted, and when is it tied? See chapter "
                                      "00, *Ties: the rule that decides the test set*.")


def _by_hand(*answer: object) -> Feedback:
    if len(answer) != 2:
        return Feedback(False, "Pass two counts: check('ex-00-by-hand', items_above, items_tied).")
    above, tied = (_as_int(a, w) for a, w in zip(answer, ("items_above", "items_tied")))
    for value in (above, tied):
        if isinstance(value, Feedback):
            return value
    keys = [f"pair:{above},{tied}", f"above:{above}", f"tied:{tied}"]
    return _judge("ex-00-by-hand", keys, "Which items compete with the test target, and against "
                                         "which scores? See chapter 00, *The protocol: full "
                                         "ranking, seen items excluded*.")


def _counting(label: str, name: str, hint: str) -> Callable[..., Feedback]:
    def judge(*answer: object) -> Feedback:
        count = _one(answer, label, name)
        count = count if isinstance(count, Feedback) else _as_int(count, f"The {name}")
        if isinstance(count, Feedback):
            return count
        return _judge(label, [_int_key(count)], hint)

    return judge


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


_sessions = _counting("ex-02-sessions", "number of sessions",
                      "Re-read the exercise's definition of a session, and which part of each "
                      "history it cuts. See chapter 02, *Histories as sentences*.")
_trigram = _counting("ex-01-trigram", "number of distinct triples",
                     "What is a triple here, and in which histories? See chapter 01, *The bigram "
                     "model*, for how pairs are counted.")
_cold = _counting("ex-02-cold", "number of test targets",
                  "Which targets, and whose counts? See chapter 02, *A caution: rare items*.")
_genres = _counting("ex-05-genres", "number of genre lists",
                    "When do two films have the same genre list? See chapter 05, *Films as "
                    "sentences*.")

CHECKS: Mapping[str, Callable[..., Feedback]] = MappingProxyType(
    {
        "ex-00-ties": _ties,
        "ex-00-by-hand": _by_hand,
        "ex-01-trigram": _trigram,
        "ex-02-window": _reduced_window,
        "ex-02-sessions": _sessions,
        "ex-02-cold": _cold,
        "ex-05-genres": _genres,
    }
)

# Per label, the known answers: (message, digest of each key with that message); the first
# is the right answer. The values come from the reference computations in
# tests/test_exercises.py (an entry is ``_digest(label, _int_key(value))``, and so on).
_ANSWERS: Mapping[str, tuple[tuple[str, ...], ...]] = MappingProxyType({
    'ex-00-ties': (
        ('That share of actions has no well-defined order by time alone.', 'cb0c37e734c25c53'),
        ('That looks like a percentage: give a share between 0 and 1.', '70429428814a557f'),
        ('That is a number of actions: the question asks for their share of all actions.',
         '4361e472376ec138'),
        ('That is a share of (user, second) groups; the question counts actions, and a tied group '
         'holds several.', '23b9b88958f4ce4d'),
        ('Is the first action of a tied second tied too? Every action that shares its second '
         'counts.', 'b953f1eb8594e393'),
        ('That is the share of actions without a tie.', 'c92e95ad5d817e36'),
        ('Every user has a tie somewhere: the question counts actions, not users.', '3b585e86fc3bc160'),
    ),
    'ex-00-by-hand': (
        ("Your ranking agrees with the course's evaluation.", 'e97434f6af20fc86'),
        ('Too many items above the target: what does the protocol exclude from the candidates?',
         '4d91af3efb65a8a3'),
        ('One tie too many: is the target counted as tied with itself?', 'd9eecd8f28758b52'),
        ('One item too many above the target: is that a rank (which starts at 1) rather than a '
         'count? Does the test history include the validation item?', 'ad46597c02e440e7'),
        ('Those are the counts for the validation target; the exercise asks about the test target.',
         '213376ca6e47d60a'),
        ('Fit popularity on the training histories only: counting every rating uses the validation '
         'and test data.', 'd0c103f2c98f5f08'),
        ('Swapped: pass the items above first, then the items tied.', 'c748417b1f59e6bb'),
        ('The number of items above is right; look again at the ties.', 'fd391c1a415fac9e'),
        ('The number of ties is right; look again at the items above.', '3ab4c469b2ae9191'),
    ),
    'ex-01-trigram': (
        ('Compare it with the number of distinct pairs: that gap is the sparsity.', 'ee5623a693b4f82e'),
        ('That counts occurrences: a triple seen twice is one distinct triple.', '9f0eef57f8bc18de'),
        ('That includes validation or test items: count the training histories only.',
         'a8cd1b7138855f08', 'a9c3288d61a2d099'),
        ('That is the number of distinct consecutive pairs; the question asks for triples.',
         'c67a9abf6289ff82'),
        ('That counts distinct two-item contexts (a, b); count the triples (a, b, c).', '8139a47a308b09fa'),
    ),
    'ex-02-sessions': (
        ('Compare the number of sessions with the number of users.', '1dfa5ed46cddb117'),
        ('That counts single-rating sessions too; the exercise keeps sessions of at least two '
         'ratings.', '7d4716b7a7dc9456'),
        ('That cuts validation or test ratings too: cut the training part of each history only.',
         '78668b01398edcd9', '3ea49e091b940567', '858d6841166cb0ca', '45e45a03442995b2'),
        ('Timestamps are in seconds: how many seconds make an hour?', '0b1eb0269fdb6a0a', 'dd10c9ab56d6b8c2'),
        ('That looks like the number of cuts: a history with k cuts has k + 1 sessions.', 'e788e881fd34778e'),
        ('That is one session per user: where are the gaps of more than an hour?', '08b843d0219fb6b7'),
    ),
    'ex-02-cold': (
        ("Now compare the model's NDCG@10 on these users with the others.", '119ca63af6002cf8'),
        ("Does 'at most five' include five? Are the occurrences counted in the training histories "
         'only?', '9fa5547fcdeb283c'),
        ("Is six 'at most five'?", '89dd7f9ff0daa22d'),
        ('Those are validation targets; the exercise asks about the test targets.', '3c4da3648df09c29'),
        ('That counts distinct films; count test targets, one per user.', 'e8d960b7b35061f3'),
        ('That counts targets absent from training; the exercise allows up to five occurrences.',
         '5b4698ea3adeefd3'),
    ),
    'ex-05-genres': (
        ('Encoding each distinct list once is much cheaper than encoding every film.', 'e37c69ba8f6ff91c'),
        ('That counts genres; the exercise asks for distinct lists of genres.',
         '9097c62a9f39e12c', 'd699c9e4af523dfd'),
        ('That counts films; many films share a list.', '1bd36f0a3f5dbf5a'),
    ),
})


def check(label: str, *answer: object) -> Feedback:
    """Check the answer to the exercise ``label`` (see :data:`CHECKS` for the labels).

    Explained with the exercises of chapters 00, 01, 02 and 05.
    """
    if label not in CHECKS:
        raise KeyError(f"no auto-check for {label!r}; exercises with one: {', '.join(CHECKS)}")
    return CHECKS[label](*answer)
