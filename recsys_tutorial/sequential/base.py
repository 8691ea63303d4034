"""What the sequence models share: padding, batching and the course protocol.

:class:`SequenceRecommender` wraps a network in ``fit(train, valid=None)`` and
``score(histories)`` and hands training to :class:`~recsys_tutorial.sequential.trainer.Trainer`;
each model (GRU4Rec, SASRec, BERT4Rec) adds its network and its loss.
Explained in :doc:`/notebooks/04_next_item_transformers`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from ..split import TrainData

if TYPE_CHECKING:
    from ..split import LeaveOneOutSplit
from .trainer import Batch, Trainer, TrainLog, seed_everything


def pad_left(sequences: Sequence[np.ndarray], max_len: int, shift: int = 1) -> torch.Tensor:
    """The last ``max_len`` items of each sequence, right-aligned, as a LongTensor.

    Items are shifted by ``shift`` so that ``0`` is free to mean padding: item index
    ``i`` becomes token ``i + 1``. Right-aligning puts every user's latest item in the
    last column, where the models read their prediction. Chapter 04.
    """
    out = torch.zeros((len(sequences), max_len), dtype=torch.long)
    for row, seq in enumerate(sequences):
        seq = np.asarray(seq)[-max_len:] if max_len > 0 else np.asarray(seq)[:0]
        if len(seq):
            out[row, max_len - len(seq):] = torch.as_tensor(seq + shift, dtype=torch.long)
    return out


@dataclass
class SequenceRecommender:
    """Shared by GRU4Rec, SASRec and BERT4Rec: the course protocol around a network.

    Subclasses implement ``build_network(n_items)`` and ``training_loss(batch)``; the network's
    ``forward(tokens)`` returns one vector per position and ``logits(hidden)`` scores
    them against every item. By default a training batch is ``(inputs, targets)``: a
    window of each history and the same window shifted by one (next-item targets,
    ``0`` = padding). ``window="last"`` takes each user's latest :meth:`window_span`
    items (as SASRec's authors do); ``"random"`` a random window of long histories each
    epoch; ``"all"`` cuts every history into consecutive windows (overlapping by one
    item), so each epoch predicts every training transition once. ``epochs`` bounds the
    run so that it is repeatable; ``time_budget`` (seconds) is a safety net on slow
    machines, and makes the result depend on the machine's load. The configurations
    chosen on the validation targets of MovieLens-100k are in ``bench.SASREC_CONFIG``
    and its neighbours.
    Chapter 04.
    """

    max_len: int = 50
    dim: int = 64
    dropout: float = 0.2
    lr: float = 2e-3
    weight_decay: float = 0.0
    batch_size: int = 128
    epochs: int = 50
    patience: int = 8
    eval_every: int = 2
    time_budget: float | None = 110.0
    window: str = "random"
    seed: int = 0
    device: str = "auto"
    progress: bool = True
    network_: nn.Module | None = field(default=None, repr=False)
    log_: TrainLog | None = field(default=None, repr=False)
    n_items_: int = field(default=0, repr=False)
    sequences_: list[np.ndarray] = field(default_factory=list, repr=False)

    # -- to implement -------------------------------------------------------------
    def build_network(self, n_items: int) -> nn.Module:
        raise NotImplementedError

    def training_loss(self, batch: Batch) -> torch.Tensor:
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------
    def trainer(self) -> Trainer:
        """The :class:`Trainer` configured from this model's fields."""
        return Trainer(epochs=self.epochs, lr=self.lr, weight_decay=self.weight_decay,
                       patience=self.patience, eval_every=self.eval_every,
                       time_budget=self.time_budget, seed=self.seed, device=self.device,
                       progress=self.progress)

    def fit(self, train: TrainData, valid: LeaveOneOutSplit | None = None) -> SequenceRecommender:
        """Train on ``train`` (early stopping on ``valid``'s validation targets)."""
        if self.window not in ("last", "random", "all"):
            raise ValueError(f"window must be 'last', 'random' or 'all', not {self.window!r}")
        seed_everything(self.seed)
        self.n_items_ = train.n_items
        self.sequences_ = [np.asarray(s) for s in train.sequences if len(s) >= 2]
        if not self.sequences_:
            raise ValueError("no training history has two items; nothing to learn from")
        self.network_ = self.build_network(train.n_items)
        self.log_ = self.trainer().fit(self, valid)
        return self

    def window_span(self) -> int:
        """Items per training window: ``max_len`` inputs plus the last one's target."""
        return self.max_len + 1

    def windows(self, rng: np.random.Generator) -> list[np.ndarray]:
        """Windows of at most :meth:`window_span` items: one per training history, or
        with ``window="all"`` as many as cover each history (ending at its latest item,
        consecutive windows overlapping by one item)."""
        span = self.window_span()
        if self.window == "last":
            return [s[-span:] for s in self.sequences_]
        if self.window == "all":
            return [s[max(0, end - span):end] for s in self.sequences_
                    for end in range(len(s), 1, -(span - 1))]
        out = []
        for s in self.sequences_:
            end = len(s) if len(s) <= span else int(rng.integers(span, len(s) + 1))
            out.append(s[max(0, end - span):end])
        return out

    def batches(self, rng: np.random.Generator) -> Iterator[Batch]:
        windows = self.windows(rng)
        order = rng.permutation(len(windows))
        for start in range(0, len(order), self.batch_size):
            chunk = [windows[i] for i in order[start:start + self.batch_size]]
            inputs = pad_left([w[:-1] for w in chunk], self.max_len)
            targets = pad_left([w[1:] for w in chunk], self.max_len)
            yield inputs, targets

    def device_(self) -> torch.device:
        return next(self.network_.parameters()).device

    def score_tokens(self, histories: Sequence[np.ndarray]) -> torch.Tensor:
        """The network's input for scoring: the latest ``max_len`` items."""
        return pad_left(histories, self.max_len)

    @torch.no_grad()
    def score(self, histories: Sequence[np.ndarray], batch_size: int = 256) -> np.ndarray:
        """Scores of all items for each history, read at the last position."""
        if self.network_ is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit(split.train) first")
        network = self.network_
        was_training = network.training
        network.eval()
        device = self.device_()
        out = np.empty((len(histories), self.n_items_), dtype=np.float32)
        for start in range(0, len(histories), batch_size):
            tokens = self.score_tokens(histories[start:start + batch_size]).to(device)
            hidden = network(tokens)[:, -1]
            out[start:start + len(tokens)] = network.logits(hidden).float().cpu().numpy()
        network.train(was_training)
        return out

    def n_parameters(self) -> int:
        """Trainable parameters of the fitted network."""
        return sum(p.numel() for p in self.network_.parameters() if p.requires_grad)
