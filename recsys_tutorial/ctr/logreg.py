"""Logistic regression on one-hot fields: the baseline every CTR model must beat.

The logit is a bias plus one learned weight per field value (a bag field adds the mean
weight of its values). It cannot express "young users like animation" unless someone
adds the cross ``age*genres`` as an extra field by hand (:func:`.data.add_crosses`).
Explained in :doc:`/notebooks/03_feature_interactions`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .base import CTRNetwork
from .data import Field
from .fields import FieldEmbedding


class LogisticRegression(CTRNetwork):
    """``logit = b + sum_f w_f[x_f]``: one weight per value of every field. Chapter 03."""

    def __init__(self, fields: Sequence[Field]) -> None:
        super().__init__()
        self.weights = FieldEmbedding(fields, dim=1)
        self.bias = nn.Parameter(torch.zeros(()))

    def forward(self, ids: Sequence[torch.Tensor]) -> torch.Tensor:
        return self.bias + self.weights(ids).sum(dim=(1, 2))
