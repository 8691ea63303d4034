"""The zero-shot content recommender: read the history, find films that read alike.

No interaction is used for training. A user's profile is the recency-weighted mean of
the text embeddings of the films in their history (the latest film weighs most, each
step back by a factor ``decay``); every item is scored by the cosine similarity of its
text embedding to the profile. Because the score comes from text alone, a film nobody
has rated yet is scored like any other. Explained in :doc:`/notebooks/05_zero_shot_text_encoders`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..protocol import check_fitted
from ..split import LeaveOneOutSplit, TrainData
from ..utils import unit_rows


def recency_weights(length: int, decay: float) -> np.ndarray:
    """``decay ** age`` for a history of ``length`` items, oldest first (the latest has
    age 0 and weight 1). ``decay=1`` is the plain mean. Chapter 05."""
    return decay ** np.arange(length - 1, -1, -1, dtype=np.float64)


@dataclass
class ContentRecommender:
    """Cosine similarity of each item's text to the history's recency-weighted profile.

    ``item_vectors``: one text embedding per item, as a frame indexed by raw item id
    (:func:`~recsys_tutorial.text.encoder.catalogue_embeddings`) or an array already in
    the split's item order. ``decay`` in ``(0, 1]``: the weight lost per step back in
    the history (the default, 0.2, is chapter 05's choice on validation, as in
    :mod:`~recsys_tutorial.bench`). ``max_history``: only the latest items count
    (``None``: all). ``fit`` only aligns the vectors with the split's items (as float32 unit rows);
    nothing is learned from interactions, so :attr:`n_parameters` is 0. Chapter 05.
    """

    item_vectors: pd.DataFrame | np.ndarray = field(repr=False)
    decay: float = 0.2
    max_history: int | None = 50
    vectors_: np.ndarray | None = field(default=None, repr=False)

    def fit(self, train: TrainData, valid: LeaveOneOutSplit | None = None) -> ContentRecommender:
        del valid  # nothing to choose on validation
        if not 0 < self.decay <= 1:
            raise ValueError("decay must be in (0, 1]")
        if isinstance(self.item_vectors, pd.DataFrame):
            missing = np.setdiff1d(train.item_ids, self.item_vectors.index.to_numpy())
            if len(missing):
                raise KeyError(f"no text embedding for {len(missing)} items, e.g. item_id {missing[0]}")
            vectors = self.item_vectors.loc[train.item_ids].to_numpy()
        else:
            vectors = np.asarray(self.item_vectors)
            if len(vectors) != train.n_items:
                raise ValueError(f"{len(vectors)} item vectors for {train.n_items} items")
        self.vectors_ = unit_rows(np.asarray(vectors, dtype=np.float32))
        return self

    @property
    def n_parameters(self) -> int:
        """0: nothing is learned. The text vectors it keeps (``vectors_``) come frozen from
        a pretrained encoder, as a text model's frozen buffer, and are not counted."""
        check_fitted(self, "vectors_")
        return 0

    def profiles(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """One unit-length profile per history (zeros for an empty history)."""
        check_fitted(self, "vectors_")
        out = np.zeros((len(histories), self.vectors_.shape[1]), dtype=np.float32)
        for row, history in enumerate(histories):
            history = np.asarray(history, dtype=np.int64)
            if self.max_history is not None:
                history = history[-self.max_history:]
            if len(history):
                weights = recency_weights(len(history), self.decay)
                out[row] = weights @ self.vectors_[history]
        return unit_rows(out)

    def score(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """Cosine similarity of every item to each history's profile."""
        return self.profiles(histories) @ self.vectors_.T
