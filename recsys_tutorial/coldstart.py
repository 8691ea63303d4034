"""A cold-start split: items that no model ever saw in training.

Beside the course's leave-one-out split, chapter 05 needs items that are genuinely new
to the models: a fixed, seeded set of *cold* items whose every interaction is held out
of training. The split keeps the standard targets (each user's last item is the test
target, the one before the validation target), so some targets are cold items and the
rest are *warm*; one evaluation can then be read separately on the two kinds.

What happens to a cold item's occurrences:

- inside a training history (before the validation target) it is removed: models learn
  from the history as if the film did not exist yet. The user has still seen it, so it
  stays excluded from that user's ranking (:meth:`ColdStartSplit.seen`);
- as a validation or test target it stays: that is the point of the split;
- a cold validation target is the last item of the user's test history, as in the
  standard protocol: a model must then *read* an item it never trained on. An id
  model sees an untrained vector there; a text model reads the film's text.

All items stay candidates in the full ranking (cold ones included); items in the
history (and hidden cold items the user saw) are excluded. Explained in
:doc:`/notebooks/05_zero_shot_text_encoders`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .metrics import Recommender, evaluate, metrics_from_ranks, target_ranks
from .split import LeaveOneOutSplit, Stage, TieBreak, TrainData, _matrix, leave_one_out_split

TargetKind = Literal["all", "warm", "cold"]


@dataclass(frozen=True)
class ColdStartSplit(LeaveOneOutSplit):
    """The standard split with the cold items' interactions removed from training.

    ``cold_items``: sorted item indices held out of training. ``hidden[u]``: the cold
    items removed from user ``u``'s training history (excluded from ranking, never
    shown to a model). Build it with :func:`cold_start_split`; it works wherever a
    :class:`~recsys_tutorial.split.LeaveOneOutSplit` does. Chapter 05.
    """

    cold_items: np.ndarray = field(default_factory=lambda: np.array([], np.int64))
    hidden: tuple[np.ndarray, ...] = ()
    seed: int = 0

    @property
    def is_cold(self) -> np.ndarray:
        """Boolean mask over item indices: ``True`` for a cold item."""
        mask = np.zeros(self.n_items, dtype=bool)
        mask[self.cold_items] = True
        return mask

    def seen(self, stage: Stage) -> sp.csr_matrix:
        """The history plus the hidden cold items the user met before it."""
        key = ("seen+hidden", stage)
        if key not in self._cache:
            rows = self.histories(stage)
            if self.hidden:
                rows = [np.concatenate([h, x]) for h, x in zip(rows, self.hidden)]
            self._cache[key] = _matrix(rows, self.n_items)
        return self._cache[key]

    def target_kinds(self, stage: Stage) -> np.ndarray:
        """Per user: ``"cold"``, ``"warm"`` or ``""`` (no target) at ``stage``."""
        targets = self.targets(stage)
        kinds = np.full(len(targets), "", dtype=object)
        has = targets >= 0
        kinds[has] = np.where(self.is_cold[targets[has]], "cold", "warm")
        return kinds

    def restrict(self, stage: Stage, kind: TargetKind) -> ColdStartSplit:
        """The same split evaluated only on users whose ``stage`` target is ``kind``.

        The other users' ``stage`` targets become ``-1``; histories, the other stage's
        targets and the training data are untouched, so the scores do not change.
        """
        if kind == "all":
            return self
        if kind not in ("warm", "cold"):
            raise ValueError(f"kind must be 'all', 'warm' or 'cold', not {kind!r}")
        targets = np.where(self.target_kinds(stage) == kind, self.targets(stage), -1).astype(np.int64)
        changed = {"valid_targets": targets} if stage == "valid" else {"test_targets": targets}
        return dataclasses.replace(self, _cache={}, **changed)

    @cached_property
    def fingerprint(self) -> str:
        """Hash of the standard fields plus the cold items and the hidden occurrences."""
        digest = hashlib.sha256(LeaveOneOutSplit.fingerprint.func(self).encode())  # type: ignore[attr-defined]
        digest.update(b"cold")
        digest.update(np.ascontiguousarray(self.cold_items, dtype=np.int64).tobytes())
        for seq in self.hidden:
            digest.update(np.ascontiguousarray(seq, dtype=np.int64).tobytes())
            digest.update(b"|")
        return digest.hexdigest()[:16]


def choose_cold_items(
    split: LeaveOneOutSplit, fraction: float = 0.1, min_interactions: int = 10, seed: int = 0
) -> np.ndarray:
    """A seeded uniform draw of ``fraction`` of the catalogue, among the items with at
    least ``min_interactions`` interactions in all (so that cold films are plausible
    targets, not one-off curiosities). Sorted item indices. Chapter 05."""
    if not 0 < fraction < 1:
        raise ValueError("fraction must be strictly between 0 and 1")
    everything = [split.train.sequences, [split.valid_targets[split.valid_targets >= 0]],
                  [split.test_targets[split.test_targets >= 0]]]
    flat = np.concatenate([np.asarray(s, dtype=np.int64) for part in everything for s in part])
    counts = np.bincount(flat, minlength=split.n_items)
    pool = np.flatnonzero(counts >= min_interactions)
    n_cold = round(fraction * split.n_items)
    if n_cold < 1 or n_cold > len(pool):
        raise ValueError(
            f"cannot draw {n_cold} cold items from {len(pool)} items with at least "
            f"{min_interactions} interactions; lower fraction or min_interactions"
        )
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(pool, size=n_cold, replace=False)).astype(np.int64)


def cold_start_split(
    interactions: pd.DataFrame,
    fraction: float = 0.1,
    min_interactions: int = 10,
    seed: int = 0,
    tie_break: TieBreak = "hash",
) -> ColdStartSplit:
    """The course's leave-one-out split with a seeded set of cold items held out.

    Same targets as :func:`~recsys_tutorial.split.leave_one_out_split`; every
    occurrence of a cold item in a training history moves to ``hidden``. Chapter 05.
    """
    base = leave_one_out_split(interactions, tie_break)
    cold = choose_cold_items(base, fraction, min_interactions, seed)
    is_cold = np.zeros(base.n_items, dtype=bool)
    is_cold[cold] = True
    kept = tuple(s[~is_cold[s]].copy() for s in base.train.sequences)
    hidden = tuple(s[is_cold[s]].copy() for s in base.train.sequences)
    train = TrainData(kept, base.n_items, base.item_ids, base.user_ids)
    return ColdStartSplit(
        train=train, valid_targets=base.valid_targets, test_targets=base.test_targets,
        tie_break=tie_break, cold_items=cold, hidden=hidden, seed=seed,
    )


def evaluate_by_kind(
    model: Recommender, split: ColdStartSplit, stage: Stage = "test", k: int = 10
) -> dict[str, dict[str, float]]:
    """The course's protocol on all, warm and cold ``stage`` targets (one fitted model).

    Full ranking over all items, seen items excluded; returns ``{"all": ..., "warm":
    ..., "cold": ...}``, each as :func:`~recsys_tutorial.metrics.evaluate` returns it.
    Chapter 05.
    """
    return {kind: evaluate(model, split.restrict(stage, kind), stage, k=k)
            for kind in ("all", "warm", "cold")}


@dataclass
class NewItemPrior:
    """A fitted model whose scores of items absent from training are raised by ``bonus``.

    A log-prior for new items: on a log-probability or logit scale, a bonus ``b``
    multiplies a new item's odds by ``e**b``. Content-free, so it only *reorders* new
    items against old ones: which new item comes first is still the model's choice.
    TIGER's cold-start experiment reserves a share of the top ``k`` for unseen items
    for the same reason (Rajput et al., 2023). Choose ``bonus`` on validation
    (:func:`prior_curve`). Chapter 07.
    """

    model: Recommender
    new_items: np.ndarray
    bonus: float = 0.0

    def score(self, histories: list[np.ndarray]) -> np.ndarray:
        """The model's scores, plus ``bonus`` on the new items."""
        scores = np.asarray(self.model.score(histories), dtype=np.float64)
        return scores + self.bonus * np.asarray(self.new_items, dtype=bool)


