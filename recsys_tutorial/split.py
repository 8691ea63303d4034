"""Histories as sentences, and the leave-one-out split by time.

Each user's items ordered by time form a sentence. Timestamps often tie, so the tie
rule decides many targets: ties are broken by a hash of ``user_id:item_id``, which is
deterministic and unrelated to the items. The last item is the test target, the one
before it the validation target, the rest is training data. Every chapter uses this
one split object. Explained in :doc:`/notebooks/00_language_of_a_platform`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

TieBreak = Literal["hash", "item_id", "file"]
Stage = Literal["valid", "test"]


def tie_break_key(user_id: int, item_id: int) -> str:
    """The course's tie rule: SHA-256 of ``"user_id:item_id"`` (raw ids), ascending."""
    return hashlib.sha256(f"{user_id}:{item_id}".encode()).hexdigest()


def order_interactions(interactions: pd.DataFrame, tie_break: TieBreak = "hash") -> pd.DataFrame:
    """Sort by user, then time; ties broken by ``tie_break``.

    ``"hash"`` is the course's rule; ``"item_id"`` and ``"file"`` (the order rows happen
    to have in the file) exist to show in chapter 00 how much the rule matters.
    """
    required = {"user_id", "item_id", "timestamp"}
    if not required <= set(interactions.columns):
        raise ValueError(f"interactions need the columns {sorted(required)}")
    frame = interactions.reset_index(drop=True)
    if tie_break == "hash":
        # only rows that tie (same user, same time) need their hash; its rank among them
        # sorts like the hash itself (hex digests compare alike as str and numpy str)
        tied = frame.duplicated(["user_id", "timestamp"], keep=False).to_numpy()
        rank = np.zeros(len(frame), dtype=np.int64)
        if tied.any():
            pairs = zip(frame["user_id"].to_numpy()[tied], frame["item_id"].to_numpy()[tied])
            keys = np.array([tie_break_key(u, i) for u, i in pairs])
            rank[tied] = np.unique(keys, return_inverse=True)[1].ravel()
        frame = frame.assign(_tie=rank)
    elif tie_break == "item_id":
        frame = frame.assign(_tie=frame["item_id"])
    elif tie_break == "file":
        frame = frame.assign(_tie=np.arange(len(frame)))
    else:
        raise ValueError(f"tie_break must be 'hash', 'item_id' or 'file', not {tie_break!r}")
    frame = frame.sort_values(["user_id", "timestamp", "_tie"], kind="stable")
    return frame.drop(columns="_tie").reset_index(drop=True)


@dataclass(frozen=True)
class TrainData:
    """What a model may learn from: training histories as item indices, in time order.

    ``sequences[u]`` is user ``u``'s history; ``item_ids[i]`` is the raw MovieLens id of
    item index ``i``. Explained in chapter 00.
    """

    sequences: tuple[np.ndarray, ...]
    n_items: int
    item_ids: np.ndarray
    user_ids: np.ndarray

    @property
    def n_users(self) -> int:
        return len(self.sequences)

    def matrix(self) -> sp.csr_matrix:
        """Binary user x item matrix of the training histories."""
        return _matrix(self.sequences, self.n_items)

    def item_counts(self) -> np.ndarray:
        """How often each item occurs in training (its unigram count)."""
        flat = np.concatenate(self.sequences) if self.sequences else np.array([], int)
        return np.bincount(flat, minlength=self.n_items)


def _matrix(sequences: tuple[np.ndarray, ...] | list[np.ndarray], n_items: int) -> sp.csr_matrix:
    lengths = [len(s) for s in sequences]
    rows = np.repeat(np.arange(len(sequences)), lengths)
    cols = np.concatenate(sequences) if sequences else np.array([], int)
    m = sp.csr_matrix((np.ones(len(cols), np.float32), (rows, cols)), shape=(len(sequences), n_items))
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


