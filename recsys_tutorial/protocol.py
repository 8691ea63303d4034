"""The one protocol every recommender in the course follows.

A recommender is fitted on the training histories and then scores every item for any
history, like a scikit-learn estimator:

- ``fit(train, valid=None)`` learns from :class:`~recsys_tutorial.split.TrainData`
  only and returns the model. ``valid`` is the
  :class:`~recsys_tutorial.split.LeaveOneOutSplit` whose *validation* targets a model
  may use to choose its best epoch (the test targets are never read); models with
  nothing to choose ignore it.
- ``score(histories)`` returns a ``float`` array of shape ``(len(histories), n_items)``:
  one row of scores over the whole catalogue per history (higher is better), finite,
  for histories of any length, the empty one included. It raises
  :class:`NotFittedError` before ``fit``.
- ``n_parameters`` is the number of values the fitted model learned (a count table's
  entries, a network's weights), so that results tables can compare sizes.

``tests/test_protocol.py`` checks every model registered in
:data:`recsys_tutorial.bench.MODELS` against this. Explained in
:doc:`/notebooks/00_language_of_a_platform`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, Self, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from .split import LeaveOneOutSplit, TrainData


class NotFittedError(RuntimeError):
    """A model was asked to score before it was fitted."""


@runtime_checkable
class Recommender(Protocol):
    """What every model in the course exposes; see the module's docstring."""

    def fit(self, train: TrainData, valid: LeaveOneOutSplit | None = None) -> Self: ...

    def score(self, histories: Sequence[np.ndarray]) -> np.ndarray: ...

    @property
    def n_parameters(self) -> int: ...


def check_fitted(model: object, *attributes: str) -> None:
    """Raise :class:`NotFittedError` unless every named attribute is set (not ``None``)."""
    if any(getattr(model, name, None) is None for name in attributes):
        raise NotFittedError(f"{type(model).__name__} is not fitted: call fit(split.train) first")
