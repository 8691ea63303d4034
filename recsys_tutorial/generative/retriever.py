"""A generative retriever: a small decoder-only transformer writes the next item code by code.

TIGER (Rajput et al., NeurIPS 2023), in its simplest form. Every item is its semantic ID,
``n_levels`` codes (:class:`~recsys_tutorial.generative.ids.SemanticIDs`), and a history
is written as the sequence of its items' codes behind a start token, as a sentence is
written in sub-word tokens. A token's vector is its code's embedding plus its *level*'s
(which position in the ID it holds) plus the *item position* (which item of the window
it belongs to). Causal blocks (chapter 04's :class:`~recsys_tutorial.sequential.sasrec.Block`)
read it, and the output at each token predicts the next code, a softmax over the codes
of the level that comes next (the output table is tied to the input one). Training is
next-token cross-entropy over every code of every next item of the training histories,
on the shared :class:`~recsys_tutorial.sequential.trainer.Trainer`.

``score`` gives the exact log-probability of every item (the sum of its codes'
log-probabilities), so the model is evaluated with the course's full-ranking protocol;
``beam_search`` reads the top items by constrained beam search
(:mod:`~recsys_tutorial.generative.decoding`). Explained in :doc:`/notebooks/07_semantic_ids`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from ..protocol import check_fitted
from ..sequential.base import SequenceRecommender
from ..sequential.sasrec import Block, attention_mask
from ..split import TrainData, _matrix
from .decoding import PrefixTrie, constrained_beam_search, exact_item_log_probs
from .ids import SemanticIDs, random_ids
from .rq_kmeans import rq_kmeans
from .rq_vae import rq_vae

if TYPE_CHECKING:
    from ..split import LeaveOneOutSplit

ID_METHODS = ("rq-kmeans", "rq-vae", "random")


def code_rows(item_tokens: np.ndarray, histories: Sequence[np.ndarray], items: int,
              start: int) -> torch.Tensor:
    """Histories as token rows: the ``start`` token, then the input tokens
    ``item_tokens[i]`` (``(n_items, n_levels)``) of each history's latest ``items``
    items, left-padded with ``0`` to ``1 + items * n_levels`` tokens. Chapter 07."""
    width = 1 + items * item_tokens.shape[1]
    out = torch.zeros((len(histories), width), dtype=torch.long)
    for row, history in enumerate(histories):
        window = np.asarray(history, dtype=np.int64)[max(0, len(history) - items):]
        codes = item_tokens[window[:items]].ravel()
        out[row, width - len(codes) - 1] = start
        out[row, width - len(codes):] = torch.as_tensor(codes)
    return out


class CodeTransformer(nn.Module):
    """Code + level + item-position embeddings, causal blocks, a tied per-level softmax.

    Token ``0`` is padding, ``1 + t`` the global code token ``t`` (``0..vocab-1``), and
    ``vocab + 1`` the start token. The item position of the start token is 0, of the
    window's ``j``-th item ``j`` (from 1). Chapter 07.
    """

    def __init__(self, sizes: Sequence[int], max_len: int = 20, dim: int = 64, heads: int = 1,
                 layers: int = 2, dropout: float = 0.1, ff_mult: int = 4):
        super().__init__()
        self.sizes, self.n_levels, self.heads = tuple(sizes), len(sizes), heads
        vocab = sum(self.sizes)
        self.start = vocab + 1
        offsets = np.cumsum([0, *self.sizes[:-1]])
        level_of = np.concatenate([[self.n_levels], np.repeat(np.arange(self.n_levels), sizes),
                                   [self.n_levels]])
        self.register_buffer("offsets", torch.as_tensor(offsets, dtype=torch.long), persistent=False)
        self.register_buffer("level_of", torch.as_tensor(level_of, dtype=torch.long), persistent=False)
        self.codes = nn.Embedding(vocab + 2, dim, padding_idx=0)
        self.levels = nn.Embedding(self.n_levels + 1, dim)
        self.positions = nn.Embedding(max_len + 2, dim)
        for table in (self.codes, self.levels, self.positions):
            nn.init.normal_(table.weight, std=0.02)
        self.input_dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(dim, heads, dropout, ff_mult) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)

    def item_positions(self, tokens: torch.Tensor) -> torch.Tensor:
        """The item position of each token of left-padded rows (start token first)."""
        rank = (tokens != 0).cumsum(1) - 1  # 0 for the start token
        return torch.where(rank > 0, (rank - 1) // self.n_levels + 1, 0)

    def next_position(self, tokens: torch.Tensor) -> torch.Tensor:
        """The item position of the item that follows each row ``(users,)``."""
        return ((tokens != 0).sum(1) - 1) // self.n_levels + 1

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.codes(tokens) + self.levels(self.level_of[tokens])
        x = x + self.positions(self.item_positions(tokens))
        return self.input_dropout(x) * (tokens != 0)[..., None]

    def step_embed(self, tokens: torch.Tensor, level: int, positions: torch.Tensor) -> torch.Tensor:
        """Embeddings of tokens ``(users, P)`` of one ``level``, at item ``positions`` ``(users,)``."""
        return self.codes(tokens) + self.levels.weight[level] + self.positions(positions)[:, None]

    def code_tokens(self, codes: torch.Tensor, level: int) -> torch.Tensor:
        """The input tokens of ``level``'s codes."""
        return codes + self.offsets[level] + 1

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Hidden states ``(batch, T, dim)`` of left-padded token rows."""
        mask = attention_mask(tokens, causal=True, heads=self.heads)
        x = self.embed(tokens)
        for block in self.blocks:
            x, _ = block(x, mask)
        return self.norm(x)

    def level_logits(self, hidden: torch.Tensor, level: int) -> torch.Tensor:
        """Logits ``(..., sizes[level])`` of ``level``'s codes (the tied code table)."""
        start = int(self.offsets[level]) + 1
        return hidden @ self.codes.weight[start:start + self.sizes[level]].T

    def level_log_probs(self, hidden: torch.Tensor, level: int) -> torch.Tensor:
        return self.level_logits(hidden, level).log_softmax(-1)

    def token_loss(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of target tokens (``1..vocab``), each over its own level's codes."""
        logits = hidden @ self.codes.weight[1:self.start].T
        level = self.level_of[targets]
        same_level = self.level_of[1:self.start][None, :] == level[:, None]
        return F.cross_entropy(logits.masked_fill(~same_level, float("-inf")), targets - 1)


@dataclass
class GenerativeRetriever(SequenceRecommender):
    """TIGER-style generative retrieval over semantic IDs, on the course protocol. Chapter 07.

    The IDs: a ready ``ids`` (:class:`~recsys_tutorial.generative.ids.SemanticIDs` in the
    split's item order), or built at ``fit`` from ``item_vectors`` (a frame indexed by
    raw item id, reindexed by ``train.item_ids``, or an array in the split's order) by
    ``id_method`` (``"rq-kmeans"``, ``"rq-vae"``; ``"random"`` needs no vectors) with
    ``levels`` content codes of ``codebook`` codes each (at most one per item), plus the
    disambiguation code; seeded, content only. ``ids_`` holds them after ``fit``.

    ``max_len`` items of history (``max_len * n_levels`` tokens) are read; scoring and
    beam search run ``score_batch`` histories at a time. ``score``
    returns ``log p(item | history)`` for every item, exactly
    (:func:`~recsys_tutorial.generative.decoding.exact_item_log_probs`);
    :meth:`beam_search` the top items by constrained beam search.

    An item absent from training was never a target, so its disambiguation code (an
    arbitrary label) gets little probability: ``cold_codes="even"`` scores such items
    by their content prefix instead, sharing its probability evenly among the prefix's
    items (``unlearned`` in :func:`~recsys_tutorial.generative.decoding.exact_item_log_probs`;
    the default ``"model"`` reads every code from the model). Beam search always reads
    the model.

    The defaults are the configuration chosen on the validation NDCG@10 of MovieLens-100k
    (chapter 07): IDs of 2 content levels of 32 codes (plus the disambiguation code),
    histories of 20 items, width 48, 2 blocks, no dropout, learning rate ``5e-3``, 20
    epochs over every training transition, validation after epochs 10 and 20. Two levels
    rather than three, because exact scoring costs one cached step per distinct prefix
    (about 640 to 870 per user with 2 x 32 codes, 2,500 with 3 x 32) and three levels
    also scored lower on validation. At the budget of 20 epochs (the chapter's time), validation NDCG@10
    was 0.0900 with 20 items, 0.0839 with 10 (0.0731 after 10 epochs), 0.0883 at width
    64, 0.0679 with dropout 0.1, and lower with batches of 256 or 512; 30 epochs of 10
    items reached 0.0920, for half as much time again.
    """

    max_len: int = 20
    dim: int = 48
    heads: int = 1
    layers: int = 2
    ff_mult: int = 2
    dropout: float = 0.0
    lr: float = 5e-3
    epochs: int = 20
    eval_every: int = 10
    batch_size: int = 128
    window: str = "all"
    score_batch: int = 64
    ids: SemanticIDs | None = field(default=None, repr=False)
    item_vectors: pd.DataFrame | np.ndarray | None = field(default=None, repr=False)
    id_method: str = "rq-kmeans"
    levels: int = 2
    codebook: int = 32
    ids_: SemanticIDs | None = field(default=None, repr=False)
    trie_: PrefixTrie | None = field(default=None, repr=False)
    cold_codes: str = "model"
    tokens_: np.ndarray | None = field(default=None, repr=False)
    unlearned_: np.ndarray | None = field(default=None, repr=False)

    def build_ids(self, train: TrainData) -> SemanticIDs:
        """The IDs of ``train``'s items: ``ids`` if given, else built from ``item_vectors``."""
        if self.ids is not None:
            return self.ids
        if self.id_method not in ID_METHODS:
            raise ValueError(f"id_method must be one of {ID_METHODS}, not {self.id_method!r}")
        if self.id_method == "random":
            return random_ids(train.n_items, self.levels, self.codebook, seed=self.seed)
        if self.item_vectors is None:
            raise ValueError(f"id_method={self.id_method!r} needs item_vectors (or pass ids)")
        if isinstance(self.item_vectors, pd.DataFrame):
            vectors = self.item_vectors.loc[train.item_ids].to_numpy(dtype=np.float32)
        else:
            vectors = np.asarray(self.item_vectors, dtype=np.float32)
        codebook = min(self.codebook, len(vectors))  # a tiny catalogue: one code per item at most
        if self.id_method == "rq-kmeans":
            return rq_kmeans(vectors, self.levels, codebook, seed=self.seed)
        return rq_vae(vectors, self.levels, codebook, seed=self.seed)

    def fit(self, train: TrainData, valid: LeaveOneOutSplit | None = None) -> GenerativeRetriever:
        """Build (or take) the IDs, then train on ``train`` (best epoch on ``valid``)."""
        ids = self.build_ids(train)
        if ids.n_items != train.n_items:
            raise ValueError(f"{ids.n_items} IDs for {train.n_items} items")
        self.ids_, self.trie_ = ids, PrefixTrie(ids.codes, ids.sizes)
        self.tokens_ = ids.tokens(np.arange(ids.n_items)) + 1
        self.set_cold_codes(self.cold_codes, train)
        super().fit(train, valid)
        return self

    def set_cold_codes(self, cold_codes: str, train: TrainData) -> GenerativeRetriever:
        """Score items absent from ``train`` the ``cold_codes`` way, without refitting
        (training does not depend on it). Returns the model."""
        if cold_codes not in ("model", "even"):
            raise ValueError(f"cold_codes must be 'model' or 'even', not {cold_codes!r}")
        self.cold_codes = cold_codes
        self.unlearned_ = train.item_counts() == 0 if cold_codes == "even" else None
        return self

    def build_network(self, n_items: int) -> CodeTransformer:
        return CodeTransformer(self.ids_.sizes, self.max_len, self.dim, self.heads, self.layers,
                               self.dropout, self.ff_mult)

    def history_tokens(self, histories: Sequence[np.ndarray], extra: int = 0) -> torch.Tensor:
        """:func:`code_rows` of each history's latest ``max_len + extra`` items."""
        return code_rows(self.tokens_, histories, self.max_len + extra, self.ids_.vocab_size + 1)

    def batches(self, rng: np.random.Generator) -> Iterator[tuple[torch.Tensor, ...]]:
        """Windows of ``max_len + 1`` items as token rows; targets: the rows shifted by one."""
        for chunk in self.shuffled_windows(rng):
            rows = self.history_tokens(chunk, extra=1)
            yield rows[:, :-1], rows[:, 1:]

    def training_loss(self, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Next-token cross-entropy at every position whose next token is a code (every
        real input token: the start token comes first, after the padding)."""
        inputs, targets = batch
        hidden = self.network_(inputs)
        keep = inputs > 0
        return self.network_.token_loss(hidden[keep], targets[keep])

    @torch.no_grad()
    def score(self, histories: Sequence[np.ndarray], batch_size: int | None = None) -> np.ndarray:
        """``log p(item | history)`` of every item, ``(len(histories), n_items)``, exact."""
        check_fitted(self, "network_")
        network, device = self.network_, self.device_()
        was_training = network.training
        network.eval()
        step = batch_size or self.score_batch
        out = np.empty((len(histories), self.n_items_), dtype=np.float32)
        for start in range(0, len(histories), step):
            tokens = self.history_tokens(histories[start:start + step]).to(device)
            out[start:start + len(tokens)] = exact_item_log_probs(
                network, self.trie_, tokens, self.unlearned_).cpu()
        network.train(was_training)
        return out

    @torch.no_grad()
    def beam_search(self, histories: Sequence[np.ndarray], k: int = 10, beam: int = 10,
                    exclude_seen: bool = True) -> np.ndarray:
        """Top-``k`` items per history ``(n, k)`` by constrained beam search of width
        ``beam``: only valid IDs, and (``exclude_seen``) none of the history's items;
        ``-1`` where the beam reached fewer than ``k`` items. Chapter 07."""
        check_fitted(self, "network_")
        network, device = self.network_, self.device_()
        was_training = network.training
        network.eval()
        out = np.empty((len(histories), k), dtype=np.int64)
        for start in range(0, len(histories), self.score_batch):
            chunk = list(histories[start:start + self.score_batch])
            seen = _matrix(chunk, self.n_items_) if exclude_seen else None
            tokens = self.history_tokens(chunk).to(device)
            out[start:start + len(chunk)] = constrained_beam_search(
                network, self.trie_, tokens, seen, k=k, beam=beam)[0]
        network.train(was_training)
        return out
