"""Candidates for a language model to rank: 20 films per user.

The protocol of Hou et al. (ECIR 2024): for each sampled test user, 20 candidates (the
true next item and 19 items the user has not seen, in random order).
Explained in :doc:`/notebooks/06_llm_zero_shot_ranker`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..split import LeaveOneOutSplit, Stage


@dataclass(frozen=True)
class CandidateSets:
    """One row per sampled user: ``candidates[r]`` are item indices in the order shown;
    ``target_pos[r]`` is where the true next item sits. Chapter 06."""

    users: np.ndarray
    candidates: np.ndarray
    target_pos: np.ndarray
    stage: str
    seed: int

    def __len__(self) -> int:
        return len(self.users)

    @property
    def targets(self) -> np.ndarray:
        return self.candidates[np.arange(len(self)), self.target_pos]

    def take(self, rows: np.ndarray | slice) -> CandidateSets:
        """The rows ``rows``, in that order (a permutation re-orders the users)."""
        return CandidateSets(self.users[rows], self.candidates[rows], self.target_pos[rows],
                             self.stage, self.seed)

    def head(self, n: int) -> CandidateSets:
        """The first ``n`` rows (a smaller sample for the slower experiments)."""
        return self.take(slice(None, n))


def sample_candidates(
    split: LeaveOneOutSplit, stage: Stage = "test", n_users: int | None = 200,
    n_candidates: int = 20, seed: int = 0, users: np.ndarray | None = None,
) -> CandidateSets:
    """Hou et al.'s candidates: the true next item plus ``n_candidates - 1`` items the user
    has not seen (uniformly at random), shuffled; a fixed sample of ``n_users`` users.

    Deterministic for a given ``seed``. Chapter 06.
    """
    rng = np.random.default_rng(seed)
    if users is None:
        pool = split.eval_users(stage)
        users = pool if n_users is None or n_users >= len(pool) else np.sort(
            rng.choice(pool, size=n_users, replace=False))
    users = np.asarray(users)
    targets = split.targets(stage)[users]
    if np.any(targets < 0):
        raise ValueError(f"every user needs a {stage} target")
    seen = split.seen(stage)
    rows = np.empty((len(users), n_candidates), dtype=np.int64)
    positions = np.empty(len(users), dtype=np.int64)
    for r, (user, target) in enumerate(zip(users, targets)):
        excluded = np.zeros(split.n_items, dtype=bool)
        excluded[seen[user].indices] = True
        excluded[target] = True
        unseen = np.flatnonzero(~excluded)
        if len(unseen) < n_candidates - 1:
            raise ValueError(f"user {user} has fewer than {n_candidates - 1} unseen items")
        negatives = rng.choice(unseen, size=n_candidates - 1, replace=False)
        row = rng.permutation(np.append(negatives, target))
        rows[r] = row
        positions[r] = int(np.flatnonzero(row == target)[0])
    return CandidateSets(users, rows, positions, stage, seed)


def move_target(candidate_sets: CandidateSets, position: int) -> CandidateSets:
    """The same candidates with the true item moved to ``position`` (others keep their
    relative order): for measuring position bias. Chapter 06."""
    rows = []
    for row, pos in zip(candidate_sets.candidates, candidate_sets.target_pos):
        others = np.delete(row, pos)
        rows.append(np.insert(others, position, row[pos]))
    n = len(candidate_sets)
    return CandidateSets(candidate_sets.users, np.array(rows), np.full(n, position),
                         candidate_sets.stage, candidate_sets.seed)
