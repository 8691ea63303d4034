"""A two-tower retriever: a user vector and an item vector, scored by their dot product.

The model of industrial retrieval (Covington et al., 2016; Yi et al., 2019): one network,
the *user tower*, turns a history into a vector; another, the *item tower*, turns an
item into a vector of the same size; the score is their inner product. Because the two
towers never meet before the last step, every item's vector can be computed ahead of
time and searched by nearest neighbours (:mod:`~recsys_tutorial.retrieval.ann`).

- Item tower: an id embedding plus a learned projection of the film's text vector
  (chapter 05's :class:`~recsys_tutorial.text.sasrec.TextItemEncoder`); an item absent
  from training has no trained id vector, so it gets its text part alone and can be
  embedded, scored and retrieved all the same.
- User tower: the mean of the history's item vectors through a linear layer
  (``user_encoder="mean"``), or chapter 04's causal transformer blocks over them
  (``"sasrec"``). Both towers' outputs are unit vectors (cosine scores).
- Loss: the softmax of the target against the other targets of the batch
  (``loss="in-batch"``). Popular items are negatives more often than a uniform draw
  would make them, so the model learns to push them down; ``"logq"`` subtracts the log
  of each item's sampling probability from its logit, the correction of Yi et al.
  (RecSys 2019). ``"full"`` is the softmax over every training item, for comparison.

Trained on the shared :class:`~recsys_tutorial.sequential.trainer.Trainer` (seeded, best
epoch on validation NDCG@10). Explained in :doc:`/notebooks/08_retrieval_funnel`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from ..protocol import check_fitted
from ..sequential.base import SequenceRecommender, item_embedding, softmax_loss
from ..sequential.sasrec import Block, attention_mask
from ..text.sasrec import TextItemEncoder

if TYPE_CHECKING:
    from ..split import LeaveOneOutSplit, TrainData

LOSSES = ("logq", "in-batch", "full")
USER_ENCODERS = ("mean", "sasrec")


def in_batch_softmax_loss(users: torch.Tensor, items: torch.Tensor, ids: torch.Tensor,
                          temperature: float, log_q: torch.Tensor | None = None) -> torch.Tensor:
    """Sampled softmax with the batch's own targets as negatives (Yi et al., 2019).

    Row ``i`` of ``users`` ``(n, dim)`` should pick column ``i`` of ``items`` ``(n, dim)``
    (item ``ids[i]``) among all ``n`` columns. Columns holding the same item as the
    target are left out (they are not negatives). ``log_q`` (the log sampling
    probability of every item) is subtracted from each column's logit: the logQ
    correction, which makes the sampled softmax an unbiased estimate of the full one's
    gradient. Chapter 08.
    """
    logits = users @ items.T / temperature
    if log_q is not None:
        logits = logits - log_q[ids][None, :]
    same = ids[:, None] == ids[None, :]
    same.fill_diagonal_(False)
    logits = logits.masked_fill(same, float("-inf"))
    return F.cross_entropy(logits, torch.arange(len(ids), device=ids.device))


class TwoTowerNetwork(nn.Module):
    """The two towers; ``forward(tokens)`` gives the user vector at every position.

    Tokens are item indices shifted by one (``0`` = padding), left-padded as chapter 04's
    models read them. With ``user_encoder="mean"`` the vector at position ``t`` is the
    mean of the item vectors up to ``t`` (a running mean), through a linear layer; with
    ``"sasrec"``, causal transformer blocks read them. Chapter 08.
    """

    def __init__(self, item_tower: nn.Module, n_items: int, dim: int, user_encoder: str = "mean",
                 max_len: int = 50, blocks: int = 1, heads: int = 1, dropout: float = 0.1):
        super().__init__()
        self.item_tower, self.n_items, self.user_encoder = item_tower, n_items, user_encoder
        self.heads = heads
        self.head = nn.Linear(dim, dim)
        if user_encoder == "sasrec":
            self.positions = nn.Embedding(max_len, dim)
            nn.init.normal_(self.positions.weight, std=0.02)
            self.blocks = nn.ModuleList(Block(dim, heads, dropout) for _ in range(blocks))
            self.norm = nn.LayerNorm(dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.item_tower(tokens)  # (batch, L, dim); padding is the zero vector
        if self.user_encoder == "mean":
            count = (tokens != 0).cumsum(1).clamp(min=1)[..., None]
            hidden = x.cumsum(1) / count
        else:
            x = (x + self.positions.weight[-tokens.shape[1]:]) * (tokens != 0)[..., None]
            mask = attention_mask(tokens, True, self.heads)
            for block in self.blocks:
                x, _ = block(x, mask)
            hidden = self.norm(x)
        return F.normalize(self.head(hidden), dim=-1)

    def encode_items(self, items: torch.Tensor) -> torch.Tensor:
        """Unit vectors of the items with indices ``items`` (``0..n_items-1``)."""
        return F.normalize(self.item_tower(items + 1), dim=-1)

    def item_vectors(self) -> torch.Tensor:
        """Every item's unit vector, ``(n_items, dim)``."""
        device = next(self.parameters()).device
        return self.encode_items(torch.arange(self.n_items, device=device))

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Cosine of user vectors with every item's vector: ``(..., n_items)``."""
        return hidden @ self.item_vectors().T


