"""Full-ranking evaluation: HR@K, NDCG@K, MRR@K, coverage and popularity.

Every item in the catalogue is a candidate except those already in the user's
history; the target itself is never excluded. Ties in the scores are resolved as a
uniformly random order would be, in expectation, so a model cannot gain (or lose) by
giving many items the same score. Explained in
:doc:`/notebooks/00_language_of_a_platform`; sampled metrics appear there only as a
lesson in why not to use them.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .protocol import Recommender
from .split import LeaveOneOutSplit, Stage


def _discount_tables(k: int) -> dict[str, np.ndarray]:
    """Cumulative gains by rank (0-based) for HR, NDCG and MRR, truncated at ``k``."""
    ranks = np.arange(k)
    gains = {"hr": np.ones(k), "ndcg": 1.0 / np.log2(ranks + 2), "mrr": 1.0 / (ranks + 1)}
    return {name: np.concatenate([[0.0], np.cumsum(g)]) for name, g in gains.items()}


def metrics_from_ranks(greater: np.ndarray, ties: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """Per-user HR@k, NDCG@k and MRR@k from the count of better and equally scored items.

    With ``g`` items scored above the target and ``t`` others tied with it, a random
    order puts the target at each 0-based rank ``g..g+t`` with probability ``1/(t+1)``;
    the result is the expected metric under that order (exact, not sampled).
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    greater = np.asarray(greater, dtype=np.int64)
    ties = np.asarray(ties, dtype=np.int64)
    lo = np.minimum(greater, k)
    hi = np.minimum(greater + ties + 1, k)
    return {
        name: (table[hi] - table[lo]) / (ties + 1)
        for name, table in _discount_tables(k).items()
    }


