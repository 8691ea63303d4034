"""GRU4Rec-style recurrent next-item model: the pre-transformer reference.

Hidasi et al. (2016) read a session with a GRU and predict the next item at every
step. Here the GRU reads each user's history (the same windows, loss and trainer as
SASRec: full softmax over all items, scored by the dot product with the item
embeddings), so the only difference from SASRec is recurrence instead of attention.
Explained in :doc:`/notebooks/04_next_item_transformers`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .base import SequenceRecommender, item_embedding


class GRUNetwork(nn.Module):
    """Item embedding, dropout, a GRU over the real (non-padding) tokens. Chapter 04."""

    def __init__(self, n_items: int, dim: int = 64, layers: int = 1, dropout: float = 0.2):
        super().__init__()
        self.n_items = n_items
        self.item_encoder = item_embedding(n_items, dim)
        self.input_dropout = nn.Dropout(dropout)
        self.gru = nn.GRU(dim, dim, num_layers=layers, batch_first=True)
        self.output_dropout = nn.Dropout(dropout)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Hidden states ``(batch, L, dim)``; inputs are left-padded (``0``), and the GRU
        runs over the real tokens only, so padding changes nothing."""
        batch, length = tokens.shape
        lengths = (tokens != 0).sum(1)
        # move the real tokens to the front (pack_padded_sequence wants right padding)
        shift = length - lengths
        index = (torch.arange(length, device=tokens.device)[None, :] + shift[:, None]) % length
        front = tokens.gather(1, index)
        x = self.input_dropout(self.item_encoder(front))
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths.clamp(min=1).cpu(), batch_first=True,
                                                   enforce_sorted=False)
        out, _ = self.gru(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=length)
        # and back to the right
        back = (torch.arange(length, device=tokens.device)[None, :] - shift[:, None]) % length
        out = out.gather(1, back[..., None].expand(-1, -1, out.shape[-1]))
        return self.output_dropout(out)

    def item_vectors(self) -> torch.Tensor:
        return self.item_encoder.weight[1:]

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return hidden @ self.item_vectors().T


@dataclass
class GRU4Rec(SequenceRecommender):
    """A GRU next-item model trained with full-softmax cross-entropy. Chapter 04.

    The defaults are the configuration chosen in chapter 04 (``bench.GRU4REC_CONFIG``):
    a larger learning rate and less dropout than the transformer.
    """

    dropout: float = 0.1
    lr: float = 5e-3
    epochs: int = 21
    eval_every: int = 3
    layers: int = 1

    def build_network(self, n_items: int) -> GRUNetwork:
        return GRUNetwork(n_items, self.dim, self.layers, self.dropout)
