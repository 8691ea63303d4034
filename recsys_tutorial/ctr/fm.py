"""Factorization machines: every pair of fields interacts through a dot product.

Rendle (2010): ``logit = b + sum_f w_f + sum_{f<g} <v_f, v_g>``, where ``v_f`` is the
``k``-dimensional embedding of field ``f``'s value. Summing over all pairs naively costs
``O(k n^2)`` for ``n`` fields; the identity

    sum_{f<g} <v_f, v_g> = 1/2 * sum_k [ (sum_f v_{f,k})^2 - sum_f v_{f,k}^2 ]

makes it ``O(k n)``. Both are here so the tests (and the chapter) can check one against
the other. Here a bag field (genres) enters as one vector, the mean of its values, so
the pairs are pairs of *fields*. Explained in :doc:`/notebooks/03_feature_interactions`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .base import CTRNetwork
from .data import Field
from .fields import FieldEmbedding


def fm_pairwise_naive(v: torch.Tensor) -> torch.Tensor:
    """``sum_{f<g} <v_f, v_g>`` for ``v`` of shape ``(n, fields, k)``, pair by pair: O(k n^2).

    Chapter 03.
    """
    n_fields = v.shape[1]
    total = v.new_zeros(v.shape[0])
    for f in range(n_fields):
        for g in range(f + 1, n_fields):
            total = total + (v[:, f] * v[:, g]).sum(dim=-1)
    return total


def fm_pairwise(v: torch.Tensor) -> torch.Tensor:
    """The same sum with the square-of-sum identity: O(k n). Chapter 03."""
    square_of_sum = v.sum(dim=1).pow(2)
    sum_of_squares = v.pow(2).sum(dim=1)
    return 0.5 * (square_of_sum - sum_of_squares).sum(dim=-1)


class FactorizationMachine(CTRNetwork):
    """Bias + linear weights + pairwise dot products of ``k``-dim field embeddings. Chapter 03."""

    def __init__(self, fields: Sequence[Field], k: int = 16) -> None:
        super().__init__()
        self.linear = FieldEmbedding(fields, dim=1)
        self.embedding = FieldEmbedding(fields, dim=k)
        self.bias = nn.Parameter(torch.zeros(()))

    def forward(self, ids: Sequence[torch.Tensor]) -> torch.Tensor:
        first_order = self.linear(ids).sum(dim=(1, 2))
        return self.bias + first_order + fm_pairwise(self.embedding(ids))

    @torch.no_grad()
    def pair_strengths(self, ids: Sequence[torch.Tensor]) -> torch.Tensor:
        """``(fields, fields)``: mean absolute ``<v_f, v_g>`` over the given examples.

        How much each pair of fields moves the logit, on average: the interactions the
        model learned, to set beside the crosses chosen by hand. Diagonal is zero.
        """
        v = self.embedding(ids)
        strengths = torch.einsum("nfk,ngk->nfg", v, v).abs().mean(dim=0)
        return strengths.fill_diagonal_(0.0)