def target_ranks(
    scores: np.ndarray, targets: np.ndarray, excluded: sp.csr_matrix | np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each row: items scored above the target, items tied with it, candidates.

    ``excluded`` marks items that are not candidates (the history); the target is a
    candidate even if marked.
    """
    scores = np.asarray(scores)
    if scores.ndim != 2 or scores.shape[0] != len(targets):
        raise ValueError(f"scores must be (n_users, n_items); got {scores.shape} for {len(targets)} targets")
    if np.isnan(scores).any():
        raise ValueError("the model returned NaN scores; check its training (learning rate, inputs)")
    rows = np.arange(len(targets))
    if np.any((targets < 0) | (targets >= scores.shape[1])):
        raise ValueError("every target must be an item index in 0..n_items-1")
    candidate = np.ones(scores.shape, dtype=bool)
    if excluded is not None:
        mask = excluded.toarray() if sp.issparse(excluded) else np.asarray(excluded)
        candidate &= ~mask.astype(bool)
    candidate[rows, targets] = True
    target_score = scores[rows, targets][:, None]
    greater = ((scores > target_score) & candidate).sum(axis=1)
    ties = ((scores == target_score) & candidate).sum(axis=1) - 1
    return greater, ties, candidate.sum(axis=1)


def top_k(scores: np.ndarray, excluded: sp.csr_matrix | np.ndarray | None, k: int) -> np.ndarray:
    """The ``k`` best candidate items of each row, best first (excluded items last)."""
    scores = np.array(scores, dtype=np.float64, copy=True)
    if excluded is not None:
        mask = excluded.toarray() if sp.issparse(excluded) else np.asarray(excluded)
        scores[mask.astype(bool)] = -np.inf
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def _batches(model: Recommender, split: LeaveOneOutSplit, stage: Stage, batch_size: int):
    """Score the users with a ``stage`` target in batches; yield what each batch needs."""
    users = split.eval_users(stage)
    if len(users) == 0:
        raise ValueError(f"no user has a {stage} target; is the split empty?")
    histories_all = split.histories(stage)
    targets = split.targets(stage)
    seen = split.seen(stage)
    for start in range(0, len(users), batch_size):
        batch = users[start:start + batch_size]
        histories = [histories_all[u] for u in batch]
        scores = np.asarray(model.score(histories))
        if scores.shape != (len(batch), split.n_items):
            raise ValueError(
                f"model.score returned shape {scores.shape}; expected one row per history "
                f"and one column per item: ({len(batch)}, {split.n_items})"
            )
        yield batch, histories, targets[batch], seen[batch], scores


def rank_frame(
    model: Recommender, split: LeaveOneOutSplit, stage: Stage = "test",
    k: int = 10, batch_size: int = 1024,
) -> pd.DataFrame:
    """Per-user results at ``stage``: rank statistics and HR/NDCG/MRR@k.

    For analyses by user (history length, say). Explained in chapter 00.
    """
    parts = []
    for users, histories, targets, seen, scores in _batches(model, split, stage, batch_size):
        g, t, n = target_ranks(scores, targets, seen)
        part = pd.DataFrame({"user": users, "target": targets, "greater": g, "ties": t,
                             "candidates": n, "history_length": [len(h) for h in histories]})
        for name, values in metrics_from_ranks(g, t, k).items():
            part[f"{name}@{k}"] = values
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def evaluate(
    model: Recommender, split: LeaveOneOutSplit, stage: Stage = "test",
    k: int = 10, batch_size: int = 1024,
) -> dict[str, float]:
    """The course's protocol: mean HR/NDCG/MRR@k over users, full ranking, seen excluded.

    Also reports catalogue coverage@k (share of items in anyone's top-k) and the mean
    training count of recommended items. Explained in chapter 00.
    """
    start_time = time.perf_counter()
    counts = split.train.item_counts()
    sums = {"hr": 0.0, "ndcg": 0.0, "mrr": 0.0}
    recommended = np.zeros(split.n_items, dtype=bool)
    popularity, n = 0.0, 0
    for users, _, targets, seen, scores in _batches(model, split, stage, batch_size):
        g, t, _ = target_ranks(scores, targets, seen)
        for name, values in metrics_from_ranks(g, t, k).items():
            sums[name] += float(values.sum())
        top = top_k(scores, seen, k)
        recommended[top.ravel()] = True
        popularity += float(counts[top].mean(axis=1).sum())
        n += len(users)
    result = {f"{name}@{k}": total / n for name, total in sums.items()}
    result[f"coverage@{k}"] = float(recommended.mean())
    result[f"popularity@{k}"] = popularity / n
    result["users"] = n
    result["eval_seconds"] = time.perf_counter() - start_time
    return result


def sampled_evaluate(
    model: Recommender, split: LeaveOneOutSplit, stage: Stage = "test",
    k: int = 10, n_negatives: int = 100, seed: int = 0,
) -> dict[str, float]:
    """HR/NDCG@k ranking the target among ``n_negatives`` random unseen items only.

    Shown in chapter 00 to explain why the course does *not* use it: sampled metrics can
    order models differently from full ranking (Krichene & Rendle, KDD 2020).
    """
    rng = np.random.default_rng(seed)
    sums = {"hr": 0.0, "ndcg": 0.0, "mrr": 0.0}
    n = 0
    for _, _, targets, seen, scores in _batches(model, split, stage, 1024):
        seen = seen.toarray().astype(bool)
        for row, score_row in enumerate(scores):
            pool = np.flatnonzero(~seen[row])
            pool = pool[pool != targets[row]]
            negatives = rng.choice(pool, size=min(n_negatives, len(pool)), replace=False)
            others = score_row[negatives]
            target_score = score_row[targets[row]]
            g = np.array([(others > target_score).sum()])
            t = np.array([(others == target_score).sum()])
            for name, values in metrics_from_ranks(g, t, k).items():
                sums[name] += float(values[0])
        n += len(scores)
    return {f"sampled_{name}@{k}": total / n for name, total in sums.items()}


def bootstrap_interval(
    values: np.ndarray, n_boot: int = 1000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of a mean over users (users resampled with
    replacement). Given per-user differences of two models on the same users, it is
    the paired interval of their gap. Chapters 04 and 06."""
    values = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(n_boot, len(values)))].mean(axis=1)
    alpha = (1 - level) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))
