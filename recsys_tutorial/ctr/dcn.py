"""DCN-v2's cross network: explicit feature crosses of growing order, learned.

Wang et al. (2021): with ``x_0`` the concatenated field embeddings, each cross layer
computes ``x_{l+1} = x_0 * (W_l x_l + b_l) + x_l`` (element-wise product). One layer
holds every pairwise product of embedding coordinates, weighted by ``W``; ``L`` layers
reach order ``L + 1``. A small deep network runs in parallel and both feed the logit.
Explained in :doc:`/notebooks/03_feature_interactions`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .base import CTRNetwork
from .data import Field
from .fields import FieldEmbedding


class CrossLayer(nn.Module):
    """``x_{l+1} = x_0 * (W x_l + b) + x_l``. Chapter 03."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.linear = nn.Linear(dim, dim)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x0: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return x0 * self.linear(x) + x


class DCNv2(CTRNetwork):
    """Embeddings -> (cross network || MLP) -> linear output (parallel DCN-v2). Chapter 03."""

    def __init__(
        self, fields: Sequence[Field], dim: int = 8, cross_layers: int = 2,
        hidden: Sequence[int] = (64,), dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.embedding = FieldEmbedding(fields, dim=dim)
        width = len(fields) * dim
        self.cross = nn.ModuleList(CrossLayer(width) for _ in range(cross_layers))
        blocks: list[nn.Module] = []
        previous = width
        for size in hidden:
            blocks += [nn.Linear(previous, size), nn.ReLU(), nn.Dropout(dropout)]
            previous = size
        self.deep = nn.Sequential(*blocks)
        self.output = nn.Linear(width + previous, 1)

    def forward(self, ids: Sequence[torch.Tensor]) -> torch.Tensor:
        x0 = self.embedding(ids).flatten(start_dim=1)
        x = x0
        for layer in self.cross:
            x = layer(x0, x)
        return self.output(torch.cat([x, self.deep(x0)], dim=1)).squeeze(-1)
