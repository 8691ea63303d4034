"""AutoInt: fields attend to fields, and the attention shows which pairs interact.

Song et al. (2019) put the field embeddings ``e_1..e_F`` through multi-head
self-attention, as a transformer does with words: field ``m`` asks every field ``j``
how relevant it is (``softmax_j <W_Q e_m, W_K e_j> / sqrt(d)``), then takes the weighted
mix of their values ``W_V e_j``. Each layer adds a residual projection ``W_res e_m`` and a
ReLU; stacking layers builds higher-order interactions. The output layer is linear in
the concatenated field vectors. The attention weights are returned, so the chapter can
draw the field-to-field interactions the model chose. Explained in :doc:`/notebooks/03_feature_interactions`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .base import CTRNetwork
from .data import Field
from .fields import FieldEmbedding


def softmax_last(scores: torch.Tensor) -> torch.Tensor:
    """Softmax over the last axis, computed with that axis moved to the front.

    Same result as ``torch.softmax(scores, -1)``; PyTorch's CPU kernel is several times
    slower when the last axis is as short as a list of fields.
    """
    dims = list(range(scores.dim()))
    moved = scores.permute(dims[-1], *dims[:-1]).contiguous()
    return torch.softmax(moved, dim=0).permute(*dims[1:], 0)


class InteractingLayer(nn.Module):
    """Multi-head self-attention between fields with a residual connection. Chapter 03.

    ``forward(e, mask)`` maps ``(n, fields, in_dim)`` to ``(n, fields, heads * head_dim)``
    and also returns the attention weights ``(n, heads, fields, fields)`` (rows: the
    attending field, columns: the field attended to). ``mask`` ``(n, fields)``, ``True``
    where a field is present, hides absent fields as keys: they get zero weight.
    """

    def __init__(self, in_dim: int, head_dim: int = 16, heads: int = 2, dropout: float = 0.0) -> None:
        super().__init__()
        self.heads, self.head_dim = heads, head_dim
        out_dim = heads * head_dim
        self.query = nn.Linear(in_dim, out_dim, bias=False)
        self.key = nn.Linear(in_dim, out_dim, bias=False)
        self.value = nn.Linear(in_dim, out_dim, bias=False)
        self.residual = nn.Linear(in_dim, out_dim, bias=False)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self, e: torch.Tensor, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        n, fields, _ = e.shape

        def split_heads(x: torch.Tensor) -> torch.Tensor:  # (n, F, H*d) -> (n, H, F, d)
            return x.view(n, fields, self.heads, self.head_dim).transpose(1, 2)

        q, k, v = split_heads(self.query(e)), split_heads(self.key(e)), split_heads(self.value(e))
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)  # (n, H, F, F)
        if mask is not None:
            scores = scores.masked_fill(~mask[:, None, None, :].bool(), float("-inf"))
        weights = softmax_last(scores).nan_to_num(0.0)  # a row with no key: zeros
        mixed = (self.dropout(weights) @ v).transpose(1, 2).reshape(n, fields, -1)
        return torch.relu(mixed + self.residual(e)), weights


class AutoInt(CTRNetwork):
    """Field embeddings -> stacked :class:`InteractingLayer` -> linear output. Chapter 03.

    ``linear=True`` adds a first-order (logistic-regression) term to the logit, as many
    implementations do. ``mask_unknown=True`` hides fields whose value is in the unknown
    bucket (a user never seen in training) from attention. ``init_std`` scales the initial
    embeddings. Every attention logit starts near zero, so the query and key projections
    start with tiny gradients: train with weight decay on the embeddings only
    (:func:`.train.parameter_groups`), or an L2 penalty inside Adam shrinks them to zero
    and leaves the attention uniform.
    """

    def __init__(
        self, fields: Sequence[Field], dim: int = 16, head_dim: int = 16, heads: int = 2,
        layers: int = 2, dropout: float = 0.0, linear: bool = True, mask_unknown: bool = False,
        init_std: float = 0.01,
    ) -> None:
        super().__init__()
        self.fields = tuple(fields)
        self.embedding = FieldEmbedding(fields, dim=dim, init_std=init_std)
        self.layers = nn.ModuleList(
            InteractingLayer(dim if i == 0 else heads * head_dim, head_dim, heads, dropout)
            for i in range(layers)
        )
        self.output = nn.Linear(len(self.fields) * heads * head_dim, 1)
        self.linear = FieldEmbedding(fields, dim=1) if linear else None
        self.mask_unknown = mask_unknown

    def field_mask(self, ids: Sequence[torch.Tensor]) -> torch.Tensor | None:
        """``(n, fields)``: ``False`` where a field holds only the unknown bucket (or is empty)."""
        if not self.mask_unknown:
            return None
        present = [(t > 0).any(dim=1) if f.bag else t > 0 for f, t in zip(self.fields, ids)]
        return torch.stack(present, dim=1)

    def _run(self, ids: Sequence[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        h, mask = self.embedding(ids), self.field_mask(ids)
        attention = []
        for layer in self.layers:
            h, weights = layer(h, mask)
            attention.append(weights)
        logit = self.output(h.flatten(start_dim=1)).squeeze(-1)
        if self.linear is not None:
            logit = logit + self.linear(ids).sum(dim=(1, 2))
        return logit, attention

    def forward(self, ids: Sequence[torch.Tensor]) -> torch.Tensor:
        return self._run(ids)[0]

    @torch.no_grad()
    def attention(self, ids: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """Attention weights of every layer, each ``(n, heads, fields, fields)``."""
        return self._run(ids)[1]