@dataclass
class TwoTower(SequenceRecommender):
    """Two-tower retrieval (Yi et al., 2019) under the course protocol. Chapter 08.

    ``item_vectors``: the items' text vectors, a frame indexed by raw item id
    (:func:`~recsys_tutorial.text.encoder.catalogue_embeddings`) or an array in the
    split's item order; ``None`` gives an id-only item tower (cold items then score 0).
    ``loss``: ``"logq"``, ``"in-batch"`` or ``"full"`` (see the module's docstring);
    ``temperature`` divides the cosines in the loss. ``user_encoder``: ``"mean"`` or
    ``"sasrec"`` (``blocks`` transformer blocks). ``id_dropout``: in training, each item
    loses its id vector with this probability, so the towers also learn from text alone.
    ``batch_size`` counts training windows; every position of every window is one
    example, and the in-batch softmax ranks each against all of the batch's targets.
    The defaults are the configuration chosen on validation in chapter 08
    (``bench.MODELS["two_tower"]``).
    """

    dim: int = 64
    max_len: int = 20
    batch_size: int = 32
    lr: float = 5e-3
    dropout: float = 0.1
    epochs: int = 6
    eval_every: int = 2
    patience: int = 3
    window: str = "all"
    loss: str = "logq"
    temperature: float = 0.05
    user_encoder: str = "mean"
    blocks: int = 1
    id_dropout: float = 0.2
    item_vectors: pd.DataFrame | np.ndarray | None = field(default=None, repr=False)
    warm_: np.ndarray | None = field(default=None, repr=False)
    text_: np.ndarray | None = field(default=None, repr=False)
    log_q_: torch.Tensor | None = field(default=None, repr=False)

    def fit(self, train: TrainData, valid: LeaveOneOutSplit | None = None) -> TwoTower:
        """Train both towers on ``train`` (best epoch on ``valid``'s validation targets)."""
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, not {self.loss!r}")
        if self.user_encoder not in USER_ENCODERS:
            raise ValueError(f"user_encoder must be one of {USER_ENCODERS}, not {self.user_encoder!r}")
        self.text_ = None
        if isinstance(self.item_vectors, pd.DataFrame):
            self.text_ = self.item_vectors.loc[train.item_ids].to_numpy(dtype=np.float32)
        elif self.item_vectors is not None:
            self.text_ = np.asarray(self.item_vectors, dtype=np.float32)
        if self.text_ is not None and len(self.text_) != train.n_items:
            raise ValueError(f"{len(self.text_)} item vectors for {train.n_items} items")
        self.warm_ = train.item_counts() > 0
        # how often each item is a training target: its probability of being sampled as
        # an in-batch negative (the logQ correction subtracts its log)
        targets = np.concatenate([np.asarray(s)[1:] for s in train.sequences if len(s) >= 2]
                                 or [np.zeros(0, dtype=np.int64)])
        counts = np.bincount(targets, minlength=train.n_items).astype(np.float64)
        self.log_q_ = torch.as_tensor(np.log(np.maximum(counts, 1.0) / max(counts.sum(), 1.0)),
                                      dtype=torch.float32)
        super().fit(train, valid)
        return self

    def build_network(self, n_items: int) -> TwoTowerNetwork:
        if self.text_ is not None:
            tower = TextItemEncoder(self.text_, self.dim, use_ids=True, warm=self.warm_,
                                    dropout=self.dropout, id_dropout=self.id_dropout)
        else:
            tower = item_embedding(n_items, self.dim)
        return TwoTowerNetwork(tower, n_items, self.dim, self.user_encoder, self.max_len,
                               self.blocks, dropout=self.dropout)

    def item_loss(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The chosen loss of user vectors ``hidden`` against their target items."""
        network = self.network_
        if self.loss == "full":
            allowed = torch.as_tensor(self.warm_, device=hidden.device)
            return softmax_loss(hidden / self.temperature, network.item_vectors(), targets, allowed)
        log_q = self.log_q_.to(hidden.device) if self.loss == "logq" else None
        return in_batch_softmax_loss(hidden, network.encode_items(targets), targets,
                                     self.temperature, log_q)

    @torch.no_grad()
    def user_embeddings(self, histories: Sequence[np.ndarray], batch_size: int = 512) -> np.ndarray:
        """The user tower's unit vector for each history, ``(n, dim)`` float32: the
        queries of a nearest-neighbour index. Chapter 08."""
        check_fitted(self, "network_")
        network, device = self.network_, self.device_()
        was_training = network.training
        network.eval()
        parts = [network(self.score_tokens(histories[s:s + batch_size]).to(device))[:, -1]
                 for s in range(0, len(histories), batch_size)]
        network.train(was_training)
        if not parts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return torch.cat(parts).float().cpu().numpy()

    @torch.no_grad()
    def item_embeddings(self) -> np.ndarray:
        """The item tower's unit vector of every item, ``(n_items, dim)`` float32, cold
        items included: what a nearest-neighbour index stores. Chapter 08."""
        check_fitted(self, "network_")
        was_training = self.network_.training
        self.network_.eval()
        vectors = self.network_.item_vectors().float().cpu().numpy()
        self.network_.train(was_training)
        return vectors
