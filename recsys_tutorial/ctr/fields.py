"""Field embeddings: every field, single or bag, becomes one vector.

A single field looks its index up in its own table; a bag field (genres) averages the
vectors of its values, ignoring padding. With ``dim=1`` the "embedding" is a weight per
value, which is all logistic regression needs; with ``dim=k`` the same module feeds
factorization machines and attention. The unknown bucket starts at zero, so a value
never seen in training contributes nothing until training teaches it something.
Explained in :doc:`/notebooks/03_feature_interactions`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .data import Field


class FieldEmbedding(nn.Module):
    """``(ids per field) -> (n, n_fields, dim)``; bag fields are mean-pooled. Chapter 03."""

    def __init__(self, fields: Sequence[Field], dim: int, init_std: float = 0.01) -> None:
        super().__init__()
        self.fields = tuple(fields)
        self.dim = dim
        self.tables = nn.ModuleList(nn.Embedding(f.size, dim) for f in self.fields)
        for table in self.tables:
            nn.init.normal_(table.weight, std=init_std)
            with torch.no_grad():
                table.weight[0].zero_()  # the unknown bucket

    def forward(self, ids: Sequence[torch.Tensor]) -> torch.Tensor:
        if len(ids) != len(self.tables):
            raise ValueError(f"expected {len(self.tables)} fields, got {len(ids)}")
        vectors = []
        for field, table, index in zip(self.fields, self.tables, ids):
            if field.bag:
                present = (index >= 0).unsqueeze(-1).to(table.weight.dtype)
                summed = (table(index.clamp(min=0)) * present).sum(dim=1)
                vectors.append(summed / present.sum(dim=1).clamp(min=1.0))
            else:
                vectors.append(table(index))
        return torch.stack(vectors, dim=1)
