"""What every click-through network shares: logits from field ids, and its size.

Each model of the chapter is a :class:`torch.nn.Module` that maps the index tensors of
a :class:`~recsys_tutorial.ctr.data.CTRTensors` batch to one logit per example. They
derive from :class:`CTRNetwork`, which counts their parameters under the name every
model of the course uses, ``n_parameters`` (:mod:`recsys_tutorial.protocol`), so that
results tables compare sizes alike. Explained in :doc:`/notebooks/03_feature_interactions`.
"""

from __future__ import annotations

from torch import nn


class CTRNetwork(nn.Module):
    """Base of the click-through networks: ``forward(ids) -> (n,)`` logits. Chapter 03."""

    @property
    def n_parameters(self) -> int:
        """Number of trainable scalars (every embedding table and weight matrix)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)
