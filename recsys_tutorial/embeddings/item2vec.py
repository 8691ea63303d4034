"""item2vec: gensim's word2vec on histories, and an embedding used as a recommender.

Items consumed near each other in histories get similar vectors, as words used in the
same contexts do (Barkan & Koenigstein 2016). A user is the (recency-weighted) mean of
their recent items' vectors, and every item is scored by its cosine (or dot product)
with that user vector. Explained in :doc:`/notebooks/02_item2vec`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from gensim.models import Word2Vec

from ..protocol import check_fitted
from ..split import LeaveOneOutSplit, TrainData
from ..utils import unit_rows

Similarity = Literal["cosine", "dot"]
Side = Literal["in", "in+out", "in-out"]


def neighbours(
    vectors: np.ndarray, items: int | Sequence[int] | np.ndarray, k: int = 10, centre: bool = False
) -> np.ndarray:
    """The ``k`` nearest items to each of ``items`` by cosine similarity, nearest first.

    The item itself is never its own neighbour. ``centre=True`` first subtracts the mean
    vector (embeddings trained by negative sampling share a common direction that would
    otherwise dominate the cosine). One item gives shape ``(k,)``, a list ``(len(items), k)``.
    """
    one = np.ndim(items) == 0
    items = np.atleast_1d(np.asarray(items, dtype=np.int64))
    vectors = np.asarray(vectors, dtype=np.float64)
    unit = unit_rows(vectors - vectors.mean(axis=0) if centre else vectors)
    similarity = unit[items] @ unit.T
    similarity[np.arange(len(items)), items] = -np.inf
    nearest = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
    return nearest[0] if one else nearest


def user_vectors(
    vectors: np.ndarray, histories: Sequence[np.ndarray], last: int | None = None, decay: float = 1.0
) -> np.ndarray:
    """One vector per history: the weighted mean of its ``last`` items' vectors.

    The item ``k`` steps before the end gets weight ``decay ** k`` (``1.0``: plain mean).
    An empty history gives the zero vector. Chapter 02.
    """
    users = np.zeros((len(histories), vectors.shape[1]), dtype=np.float64)
    for row, history in enumerate(histories):
        recent = np.asarray(history[-last:] if last else history, dtype=np.int64)
        if len(recent) == 0:
            continue
        weights = decay ** np.arange(len(recent) - 1, -1, -1, dtype=np.float64)
        users[row] = weights @ vectors[recent] / weights.sum()
    return users


def embedding_scores(
    vectors: np.ndarray, histories: Sequence[np.ndarray], similarity: Similarity = "cosine",
    last: int | None = None, decay: float = 1.0, context: np.ndarray | None = None,
) -> np.ndarray:
    """Score all items for each history: similarity of item vectors to the user vector.

    The user vector averages ``vectors`` over the history; items are compared through
    ``context`` if given (skip-gram's output table: its own next-item prediction), else
    through ``vectors`` themselves. With ``"cosine"`` every vector is normalised first,
    so an item's frequency (which inflates its norm) does not decide its rank. Chapter 02.
    """
    if similarity not in ("cosine", "dot"):
        raise ValueError(f"similarity must be 'cosine' or 'dot', not {similarity!r}")
    items = vectors if context is None else context
    if similarity == "cosine":
        vectors, items = unit_rows(vectors), unit_rows(items)
    users = user_vectors(vectors, histories, last, decay)
    if similarity == "cosine":
        users = unit_rows(users)
    return users @ items.T


class EmbeddingRecommender:
    """What :class:`Item2Vec`, :class:`~recsys_tutorial.embeddings.sgns.SGNS` and
    :class:`~recsys_tutorial.embeddings.glove.GloVe` share once fitted: ``score`` and
    ``n_parameters`` from the item vectors ``vectors_`` (and the skip-gram's output table
    ``context_``), read as the model's ``side``, ``similarity``, ``last`` and ``decay``
    say (see :func:`side_scores`). Chapter 02.
    """

    # a model without an output table (GloVe) keeps these; the skip-grams set them
    side: Side = "in"
    context_: np.ndarray | None = None
    vectors_: np.ndarray | None
    similarity: Similarity
    last: int | None
    decay: float

    def score(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        check_fitted(self, "vectors_")
        return side_scores(self.vectors_, self.context_, histories, self.side, self.similarity,
                           self.last, self.decay)

    @property
    def n_parameters(self) -> int:
        """The learned vectors kept: the item table, plus the output table if any."""
        check_fitted(self, "vectors_")
        return int(self.vectors_.size + (0 if self.context_ is None else self.context_.size))


@dataclass
class Item2Vec(EmbeddingRecommender):
    """gensim ``Word2Vec`` (skip-gram) on the training histories, as a recommender.

    The word2vec hyperparameters keep gensim's names and defaults (except ``sg=1`` and
    ``min_count=1``: every item keeps a vector). ``last``/``decay``/``similarity`` decide
    how a history becomes scores (see :func:`embedding_scores`); ``side`` which vectors:
    ``"in"`` the input vectors alone (item2vec's item similarity), ``"in+out"`` their sum
    with the output vectors (as GloVe sums its two tables), ``"in-out"`` input vectors for
    the history against output vectors for the candidates (skip-gram's own prediction). ``workers=1`` with a
    fixed ``seed`` makes training deterministic. Items never seen in training get a zero
    vector, hence a neutral score. Its parameters are both tables, input and output
    (``2 * n_items * vector_size``). Chapter 02.
    """

    vector_size: int = 100
    window: int = 5
    negative: int = 5
    ns_exponent: float = 0.75
    sample: float = 1e-3
    epochs: int = 5
    alpha: float = 0.025
    min_alpha: float = 1e-4
    min_count: int = 1
    sg: int = 1
    seed: int = 0
    workers: int = 1
    last: int | None = None
    decay: float = 1.0
    similarity: Similarity = "cosine"
    side: Side = "in"
    vectors_: np.ndarray | None = field(default=None, repr=False)
    context_: np.ndarray | None = field(default=None, repr=False)
    model_: Word2Vec | None = field(default=None, repr=False)

    def fit(self, train: TrainData, valid: LeaveOneOutSplit | None = None) -> Item2Vec:
        del valid  # nothing to choose on validation
        sentences = [[str(i) for i in seq] for seq in train.sequences if len(seq)]
        self.model_ = Word2Vec(
            sentences, vector_size=self.vector_size, window=self.window, negative=self.negative,
            ns_exponent=self.ns_exponent, sample=self.sample, epochs=self.epochs, alpha=self.alpha,
            min_alpha=self.min_alpha, min_count=self.min_count, sg=self.sg, seed=self.seed,
            workers=self.workers,
        )
        self.vectors_ = vectors_by_index(self.model_, train.n_items)
        self.context_ = vectors_by_index(self.model_, train.n_items, output=True)
        return self



def side_scores(
    vectors: np.ndarray, context: np.ndarray | None, histories: Sequence[np.ndarray], side: Side = "in",
    similarity: Similarity = "cosine", last: int | None = None, decay: float = 1.0,
) -> np.ndarray:
    """:func:`embedding_scores` from a skip-gram's input ``vectors`` and output ``context``
    tables, read as ``side`` says (see :class:`Item2Vec`). Chapter 02."""
    if side == "in":
        return embedding_scores(vectors, histories, similarity, last, decay)
    if side == "in+out":
        return embedding_scores(vectors + context, histories, similarity, last, decay)
    if side == "in-out":
        return embedding_scores(vectors, histories, similarity, last, decay, context)
    raise ValueError(f"side must be 'in', 'in+out' or 'in-out', not {side!r}")


def vectors_by_index(model: Word2Vec, n_items: int, output: bool = False) -> np.ndarray:
    """gensim's input (or ``output``) vectors by item index; items gensim dropped stay zero.

    gensim orders its vocabulary by frequency, so row ``r`` of its tables is the item
    ``model.wv.index_to_key[r]``. Chapter 02.
    """
    table = model.syn1neg if output else model.wv.vectors
    vectors = np.zeros((n_items, model.wv.vector_size), dtype=np.float32)
    for key, row in model.wv.key_to_index.items():
        vectors[int(key)] = table[row]
    return vectors