@dataclass(frozen=True)
class LeaveOneOutSplit:
    """Leave-one-out by time: last item test, second-to-last validation, rest train.

    Users with fewer than three interactions keep everything in training and have no
    targets (``-1``). Build it with :func:`leave_one_out_split`. Explained in chapter 00.
    """

    train: TrainData
    valid_targets: np.ndarray
    test_targets: np.ndarray
    tie_break: str
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_users(self) -> int:
        return self.train.n_users

    @property
    def n_items(self) -> int:
        return self.train.n_items

    @property
    def item_ids(self) -> np.ndarray:
        return self.train.item_ids

    @property
    def user_ids(self) -> np.ndarray:
        return self.train.user_ids

    def targets(self, stage: Stage) -> np.ndarray:
        """The held-out item index of every user (``-1``: none) for ``stage``."""
        if stage == "valid":
            return self.valid_targets
        if stage == "test":
            return self.test_targets
        raise ValueError(f"stage must be 'valid' or 'test', not {stage!r}")

    def histories(self, stage: Stage) -> list[np.ndarray]:
        """What a model sees before predicting: train (valid) or train + valid (test)."""
        self.targets(stage)
        if stage == "valid":
            return list(self.train.sequences)
        return [
            np.append(s, v) if v >= 0 else s
            for s, v in zip(self.train.sequences, self.valid_targets)
        ]

    def seen(self, stage: Stage) -> sp.csr_matrix:
        """Binary matrix of the items excluded from ranking: everything in the history."""
        if stage not in self._cache:
            self._cache[stage] = _matrix(self.histories(stage), self.n_items)
        return self._cache[stage]

    def eval_users(self, stage: Stage) -> np.ndarray:
        """Indices of the users that have a target at ``stage``."""
        return np.flatnonzero(self.targets(stage) >= 0)

    @cached_property
    def fingerprint(self) -> str:
        """A short stable hash of everything in the split (ids, order, targets)."""
        digest = hashlib.sha256()
        digest.update(self.tie_break.encode())
        for array in (self.item_ids, self.user_ids, self.valid_targets, self.test_targets):
            digest.update(np.ascontiguousarray(array, dtype=np.int64).tobytes())
        for seq in self.train.sequences:
            digest.update(np.ascontiguousarray(seq, dtype=np.int64).tobytes())
            digest.update(b"|")
        return digest.hexdigest()[:16]

    def item_index(self, raw_ids: np.ndarray | list[int]) -> np.ndarray:
        """Map raw item ids to item indices (raises on unknown ids)."""
        raw = np.asarray(raw_ids)
        pos = np.searchsorted(self.item_ids, raw)
        pos = np.clip(pos, 0, len(self.item_ids) - 1)
        if not np.array_equal(self.item_ids[pos], raw):
            raise KeyError("some item ids are not in the split's catalogue")
        return pos


def leave_one_out_split(
    interactions: pd.DataFrame, tie_break: TieBreak = "hash"
) -> LeaveOneOutSplit:
    """Build the course's split from ``user_id, item_id, timestamp`` rows.

    Items are indexed ``0..n_items-1`` in order of raw id, users likewise.
    Explained in chapter 00.
    """
    ordered = order_interactions(interactions, tie_break)
    item_ids = np.sort(ordered["item_id"].unique())
    user_ids = np.sort(ordered["user_id"].unique())
    items = np.searchsorted(item_ids, ordered["item_id"].to_numpy())
    users = np.searchsorted(user_ids, ordered["user_id"].to_numpy())
    bounds = np.flatnonzero(np.diff(users)) + 1
    per_user = np.split(items, bounds)
    train, valid, test = [], [], []
    for seq in per_user:
        if len(seq) >= 3:
            train.append(seq[:-2].copy())
            valid.append(seq[-2])
            test.append(seq[-1])
        else:
            train.append(seq.copy())
            valid.append(-1)
            test.append(-1)
    data = TrainData(tuple(train), len(item_ids), item_ids, user_ids)
    return LeaveOneOutSplit(
        train=data,
        valid_targets=np.asarray(valid, dtype=np.int64),
        test_targets=np.asarray(test, dtype=np.int64),
        tie_break=tie_break,
    )
