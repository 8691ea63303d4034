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
00, 01, 02 and 05 use them. The files: ``feedback.py`` (the verdict, the answer's type),
``numeric.py`` (counts and shares, by digest) and ``functions.py`` (function answers, by
property).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from .feedback import Feedback
from .functions import _reduced_window
from .numeric import COURSE_FINGERPRINT, _by_hand, _cold, _genres, _sessions, _ties, _trigram

__all__ = ["CHECKS", "COURSE_FINGERPRINT", "Feedback", "check"]

#: The auto-checked exercises: each label (the exercise's label in the book) and its check.
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


def check(label: str, *answer: object) -> Feedback:
    """Check the answer to the exercise ``label`` (see :data:`CHECKS` for the labels).

    Explained with the exercises of chapters 00, 01, 02 and 05.
    """
    if label not in CHECKS:
        raise KeyError(f"no auto-check for {label!r}; exercises with one: {', '.join(CHECKS)}")
    return CHECKS[label](*answer)
