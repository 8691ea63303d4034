"""Counting models: the unigram (popularity), the bigram with back-off, item-kNN.

Next-item prediction read as language modelling: popularity is a unigram model, the
Markov chain a bigram model that backs off to the unigram when it has little evidence,
and item-kNN a bag-of-words neighbour of both. Explained in
:doc:`/notebooks/01_next_item_as_language_modelling`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .protocol import check_fitted
from .split import LeaveOneOutSplit, TrainData


@dataclass
class Popularity:
    """Score every item by its training count: the unigram model.

    Its parameters are the ``n_items`` counts. Chapter 01.
    """

    counts_: np.ndarray | None = field(default=None, repr=False)

    def fit(self, train: TrainData, valid: LeaveOneOutSplit | None = None) -> Popularity:
        del valid  # nothing to choose on validation
        self.counts_ = train.item_counts().astype(np.float64)
        return self

    def score(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        check_fitted(self, "counts_")
        return np.tile(self.counts_, (len(histories), 1))

    @property
    def n_parameters(self) -> int:
        """The training counts, one per item."""
        check_fitted(self, "counts_")
        return int(self.counts_.size)


def transition_counts(sequences: Sequence[np.ndarray], n_items: int) -> sp.csr_matrix:
    """Sparse ``C[i, j]``: how often item ``j`` directly follows item ``i``. Chapter 01."""
    pairs = [np.stack([s[:-1], s[1:]]) for s in sequences if len(s) > 1]
    if not pairs:
        return sp.csr_matrix((n_items, n_items), dtype=np.float64)
    prev, nxt = np.concatenate(pairs, axis=1)
    counts = sp.csr_matrix(
        (np.ones(len(prev)), (prev, nxt)), shape=(n_items, n_items), dtype=np.float64
    )
    counts.sum_duplicates()
    return counts


@dataclass
class Markov:
    """Bigram next-item model with back-off to popularity (additive, Dirichlet-style).

    ``p(j | i) = (C[i, j] + beta * p_uni(j)) / (C[i] + beta)``: with many observed
    transitions out of ``i`` the bigram counts dominate; with few, the unigram does,
    as in an n-gram language model. Its parameters are the observed (non-zero)
    transition counts and the ``n_items`` unigram probabilities. Chapter 01.
    """

    beta: float = 1.0
    transitions_: sp.csr_matrix | None = field(default=None, repr=False)
    unigram_: np.ndarray | None = field(default=None, repr=False)

    def fit(self, train: TrainData, valid: LeaveOneOutSplit | None = None) -> Markov:
        del valid  # nothing to choose on validation
        if self.beta <= 0:
            raise ValueError("beta must be positive (it is the weight of the back-off)")
        counts = train.item_counts().astype(np.float64)
        self.unigram_ = (counts + 1.0) / (counts.sum() + len(counts))
        self.transitions_ = transition_counts(train.sequences, train.n_items)
        return self

    def score(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        check_fitted(self, "transitions_")
        last = np.array([h[-1] if len(h) else -1 for h in histories])
        scores = np.tile(self.unigram_, (len(histories), 1))
        known = last >= 0
        if known.any():
            rows = self.transitions_[last[known]]
            totals = np.asarray(rows.sum(axis=1)).ravel()
            scores[known] = (rows.toarray() + self.beta * self.unigram_) / (
                totals[:, None] + self.beta
            )
        return scores

    @property
    def n_parameters(self) -> int:
        """Observed transition counts (the sparse matrix's non-zeros) plus the unigram."""
        check_fitted(self, "transitions_")
        return int(self.transitions_.nnz + self.unigram_.size)


@dataclass
class ItemKNN:
    """Item-based neighbours: cosine similarity of items' user sets. Chapter 01.

    An item's score is the sum of its similarities to the items in the history, using
    each item's ``neighbours`` most similar items only (``None``: all). Its parameters
    are the similarities it keeps: the non-zero entries of ``similarity_`` (at most
    ``neighbours`` per item; the rest of the dense matrix is zero).
    """

    neighbours: int | None = 100
    similarity_: np.ndarray | None = field(default=None, repr=False)

    def fit(self, train: TrainData, valid: LeaveOneOutSplit | None = None) -> ItemKNN:
        del valid  # nothing to choose on validation
        matrix = train.matrix()
        co = (matrix.T @ matrix).toarray()
        norms = np.sqrt(np.diag(co))
        with np.errstate(divide="ignore", invalid="ignore"):
            sim = co / np.outer(norms, norms)
        sim = np.nan_to_num(sim, nan=0.0, posinf=0.0)
        np.fill_diagonal(sim, 0.0)
        if self.neighbours is not None and self.neighbours < sim.shape[1]:
            cut = np.argpartition(-sim, self.neighbours - 1, axis=1)[:, self.neighbours:]
            np.put_along_axis(sim, cut, 0.0, axis=1)
        self.similarity_ = sim.astype(np.float32)
        return self

    def score(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        check_fitted(self, "similarity_")
        n_items = self.similarity_.shape[0]
        rows = np.repeat(np.arange(len(histories)), [len(h) for h in histories])
        cols = np.concatenate(histories) if len(histories) else np.array([], int)
        indicator = sp.csr_matrix(
            (np.ones(len(cols), np.float32), (rows, cols)), shape=(len(histories), n_items)
        )
        indicator.data[:] = 1.0
        return np.asarray(indicator @ self.similarity_)

    @property
    def n_parameters(self) -> int:
        """The non-zero similarities kept (at most ``neighbours`` per item)."""
        check_fitted(self, "similarity_")
        return int(np.count_nonzero(self.similarity_))
