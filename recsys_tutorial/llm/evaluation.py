"""Metrics on candidate sets, position bias and bootstrap intervals.

Explained in :doc:`/notebooks/06_llm_zero_shot_ranker`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..metrics import metrics_from_ranks, target_ranks
from ..protocol import Recommender
from ..split import LeaveOneOutSplit
from .candidates import CandidateSets


def candidate_metrics(
    scores: np.ndarray, target_pos: np.ndarray, ks: Sequence[int] = (1, 5, 10)
) -> dict[str, float]:
    """Mean NDCG@k and HR@k of the true item among each row's candidates.

    Ties count as a random order would, in expectation (so all-equal scores give the
    random baseline exactly). Chapter 06.
    """
    per_user = candidate_metrics_per_user(scores, target_pos, ks)
    return {name: float(values.mean()) for name, values in per_user.items()}


def candidate_metrics_per_user(
    scores: np.ndarray, target_pos: np.ndarray, ks: Sequence[int] = (1, 5, 10)
) -> dict[str, np.ndarray]:
    """Per-row NDCG@k and HR@k on candidates (for bootstrap intervals). Chapter 06."""
    greater, ties, _ = target_ranks(np.asarray(scores, dtype=np.float64), np.asarray(target_pos), None)
    out: dict[str, np.ndarray] = {}
    for k in ks:
        values = metrics_from_ranks(greater, ties, k)
        out[f"ndcg@{k}"] = values["ndcg"]
        out[f"hr@{k}"] = values["hr"]
    return out


def restrict_to_candidates(
    model: Recommender, split: LeaveOneOutSplit, candidate_sets: CandidateSets
) -> np.ndarray:
    """A fitted full-catalogue model's scores of each row's candidates. Chapter 06."""
    histories = split.histories(candidate_sets.stage)
    full = np.asarray(model.score([histories[u] for u in candidate_sets.users]))
    return np.take_along_axis(full, candidate_sets.candidates, axis=1)


def shuffled_sets(
    candidate_sets: CandidateSets, n_shuffles: int, seed: int = 0
) -> list[tuple[CandidateSets, np.ndarray]]:
    """``n_shuffles`` re-orderings of every row's candidates, each with the permutation
    that maps shown positions back to the original ones. Chapter 06."""
    rng = np.random.default_rng(seed)
    n, k = candidate_sets.candidates.shape
    out = []
    for _ in range(n_shuffles):
        perms = np.array([rng.permutation(k) for _ in range(n)])
        rows = np.take_along_axis(candidate_sets.candidates, perms, axis=1)
        pos = np.array([int(np.flatnonzero(p == t)[0]) for p, t in zip(perms, candidate_sets.target_pos)])
        out.append((CandidateSets(candidate_sets.users, rows, pos, candidate_sets.stage,
                                  candidate_sets.seed), perms))
    return out


def aggregate_shuffles(scores: Sequence[np.ndarray], perms: Sequence[np.ndarray]) -> np.ndarray:
    """Bootstrapping (Hou et al.): map each shuffle's scores back to the original
    positions and average the ranks (a Borda count), so no position is favoured.
    Chapter 06."""
    n, k = np.asarray(scores[0]).shape
    total = np.zeros((n, k))
    for s, perm in zip(scores, perms):
        ranks = np.argsort(np.argsort(-np.asarray(s), axis=1, kind="stable"), axis=1)
        back = np.empty_like(ranks)
        np.put_along_axis(back, perm, ranks, axis=1)
        total += back
    return -total / len(scores)
