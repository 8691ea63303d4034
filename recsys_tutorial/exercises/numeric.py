"""Numeric answers: counts and shares compared through salted digests.

The expected values are not in the source: each known answer (the right one, and the
recognised mistakes) is stored as the digest of a key (``int:<count>``,
``float3:<thousandths>``) salted with the exercise's label. A float is judged at the two
grid points around it (see :mod:`recsys_tutorial.exercises`). The digests are those of the
course's MovieLens-100k split; another split is not judged. Part of
:mod:`recsys_tutorial.exercises`, used by the exercises of :doc:`/book/assignments`.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from functools import cache
from types import MappingProxyType

from ..data import DataError, load_movielens_100k
from ..split import leave_one_out_split
from .feedback import Feedback, _as_float, _as_int, _one

COURSE_FINGERPRINT = "adb22e678735c98a"
_SALT = "recsys-tutorial/exercises/v1"


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
