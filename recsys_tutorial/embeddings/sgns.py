"""Skip-gram with negative sampling (SGNS), written once by hand in PyTorch.

word2vec's skip-gram reads each history as a sentence: every item (the *target*) learns
to predict the items around it within a window (its *contexts*). Instead of a softmax
over the whole catalogue, each observed pair is contrasted with ``negative`` random
items drawn from the unigram distribution raised to ``ns_exponent``, and very frequent
items are randomly dropped first (sub-sampling). Explained in :doc:`/notebooks/02_item2vec`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ..split import LeaveOneOutSplit, TrainData
from .item2vec import EmbeddingRecommender, Side, Similarity


def keep_probabilities(counts: np.ndarray, sample: float) -> np.ndarray:
    """word2vec's sub-sampling: keep an item of frequency share ``f`` with probability
    ``min(1, (sqrt(f / sample) + 1) * sample / f)``; ``sample <= 0`` keeps all. Chapter 02."""
    if sample <= 0:
        return np.ones(len(counts))
    share = counts / max(counts.sum(), 1)
    with np.errstate(divide="ignore"):
        keep = (np.sqrt(share / sample) + 1) * sample / share
    return np.minimum(np.nan_to_num(keep, posinf=1.0), 1.0)


def noise_distribution(counts: np.ndarray, ns_exponent: float) -> np.ndarray:
    """Where negatives come from: ``count ** ns_exponent``, normalised; items never seen
    get no mass. ``0`` is uniform, ``1`` the unigram, negative values favour rare items. Chapter 02."""
    weights = np.zeros(len(counts))
    seen = counts > 0
    weights[seen] = counts[seen].astype(np.float64) ** ns_exponent
    return weights / weights.sum()


def skipgram_pairs(sequences: Sequence[np.ndarray], window: int) -> np.ndarray:
    """All ``(target, context)`` pairs at distance ``1..window`` in each sequence, both
    directions, as an ``(n_pairs, 2)`` array. Chapter 02."""
    pairs = [np.empty((0, 2), dtype=np.int64)]
    for seq in sequences:
        for offset in range(1, min(window, len(seq) - 1) + 1):
            left, right = seq[:-offset], seq[offset:]
            pairs.append(np.stack([left, right], axis=1))
            pairs.append(np.stack([right, left], axis=1))
    return np.concatenate(pairs).astype(np.int64)


def sgns_loss(target: torch.Tensor, context: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of ``-log s(u.v) - sum_k log s(-u.n_k)``, ``s`` the sigmoid.

    ``target`` and ``context`` are ``(batch, dim)``, ``negatives`` ``(batch, k, dim)``. Chapter 02.
    """
    positive = (target * context).sum(-1)
    negative = (negatives * target.unsqueeze(1)).sum(-1)
    return -(F.logsigmoid(positive) + F.logsigmoid(-negative).sum(-1)).mean()


class SkipGram(nn.Module):
    """Two tables: target ("input") vectors and context ("output") vectors. Chapter 02."""

    def __init__(self, n_items: int, dim: int, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.target = nn.Embedding(n_items, dim)
        self.context = nn.Embedding(n_items, dim)
        with torch.no_grad():  # word2vec's initialisation: small uniform inputs, zero outputs
            self.target.weight.uniform_(-0.5 / dim, 0.5 / dim, generator=generator)
            self.context.weight.zero_()

    def forward(self, targets: torch.Tensor, contexts: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
        return sgns_loss(self.target(targets), self.context(contexts), self.context(negatives))


def train_sgns(
    sequences: Sequence[np.ndarray], n_items: int, dim: int = 64, window: int = 5,
    negative: int = 5, ns_exponent: float = 0.75, sample: float = 1e-3, epochs: int = 5,
    batch_size: int = 2048, lr: float = 0.01, seed: int = 0, progress: bool = True,
) -> tuple[SkipGram, list[float]]:
    """Train :class:`SkipGram` with Adam; return it and the loss of every batch.

    Runs on one CPU thread (restored afterwards): the batches are small, and on a busy
    machine extra threads only wait for each other. Chapter 02.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train(sequences, n_items, dim, window, negative, ns_exponent, sample, epochs,
                      batch_size, lr, seed, progress)
    finally:
        torch.set_num_threads(threads)


def _train(
    sequences: Sequence[np.ndarray], n_items: int, dim: int, window: int, negative: int,
    ns_exponent: float, sample: float, epochs: int, batch_size: int, lr: float, seed: int,
    progress: bool,
) -> tuple[SkipGram, list[float]]:
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    counts = np.bincount(np.concatenate(list(sequences)), minlength=n_items)
    keep = keep_probabilities(counts, sample)
    noise = torch.as_tensor(noise_distribution(counts, ns_exponent))
    model = SkipGram(n_items, dim, generator)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    losses: list[float] = []
    for _ in tqdm(range(epochs), desc="SGNS epochs", disable=not progress):
        kept = [s[rng.random(len(s)) < keep[s]] for s in sequences]  # fresh sub-sample per epoch
        pairs = torch.as_tensor(rng.permutation(skipgram_pairs(kept, window)))
        for batch in pairs.split(batch_size):
            noise_items = torch.multinomial(noise, len(batch) * negative, True, generator=generator)
            loss = model(batch[:, 0], batch[:, 1], noise_items.view(len(batch), negative))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
    return model, losses


@dataclass
class SGNS(EmbeddingRecommender):
    """The hand-written skip-gram as a recommender, scored like
    :class:`~recsys_tutorial.embeddings.item2vec.Item2Vec`; its parameters are the target
    and context tables (``2 * n_items * dim``). Chapter 02."""

    dim: int = 64
    window: int = 5
    negative: int = 5
    ns_exponent: float = 0.75
    sample: float = 1e-3
    epochs: int = 5
    lr: float = 0.01
    seed: int = 0
    last: int | None = None
    decay: float = 1.0
    similarity: Similarity = "cosine"
    side: Side = "in"
    progress: bool = False
    vectors_: np.ndarray | None = field(default=None, repr=False)
    context_: np.ndarray | None = field(default=None, repr=False)
    losses_: list[float] = field(default_factory=list, repr=False)

    def fit(self, train: TrainData, valid: LeaveOneOutSplit | None = None) -> SGNS:
        del valid  # nothing to choose on validation
        model, self.losses_ = train_sgns(
            [s for s in train.sequences if len(s)], train.n_items, self.dim, self.window,
            self.negative, self.ns_exponent, self.sample, self.epochs, lr=self.lr,
            seed=self.seed, progress=self.progress,
        )
        untrained = train.item_counts() == 0
        self.vectors_ = model.target.weight.detach().numpy().copy()
        self.context_ = model.context.weight.detach().numpy().copy()
        self.vectors_[untrained] = self.context_[untrained] = 0.0  # never trained: neutral
        return self
