"""GloVe item vectors: weighted least squares on log co-occurrence counts.

GloVe (Pennington et al. 2014) counts how often two words occur within a window of
each other (a pair ``d`` positions apart adds ``1/d``) and fits ``w_i . c_j + b_i +
b'_j ~ log X_ij`` over the non-zero counts, each weighted by ``f(X_ij) = min(1, X_ij /
x_max) ** power`` so that rare pairs count less and frequent ones do not dominate. Read
histories as sentences and the same recipe gives item vectors. Explained in :doc:`/notebooks/02_item2vec`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import torch

from ..split import LeaveOneOutSplit, TrainData
from .item2vec import EmbeddingRecommender, Similarity


def cooccurrence(sequences: Sequence[np.ndarray], n_items: int, window: int) -> sp.csr_matrix:
    """Symmetric ``X[i, j]``: sum of ``1 / d`` over pairs of ``i`` and ``j`` ``d <= window``
    positions apart in a history. Chapter 02."""
    rows, cols, weights = [np.empty(0, np.int64)], [np.empty(0, np.int64)], [np.empty(0)]
    for offset in range(1, window + 1):
        left = [s[:-offset] for s in sequences if len(s) > offset]
        right = [s[offset:] for s in sequences if len(s) > offset]
        if not left:
            break
        a, b = np.concatenate(left), np.concatenate(right)
        rows += [a, b]
        cols += [b, a]
        weights.append(np.full(2 * len(a), 1.0 / offset))
    matrix = sp.coo_matrix(
        (np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))), shape=(n_items, n_items)
    )
    return matrix.tocsr()  # duplicates are summed


def glove_loss(
    w: torch.Tensor, c: torch.Tensor, bw: torch.Tensor, bc: torch.Tensor,
    log_x: torch.Tensor, weight: torch.Tensor,
) -> torch.Tensor:
    """Weighted mean of ``(w_i . c_j + b_i + b'_j - log X_ij) ** 2`` over a batch. Chapter 02."""
    error = (w * c).sum(-1) + bw + bc - log_x
    return (weight * error**2).sum() / weight.sum()


def fit_glove(
    x: sp.spmatrix, dim: int = 64, x_max: float = 10.0, power: float = 0.75, epochs: int = 10,
    lr: float = 0.1, batch_size: int = 262_144, seed: int = 0,
) -> tuple[np.ndarray, list[float]]:
    """Fit GloVe with AdaGrad (as the paper) on the non-zero entries of ``x``.

    Returns the item vectors ``W + C`` (the paper's choice) and the loss of each epoch.
    Runs on one CPU thread, restored afterwards (see
    :func:`~recsys_tutorial.embeddings.sgns.train_sgns`). Chapter 02.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _fit(x, dim, x_max, power, epochs, lr, batch_size, seed)
    finally:
        torch.set_num_threads(threads)


def _fit(
    x: sp.spmatrix, dim: int, x_max: float, power: float, epochs: int, lr: float, batch_size: int, seed: int
) -> tuple[np.ndarray, list[float]]:
    coo = sp.coo_matrix(x)
    i, j = torch.as_tensor(coo.row, dtype=torch.long), torch.as_tensor(coo.col, dtype=torch.long)
    log_x = torch.as_tensor(np.log(coo.data), dtype=torch.float32)
    weight = torch.as_tensor(np.minimum(1.0, coo.data / x_max) ** power, dtype=torch.float32)
    generator = torch.Generator().manual_seed(seed)
    n = x.shape[0]
    w = ((torch.rand(n, dim, generator=generator) - 0.5) / dim).requires_grad_()
    c = ((torch.rand(n, dim, generator=generator) - 0.5) / dim).requires_grad_()
    bw, bc = torch.zeros(n, requires_grad=True), torch.zeros(n, requires_grad=True)
    optimiser = torch.optim.Adagrad([w, c, bw, bc], lr=lr)
    losses = []
    for _ in range(epochs):
        total = 0.0
        for batch in torch.randperm(len(i), generator=generator).split(batch_size):
            bi, bj = i[batch], j[batch]
            loss = glove_loss(w[bi], c[bj], bw[bi], bc[bj], log_x[batch], weight[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.item() * len(batch)
        losses.append(total / max(len(i), 1))
    return (w + c).detach().numpy(), losses


@dataclass
class GloVe(EmbeddingRecommender):
    """GloVe item vectors as a recommender, scored like
    :class:`~recsys_tutorial.embeddings.item2vec.Item2Vec` (``side="in"``).

    Its parameters are the vectors it keeps, ``W + C`` (``n_items * dim``); training
    also fits the two tables apart and two biases, which it does not keep. Chapter 02.
    """

    dim: int = 64
    window: int = 5
    x_max: float = 10.0
    power: float = 0.75
    epochs: int = 10
    lr: float = 0.1
    seed: int = 0
    last: int | None = 5
    decay: float = 1.0
    similarity: Similarity = "cosine"
    vectors_: np.ndarray | None = field(default=None, repr=False)
    losses_: list[float] = field(default_factory=list, repr=False)

    def fit(self, train: TrainData, valid: LeaveOneOutSplit | None = None) -> GloVe:
        del valid  # nothing to choose on validation
        x = cooccurrence(train.sequences, train.n_items, self.window)
        self.vectors_, self.losses_ = fit_glove(
            x, self.dim, self.x_max, self.power, self.epochs, self.lr, seed=self.seed
        )
        self.vectors_[np.asarray(x.sum(axis=1)).ravel() == 0] = 0.0  # no co-occurrence: neutral
        return self
