"""One trainer for every sequence model (GRU4Rec, SASRec, BERT4Rec).

The loop is the same for all of them: shuffle the training histories into batches,
take an optimiser step per batch, and after each epoch measure NDCG@10 on the
*validation* targets with the course's protocol (``metrics.evaluate(model, split,
"valid")``). The best epoch's weights are kept and restored at the end; training stops
when validation has not improved for ``patience`` evaluations, when ``epochs`` run
out, or when the time budget (seconds) is spent. Everything is seeded, and the device
is chosen once (``"auto"``: CUDA when present, else CPU).

:class:`SequenceRecommender` is what the three models share: padding, batching, the
course protocol (``fit(train, valid_split=None)``, ``score(histories)``) and the
link to :class:`Trainer`; each model adds its network and its loss.
Explained in chapter 04, *Next-item transformers*.
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np
import torch
from torch import nn

from .split import TrainData

if TYPE_CHECKING:
    from .split import LeaveOneOutSplit

Batch = tuple[torch.Tensor, ...]


def select_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"``: CUDA when available, else CPU; anything else is passed to torch. Chapter 04."""
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) for a repeatable run. Chapter 04."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


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


class Trainable(Protocol):
    """What :class:`Trainer` needs from a model: a network, batches, a loss, scores."""

    network_: nn.Module | None

    def batches(self, rng: np.random.Generator) -> Iterator[Batch]: ...

    def training_loss(self, batch: Batch) -> torch.Tensor: ...

    def score(self, histories: Sequence[np.ndarray]) -> np.ndarray: ...


@dataclass
class TrainLog:
    """What happened in training: one dict per epoch, the best epoch, why it stopped."""

    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = -1
    best_score: float = float("-inf")
    stopped: str = "epochs"
    seconds: float = 0.0


@dataclass
class Trainer:
    """Adam, early stopping on validation NDCG@10, best weights restored. Chapter 04.

    ``time_budget`` (seconds, ``None``: no limit) counts training and validation; the
    epoch in progress stops at the first batch past the budget, is evaluated, and
    training ends. Without a validation split the last weights are kept.
    """

    epochs: int = 200
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 10
    eval_every: int = 1
    time_budget: float | None = None
    seed: int = 0
    device: str | torch.device = "auto"
    clip_grad: float | None = 5.0
    progress: bool = True
    metric: str = "ndcg@10"

    def fit(self, model: Trainable, valid_split: LeaveOneOutSplit | None = None) -> TrainLog:
        from tqdm.auto import tqdm

        from .metrics import evaluate

        if model.network_ is None:
            raise RuntimeError("the model must build its network before training")
        seed_everything(self.seed)
        device = select_device(self.device)
        network = model.network_.to(device)
        optimiser = torch.optim.Adam(network.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        rng = np.random.default_rng(self.seed)
        log = TrainLog()
        best_state = None
        waited = 0
        start, cpu_start = time.perf_counter(), time.process_time()
        out_of_time = False
        bar = tqdm(range(1, self.epochs + 1), desc=type(model).__name__, disable=not self.progress,
                   leave=False)
        for epoch in bar:
            network.train()
            total, batches = 0.0, 0
            for batch in model.batches(rng):
                batch = tuple(t.to(device) for t in batch)
                optimiser.zero_grad(set_to_none=True)
                loss = model.training_loss(batch)
                loss.backward()
                if self.clip_grad is not None:
                    nn.utils.clip_grad_norm_(network.parameters(), self.clip_grad)
                optimiser.step()
                total += float(loss.detach())
                batches += 1
                if self.time_budget is not None and time.perf_counter() - start > self.time_budget:
                    out_of_time = True
                    break
            record = {"epoch": epoch, "loss": total / max(batches, 1),
                      "seconds": time.perf_counter() - start}
            evaluate_now = valid_split is not None and (
                epoch % self.eval_every == 0 or out_of_time or epoch == self.epochs
            )
            if evaluate_now:
                network.eval()
                score = evaluate(model, valid_split, "valid")[self.metric]
                record[f"valid_{self.metric}"] = score
                if score > log.best_score:
                    log.best_score, log.best_epoch, waited = score, epoch, 0
                    best_state = copy.deepcopy(network.state_dict())
                else:
                    waited += 1
                bar.set_postfix(loss=f"{record['loss']:.3f}", valid=f"{score:.4f}",
                                best=f"{log.best_score:.4f}")
            else:
                bar.set_postfix(loss=f"{record['loss']:.3f}")
            record["seconds"] = time.perf_counter() - start
            record["cpu_seconds"] = time.process_time() - cpu_start
            log.history.append(record)
            if out_of_time:
                log.stopped = "time budget"
                break
            if valid_split is not None and waited >= self.patience:
                log.stopped = "patience"
                break
        bar.close()
        if best_state is not None:
            network.load_state_dict(best_state)
        else:
            log.best_epoch = len(log.history)
        network.eval()
        log.seconds = time.perf_counter() - start
        return log


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

    def fit(self, train: TrainData, valid_split: LeaveOneOutSplit | None = None) -> SequenceRecommender:
        """Train on ``train`` (early stopping on ``valid_split``'s validation targets)."""
        if self.window not in ("last", "random", "all"):
            raise ValueError(f"window must be 'last', 'random' or 'all', not {self.window!r}")
        seed_everything(self.seed)
        self.n_items_ = train.n_items
        self.sequences_ = [np.asarray(s) for s in train.sequences if len(s) >= 2]
        if not self.sequences_:
            raise ValueError("no training history has two items; nothing to learn from")
        self.network_ = self.build_network(train.n_items)
        self.log_ = self.trainer().fit(self, valid_split)
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
