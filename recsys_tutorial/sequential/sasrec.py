"""SASRec: a causal transformer reads a history and predicts the next item.

Kang & McAuley (2018). Tokens are item indices shifted by one (``0`` = padding); each
is embedded by a pluggable ``item_encoder`` (default: an ``nn.Embedding``), a learned
position embedding is added, and causal transformer blocks (torch's own
``nn.MultiheadAttention``) let position ``t`` attend to positions ``<= t`` only.
The output at ``t`` is scored against *every* item by the dot product with the same
encoder's item vectors, as a language model ties its input and output embeddings.

Two losses: ``"ce"``, the full softmax over all items (Klenitskiy & Vasilev, 2023), and
``"bce"``, the paper's binary cross-entropy with one sampled negative per position.
Explained in :doc:`/notebooks/04_next_item_transformers`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .base import SequenceRecommender, item_embedding, sampled_bce_loss, softmax_loss

ItemEncoderFactory = Callable[[int, int], nn.Module]


def attention_mask(tokens: torch.Tensor, causal: bool = True, heads: int = 1) -> torch.Tensor:
    """Boolean mask, ``True`` = may *not* attend: the future (if causal) and padding keys.

    Shape ``(batch * heads, L, L)`` as ``nn.MultiheadAttention`` takes it. A position
    may always attend to itself, so rows of padding stay finite (no all-masked softmax
    rows, hence no NaN). Chapter 04.
    """
    length = tokens.shape[1]
    blocked = (tokens == 0)[:, None, :].expand(-1, length, -1)  # padding keys
    if causal:
        future = torch.triu(torch.ones(length, length, dtype=torch.bool, device=tokens.device), 1)
        blocked = blocked | future
    eye = torch.eye(length, dtype=torch.bool, device=tokens.device)
    blocked = blocked & ~eye
    return blocked.repeat_interleave(heads, dim=0)


class Dropout(nn.Module):
    """``nn.Dropout`` with the mask drawn by ``torch.rand`` instead of ``bernoulli_``:
    the same distribution, several times faster on CPU, where the masks took about 40%
    of an epoch. Inverted: kept values are scaled by ``1 / (1 - p)``. Chapter 04."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        return x * torch.rand_like(x).ge_(self.p).div_(1 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Block(nn.Module):
    """Pre-norm transformer block: self-attention then a position-wise feed-forward."""

    def __init__(self, dim: int, heads: int, dropout: float, ff_mult: int = 4):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attention = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        self.feed_forward = nn.Sequential(
            nn.Linear(dim, ff_mult * dim), nn.GELU(), Dropout(dropout), nn.Linear(ff_mult * dim, dim)
        )
        self.dropout = Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, need_weights: bool = False):
        h = self.norm1(x)
        attended, weights = self.attention(h, h, h, attn_mask=mask, need_weights=need_weights,
                                           average_attn_weights=False)
        x = x + self.dropout(attended)
        x = x + self.dropout(self.feed_forward(self.norm2(x)))
        return x, weights


