"""BERT4Rec: a bidirectional transformer trained to fill in masked items (cloze).

Sun et al. (2019). Each training window has a random share of its items replaced by a
``[mask]`` token, and the model predicts them from both sides, as BERT does with
words. To recommend, a ``[mask]`` is appended to the history and the model fills it
in. The network is SASRec's without the causal mask (and with a mask token); the
trainer is the shared one. Known to need long training (Petrov & Macdonald, 2022);
the chapter gives it a fixed budget of epochs.
Explained in :doc:`/notebooks/04_next_item_transformers`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .base import SequenceRecommender, pad_left
from .sasrec import SASRecNetwork
from .trainer import Batch


@dataclass
class BERT4Rec(SequenceRecommender):
    """Bidirectional transformer with a cloze objective (Sun et al., 2019). Chapter 04.

    ``mask_prob`` of the items of each window are masked (at least one); with
    probability ``last_prob`` only the last item is masked instead, which matches how
    the model is used to recommend. The loss is the shared full softmax, at the masked
    positions only. The defaults are chapter 04's budget (``bench.BERT4REC_CONFIG``):
    10 epochs, not tuned.
    """

    epochs: int = 10
    eval_every: int = 5
    heads: int = 2
    blocks: int = 2
    mask_prob: float = 0.2
    last_prob: float = 0.1
    ff_mult: int = 4

    def build_network(self, n_items: int) -> SASRecNetwork:
        return SASRecNetwork(n_items, self.max_len, self.dim, self.heads, self.blocks, self.dropout,
                             causal=False, mask_token=True, ff_mult=self.ff_mult)

    @property
    def mask_token(self) -> int:
        return self.n_items_ + 1

    def window_span(self) -> int:
        """Windows of at most ``max_len`` items: the model sees no shifted copy."""
        return self.max_len

    def batches(self, rng: np.random.Generator) -> Iterator[Batch]:
        for chunk in self.shuffled_windows(rng):
            tokens = pad_left(chunk, self.max_len)
            real = tokens != 0
            masked = torch.as_tensor(rng.random(tokens.shape) < self.mask_prob) & real
            only_last = torch.as_tensor(rng.random(len(tokens)) < self.last_prob)
            masked[only_last] = False
            masked[:, -1] |= only_last | ~masked.any(1)  # the last item is always real
            targets = torch.where(masked, tokens, torch.zeros_like(tokens))
            inputs = torch.where(masked, torch.full_like(tokens, self.mask_token), tokens)
            yield inputs, targets

    def score_tokens(self, histories: Sequence[np.ndarray]) -> torch.Tensor:
        """The latest ``max_len - 1`` items followed by ``[mask]``."""
        tokens = pad_left([np.asarray(h)[-(self.max_len - 1):] for h in histories], self.max_len)
        tokens = torch.roll(tokens, -1, dims=1)
        tokens[:, -1] = self.mask_token
        return tokens
