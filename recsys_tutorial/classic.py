"""Strong classic baselines: EASE and implicit-feedback matrix factorisation (ALS).

Neither reads the order of a history: both score items from the set of items a user
has seen, as item-kNN does. They are here because simple, well-tuned models often
match neural recommenders on full-ranking benchmarks (Ferrari Dacrema et al., RecSys
2019), so an honest results table needs them. Explained in
:doc:`/notebooks/08_retrieval_funnel`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits

from .protocol import check_fitted
from .split import LeaveOneOutSplit, TrainData


def indicator(histories: Sequence[np.ndarray], n_items: int) -> sp.csr_matrix:
    """Binary ``(len(histories), n_items)`` matrix: which items each history holds."""
    rows = np.repeat(np.arange(len(histories)), [len(h) for h in histories])
    cols = np.concatenate(histories).astype(np.int64) if len(histories) else np.array([], int)
    matrix = sp.csr_matrix(
        (np.ones(len(cols)), (rows, cols)), shape=(len(histories), n_items), dtype=np.float64
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def ease_weights(matrix: sp.spmatrix, lam: float) -> np.ndarray:
    """EASE's closed form: ``B = I - P / diag(P)`` with ``P = (X^T X + lam I)^-1``.

    The minimiser of ``||X - X B||^2 + lam ||B||^2`` subject to ``diag(B) = 0`` (Steck,
    WWW 2019): column ``j`` of ``B`` is ``-P[:, j] / P[j, j]``, off the diagonal.
    Chapter 08.
    """
    gram = (matrix.T @ matrix).toarray().astype(np.float64)
    gram[np.diag_indices_from(gram)] += lam
    precision = np.linalg.inv(gram)
    weights = -precision / np.diag(precision)
    np.fill_diagonal(weights, 0.0)
    return weights


@dataclass
class EASE:
    """Embarrassingly shallow autoencoder: a linear item-to-item model with a closed form.

    ``score = x B``, where ``x`` is the history's binary item vector and ``B`` the
    ``n_items x n_items`` weights of :func:`ease_weights`; the zero diagonal stops an
    item from predicting itself. No seed: the fit is exact. ``lam`` was chosen on
    validation NDCG@10 of the course's split of MovieLens-100k (10: 0.0683, 30: 0.0753,
    50: 0.0767, 75: 0.0769, 100: 0.0771, 150: 0.0768, 300: 0.0725, 1000: 0.0671, 2000:
    0.0603). Its parameters are the off-diagonal weights. Chapter 08.
    """

    lam: float = 100.0
    weights_: np.ndarray | None = field(default=None, repr=False)

    def fit(self, train: TrainData, valid: LeaveOneOutSplit | None = None) -> EASE:
        del valid  # nothing to choose on validation
        if self.lam <= 0:
            raise ValueError("lam must be positive (it makes X^T X + lam I invertible)")
        self.weights_ = ease_weights(train.matrix(), self.lam)
        return self

    def score(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        check_fitted(self, "weights_")
        return np.asarray(indicator(histories, self.weights_.shape[0]) @ self.weights_)

    @property
    def n_parameters(self) -> int:
        """The ``n_items * (n_items - 1)`` off-diagonal weights."""
        check_fitted(self, "weights_")
        n = self.weights_.shape[0]
        return n * (n - 1)


def fold_in(
    histories: Sequence[np.ndarray], item_factors: np.ndarray, regularization: float,
    alpha: float, batch: int = 64,
) -> np.ndarray:
    """Least-squares user factors for histories the model did not train on.

    With confidence ``c = alpha`` on the history's items and ``1`` elsewhere (target
    ``1`` and ``0``), ALS's user step solves ``(Y^T C Y + reg I) u = Y^T C p``, and
    ``Y^T C Y = Y^T Y + (alpha - 1) Y_h^T Y_h`` over the history's item factors
    ``Y_h``. The same solve as ALS's user update for a training user (exact, where
    training approximates it by conjugate gradient). Chapter 08.
    """
    y = item_factors.astype(np.float64)
    k = y.shape[1]
    base = y.T @ y + regularization * np.eye(k)
    users = np.zeros((len(histories), k))
    for start in range(0, len(histories), batch):
        part = indicator(histories[start:start + batch], len(y))
        seen = [y[part.indices[a:b]] for a, b in zip(part.indptr[:-1], part.indptr[1:])]
        lhs = np.stack([base + (alpha - 1.0) * h.T @ h for h in seen])
        rhs = np.stack([alpha * h.sum(axis=0) for h in seen])
        users[start:start + batch] = np.linalg.solve(lhs, rhs[..., None])[..., 0]
    return users


@dataclass
class ALS:
    """Implicit-feedback matrix factorisation by alternating least squares (Hu, Koren and
    Volinsky, ICDM 2008), trained by the ``implicit`` library.

    ``score = u Y^T``: item factors ``Y`` learned on every (user, item) cell of the
    training matrix, seen cells weighted by ``alpha``; a history's user factor ``u``
    is folded in by :func:`fold_in`, so that any history, the held-out ones included,
    is scored from its items alone. ALS rather than BPR, because its user step is a
    closed-form solve that folds in a new history exactly; ``implicit`` rather than our
    own loop, because it is a small, maintained, compiled library whose single-threaded
    fit is deterministic given ``seed``. Its parameters are the item factors (user
    factors are recomputed from each history). Chapter 08.

    The defaults were chosen on validation NDCG@10 of the course's split of
    MovieLens-100k, the mean of seeds 0 and 1, 15 iterations unless said: of factors
    32/64/128 x alpha 1/3/10 x regularization 10/30/100, 128 factors, alpha 3 and
    regularization 10 did best (0.0788; regularization 30: 0.0640, 100: 0.0430); of
    factors 128/256 x alpha 2/3/5 x regularization 3/10/20 x 15/30 iterations, the
    defaults (0.0821; 128 factors: 0.0788; 30 iterations: 0.0804; alpha 2: 0.0805, 5:
    0.0751; regularization 3: 0.0635, 20: 0.0743); at 256 and 512 factors, alpha 3,
    regularization 7/10/15: 0.0753/0.0821/0.0759 and 0.0801/0.0817/0.0762. Alpha 20 or
    40 did worse at 64 factors (at most 0.0671, one seed).
    """

    factors: int = 256
    regularization: float = 10.0
    alpha: float = 3.0
    iterations: int = 15
    seed: int = 0
    item_factors_: np.ndarray | None = field(default=None, repr=False)

    def fit(self, train: TrainData, valid: LeaveOneOutSplit | None = None) -> ALS:
        del valid  # a fixed number of iterations: nothing to choose on validation
        with threadpool_limits(1, "blas"):  # one thread: the fit is deterministic
            model = AlternatingLeastSquares(
                factors=self.factors, regularization=self.regularization, alpha=self.alpha,
                iterations=self.iterations, random_state=self.seed, num_threads=1,
                calculate_training_loss=False,
            )
            model.fit(train.matrix().astype(np.float32), show_progress=False)
        self.item_factors_ = np.asarray(model.item_factors, dtype=np.float64)
        return self

    def user_factors(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """The folded-in user factor of each history (zero for the empty one)."""
        check_fitted(self, "item_factors_")
        return fold_in(histories, self.item_factors_, self.regularization, self.alpha)

    def score(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        return self.user_factors(histories) @ self.item_factors_.T

    @property
    def n_parameters(self) -> int:
        """The item factors, ``n_items * factors``."""
        check_fitted(self, "item_factors_")
        return int(self.item_factors_.size)