class SASRecNetwork(nn.Module):
    """Item encoder + learned positions + transformer blocks + final LayerNorm. Chapter 04.

    ``item_encoder`` maps tokens (``0`` padding, ``1..n_items`` items) to ``dim``-vectors;
    :meth:`item_vectors` runs it over all items for the output scores. ``causal=False``
    and ``mask_token=True`` turn it into BERT4Rec's network (token ``n_items + 1`` is
    the mask, with its own learned vector).
    """

    def __init__(self, n_items: int, max_len: int = 200, dim: int = 64, heads: int = 1,
                 blocks: int = 2, dropout: float = 0.2, item_encoder: nn.Module | None = None,
                 causal: bool = True, positions: bool = True, mask_token: bool = False,
                 ff_mult: int = 4):
        super().__init__()
        self.n_items, self.max_len, self.heads, self.causal = n_items, max_len, heads, causal
        self.item_encoder = item_embedding(n_items, dim) if item_encoder is None else item_encoder
        self.positions = nn.Embedding(max_len, dim) if positions else None
        if self.positions is not None:
            nn.init.normal_(self.positions.weight, std=0.02)
        self.mask_vector = nn.Parameter(torch.randn(dim) * 0.02) if mask_token else None
        self.input_dropout = Dropout(dropout)
        self.blocks = nn.ModuleList(Block(dim, heads, dropout, ff_mult) for _ in range(blocks))
        self.norm = nn.LayerNorm(dim)

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.item_encoder(tokens.clamp(max=self.n_items))
        if self.mask_vector is not None:
            x = torch.where((tokens == self.n_items + 1)[..., None], self.mask_vector, x)
        if self.positions is not None:
            x = x + self.positions.weight[-tokens.shape[1]:]  # positions count from the end
        return self.input_dropout(x) * (tokens != 0)[..., None]

    def forward(self, tokens: torch.Tensor, return_attention: bool = False):
        """Hidden states ``(batch, L, dim)``; with ``return_attention`` also a list of
        per-block attention weights ``(batch, heads, L, L)``."""
        mask = attention_mask(tokens, self.causal, self.heads)
        x = self.embed(tokens)
        maps = []
        for block in self.blocks:
            x, weights = block(x, mask, need_weights=return_attention)
            maps.append(weights)
        x = self.norm(x)
        return (x, maps) if return_attention else x

    def item_vectors(self) -> torch.Tensor:
        """The encoder's vectors of all items, ``(n_items, dim)`` (no padding row)."""
        device = next(self.parameters()).device
        return self.item_encoder(torch.arange(1, self.n_items + 1, device=device))

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Dot product of hidden states with every item's vector: ``(..., n_items)``."""
        return hidden @ self.item_vectors().T


@dataclass
class SASRec(SequenceRecommender):
    """Self-attentive sequential recommendation (Kang & McAuley, 2018). Chapter 04.

    ``loss="ce"``: full softmax cross-entropy over all items at every position;
    ``loss="bce"``: the paper's loss, one uniformly sampled negative per position.
    ``item_encoder``: an ``nn.Module`` or a factory ``(n_items, dim) -> nn.Module``
    mapping tokens (``0`` = padding, item ``i`` = ``i + 1``) to vectors; the default is
    an ``nn.Embedding``; a subclass may override :meth:`build_item_encoder` instead.
    The defaults are the configuration chosen in chapter 04 (``bench.SASREC_CONFIG``).
    Training uses :class:`~recsys_tutorial.sequential.trainer.Trainer`.
    """

    dropout: float = 0.2
    batch_size: int = 32
    epochs: int = 36
    eval_every: int = 3
    heads: int = 1
    blocks: int = 2
    loss: str = "ce"
    positions: bool = True
    ff_mult: int = 4
    item_encoder: nn.Module | ItemEncoderFactory | None = field(default=None, repr=False)

    def build_item_encoder(self, n_items: int) -> nn.Module | None:
        """The network's item encoder; ``None`` gives it an item table
        (:func:`~recsys_tutorial.sequential.base.item_embedding`)."""
        encoder = self.item_encoder
        if encoder is not None and not isinstance(encoder, nn.Module):
            encoder = encoder(n_items, self.dim)
        return encoder

    def build_network(self, n_items: int) -> SASRecNetwork:
        if self.loss not in ("ce", "bce"):
            raise ValueError(f"loss must be 'ce' or 'bce', not {self.loss!r}")
        return SASRecNetwork(n_items, self.max_len, self.dim, self.heads, self.blocks, self.dropout,
                             item_encoder=self.build_item_encoder(n_items), causal=True,
                             positions=self.positions, ff_mult=self.ff_mult)

    def item_loss(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        loss = softmax_loss if self.loss == "ce" else sampled_bce_loss
        return loss(hidden, self.network_.item_vectors(), targets, self.trainable_items())

    @torch.no_grad()
    def attention(self, history: np.ndarray) -> list[torch.Tensor]:
        """Attention weights of each block for one history: ``(heads, L, L)`` over its
        latest ``max_len`` items (padding cut off). For the chapter's attention maps."""
        tokens = self.score_tokens([history]).to(self.device_())
        n = int((tokens != 0).sum())
        self.network_.eval()
        _, maps = self.network_(tokens, return_attention=True)
        return [m[0, :, -n:, -n:].cpu() for m in maps]