def prior_curve(
    model: Recommender, split: ColdStartSplit, stage: Stage, bonuses: list[float], k: int = 10
) -> pd.DataFrame:
    """NDCG@k on all, warm and cold ``stage`` targets for each :class:`NewItemPrior` bonus.

    The items absent from ``split.train`` get the bonus; the model scores every user
    once, and each bonus re-ranks those scores by the course's protocol (full ranking,
    seen items excluded). One row per bonus. Chapter 07.
    """
    new = split.train.item_counts() == 0
    kinds = split.target_kinds(stage)
    users = split.eval_users(stage)
    targets, seen = split.targets(stage)[users], split.seen(stage)[users]
    histories = split.histories(stage)
    scores = np.asarray(model.score([histories[u] for u in users]), dtype=np.float64)
    rows = []
    for bonus in bonuses:
        greater, ties, _ = target_ranks(scores + bonus * new, targets, seen)
        ndcg = metrics_from_ranks(greater, ties, k)["ndcg"]
        row = {"bonus": bonus, f"all NDCG@{k}": ndcg.mean()}
        for kind in ("warm", "cold"):
            row[f"{kind} NDCG@{k}"] = ndcg[kinds[users] == kind].mean()
        rows.append(row)
    return pd.DataFrame(rows).set_index("bonus")
