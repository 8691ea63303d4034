"""The verdict of a check, and what an answer must be before it is judged.

:class:`Feedback` is what every check answers; the helpers below turn an answer into an
``int`` or a finite ``float``, or into feedback that names what it is instead (a ``bool``,
text, an array). Part of :mod:`recsys_tutorial.exercises`, used by the exercises of
:doc:`/book/assignments`.
"""

from __future__ import annotations

import math
import numbers
import operator
from dataclasses import dataclass

import numpy as np


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


def _one(answer: tuple[object, ...], label: str, name: str) -> object | Feedback:
    if len(answer) != 1:
        return Feedback(False, f"Pass one answer: check({label!r}, {name}).")
    return answer[0]
