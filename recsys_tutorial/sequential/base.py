"""What the sequence models share: padding, batching, losses and the course protocol.

:class:`SequenceRecommender` wraps a network in ``fit(train, valid=None)`` and
``score(histories)`` and hands training to :class:`~recsys_tutorial.sequential.trainer.Trainer`;
each model (GRU4Rec, SASRec, BERT4Rec) adds its network. The losses (the full softmax,
and one sampled negative) and the item table's initialisation are written once here.
Explained in :doc:`/notebooks/04_next_item_transformers`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..protocol import check_fitted
from ..split import TrainData
from .trainer import Batch, Trainer, TrainLog, seed_everything

if TYPE_CHECKING:
    from ..split import LeaveOneOutSplit


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


def item_embedding(n_items: int, dim: int) -> nn.Embedding:
    """The item table of the id models: token ``0`` (padding) is the zero vector, items
    ``1..n_items`` start as small random vectors (``std=0.02``, as BERT). Chapter 04."""
    table = nn.Embedding(n_items + 1, dim, padding_idx=0)
    nn.init.normal_(table.weight, std=0.02)
    with torch.no_grad():
        table.weight[0].zero_()
    return table


class _ChunkedSoftmaxLoss(torch.autograd.Function):
    """Mean full-softmax cross-entropy, ``chunk`` rows at a time, with its gradient
    computed in the forward pass: the ``(n, n_items)`` logits never exist whole, so
    each chunk stays in the CPU's cache (about twice as fast as ``F.cross_entropy`` on
    ``hidden @ vectors.T``, the same numbers to rounding)."""

    @staticmethod
    def forward(ctx, hidden, vectors, targets, allowed, chunk):
        grad_hidden = torch.empty_like(hidden)
        grad_vectors = torch.zeros_like(vectors)
        total = hidden.new_zeros(())
        need_hidden, need_vectors = ctx.needs_input_grad[:2]
        for start in range(0, len(targets), chunk):
            h, t = hidden[start:start + chunk], targets[start:start + chunk]
            logits = h @ vectors.T
            if allowed is not None:
                logits.masked_fill_(~allowed, float("-inf"))
            total -= logits.gather(1, t[:, None]).sum()
            top = logits.amax(1, keepdim=True)  # for a stable softmax, in place
            grad = logits.sub_(top).exp_()
            z = grad.sum(1, keepdim=True)
            total += (top + z.log()).sum()  # log of the softmax's denominator
            # d loss / d logits = softmax - one-hot (times 1 / n, applied in backward)
            grad.div_(z)
            grad[torch.arange(len(t), device=t.device), t] -= 1
            if need_hidden:
                torch.mm(grad, vectors, out=grad_hidden[start:start + chunk])
            if need_vectors:
                grad_vectors.addmm_(grad.T, h)
        ctx.save_for_backward(grad_hidden, grad_vectors)
        return total / max(len(targets), 1)

    @staticmethod
    def backward(ctx, grad_output):
        grad_hidden, grad_vectors = ctx.saved_tensors
        scale = grad_output / max(len(grad_hidden), 1)
        return grad_hidden * scale, grad_vectors * scale, None, None, None


def softmax_loss(hidden: torch.Tensor, vectors: torch.Tensor, targets: torch.Tensor,
                 allowed: torch.Tensor | None = None, chunk: int = 256) -> torch.Tensor:
    """Full-softmax cross-entropy: each hidden state ``(n, dim)`` against every item's
    vector ``(n_items, dim)``; ``allowed`` (boolean over items) keeps the others out of
    the softmax. ``targets`` are item indices. Equal to
    ``F.cross_entropy(hidden @ vectors.T, targets)``, computed ``chunk`` rows at a time
    (``_ChunkedSoftmaxLoss``). Chapter 04."""
    return _ChunkedSoftmaxLoss.apply(hidden, vectors, targets, allowed, chunk)


def sampled_bce_loss(hidden: torch.Tensor, vectors: torch.Tensor, targets: torch.Tensor,
                     allowed: torch.Tensor | None = None) -> torch.Tensor:
    """SASRec's original loss: binary cross-entropy of the target against one uniformly
    drawn negative per position (among the ``allowed`` items, if given). Chapter 04."""
    if allowed is None:
        negatives = torch.randint(0, len(vectors), targets.shape, device=targets.device)
    else:
        pool = torch.nonzero(allowed).squeeze(1)
        negatives = pool[torch.randint(0, len(pool), targets.shape, device=targets.device)]
    positive = (hidden * vectors[targets]).sum(-1)
    negative = (hidden * vectors[negatives]).sum(-1)
    return F.softplus(-positive).mean() + F.softplus(negative).mean()


@dataclass
class SequenceRecommender:
    """Shared by GRU4Rec, SASRec and BERT4Rec: the course protocol around a network.

    Subclasses implement ``build_network(n_items)``; the network's ``forward(tokens)``
    returns one vector per position, ``item_vectors()`` the items' vectors and
    ``logits(hidden)`` scores hidden states against every item. By default a training
    batch is ``(inputs, targets)``: a window of each history and the same window shifted
    by one (next-item targets, ``0`` = padding), and the loss is the full softmax at
    every position that has a target (:meth:`training_loss`, :meth:`item_loss`).
    ``window="all"`` (the default) cuts every history into consecutive windows
    (overlapping by one item), so each epoch predicts every training transition once;
    ``"last"`` takes each user's latest :meth:`window_span` items (as SASRec's authors
    do); ``"random"`` a random window of long histories each epoch. ``epochs`` bounds
    the run so that it is repeatable. ``time_budget`` (seconds, default ``None``: no
    limit) is only an explicit safety net for slow machines: where it stops depends on
    the machine's load, so no reported number uses it. Each model's defaults are its
    configuration chosen on the validation targets of MovieLens-100k (``bench.SASREC_CONFIG``
    and its neighbours). Chapter 04.
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
    time_budget: float | None = None
    window: str = "all"
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

    # -- the loss (shared; a model may override either part) -----------------------
    def training_loss(self, batch: Batch) -> torch.Tensor:
        """The loss of a batch ``(inputs, targets)``: :meth:`item_loss` of the hidden
        states at every position that has a target (``targets > 0``)."""
        inputs, targets = batch
        hidden = self.network_(inputs)
        keep = targets > 0
        return self.item_loss(hidden[keep], targets[keep] - 1)

    def item_loss(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Full-softmax cross-entropy over the :meth:`trainable_items`."""
        return softmax_loss(hidden, self.network_.item_vectors(), targets, self.trainable_items())

    def trainable_items(self) -> torch.Tensor | None:
        """Boolean mask of the items training may rank (softmax, negatives); ``None``: all."""
        return None

    # -- shared -------------------------------------------------------------------
    def trainer(self) -> Trainer:
        """The :class:`~recsys_tutorial.sequential.trainer.Trainer` configured from this
        model's fields."""
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

    def shuffled_windows(self, rng: np.random.Generator) -> Iterator[list[np.ndarray]]:
        """This epoch's :meth:`windows` in a random order, ``batch_size`` at a time."""
        windows = self.windows(rng)
        order = rng.permutation(len(windows))
        for start in range(0, len(order), self.batch_size):
            yield [windows[i] for i in order[start:start + self.batch_size]]

    def batches(self, rng: np.random.Generator) -> Iterator[Batch]:
        for chunk in self.shuffled_windows(rng):
            inputs = pad_left([w[:-1] for w in chunk], self.max_len)
            targets = pad_left([w[1:] for w in chunk], self.max_len)
            yield inputs, targets

    def device_(self) -> torch.device:
        check_fitted(self, "network_")
        return next(self.network_.parameters()).device

    def score_tokens(self, histories: Sequence[np.ndarray]) -> torch.Tensor:
        """The network's input for scoring: the latest ``max_len`` items."""
        return pad_left(histories, self.max_len)

    @torch.no_grad()
    def score(self, histories: Sequence[np.ndarray], batch_size: int = 256) -> np.ndarray:
        """Scores of all items for each history, read at the last position."""
        check_fitted(self, "network_")
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

    @property
    def n_parameters(self) -> int:
        """Trainable parameters of the fitted network (frozen buffers not counted)."""
        check_fitted(self, "network_")
        return sum(p.numel() for p in self.network_.parameters() if p.requires_grad)
