"""Text-based SASRec: item vectors read from the film's text, not looked up by id.

The idea of UniSRec (Hou et al., 2022) and Recformer (Li et al., 2023), in its simplest
form: SASRec's item embedding table is replaced by a *learned projection of frozen text
embeddings* (:class:`TextItemEncoder`). The transformer, the loss and the trainer are
chapter 04's; only the item encoder changes. Since an item's vector is computed from its
text, the model scores, and reads in a history, films that never occurred in training.

Optionally (``use_ids=True``) a warm item's vector also gets an id embedding, as
UniSRec's fine-tuned variant does: it can memorise what the text does not say (how
popular a film is, who watches it), while a cold item, having no trained id vector,
falls back to its text alone.

Training sees only the items of the training data: the softmax runs over the warm
items, as it would on a platform where the new films do not exist yet (otherwise every
cold film would be a negative at every step, and the projection would learn to push
down whatever reads like them). Explained in :doc:`/notebooks/05_zero_shot_text_encoders`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..sequential.base import item_embedding
from ..sequential.sasrec import SASRec
from ..split import LeaveOneOutSplit, TrainData
from ..utils import unit_rows


class TextItemEncoder(nn.Module):
    """Tokens (``0`` = padding, item ``i`` = ``i + 1``) to ``dim``-vectors from text.

    ``vector(i) = W (text(i) - b)`` (+ ``id(i)`` for a warm item when ``use_ids``):
    the text embeddings are a frozen buffer, ``W, b`` (and the id table) are learned.
    ``id_dropout``: in training, each item loses its id vector with this probability
    (for the whole batch), so that the model also learns to rank on text alone.
    Subtracting a learned ``b`` before projecting is UniSRec's "parametric whitening":
    pretrained sentence vectors share a large common direction, and centring them lets
    the projection use the differences. Chapter 05.
    """

    def __init__(self, text_vectors: np.ndarray, dim: int, use_ids: bool = False,
                 warm: np.ndarray | None = None, dropout: float = 0.1, id_dropout: float = 0.0):
        super().__init__()
        vectors = torch.as_tensor(unit_rows(np.asarray(text_vectors, dtype=np.float32)))
        n_items, text_dim = vectors.shape
        self.register_buffer("text", torch.cat([torch.zeros(1, text_dim), vectors]))
        warm = np.ones(n_items, dtype=bool) if warm is None else np.asarray(warm, dtype=bool)
        if len(warm) != n_items:
            raise ValueError(f"warm has {len(warm)} entries for {n_items} items")
        self.register_buffer("warm", torch.cat([torch.zeros(1, dtype=torch.bool), torch.as_tensor(warm)]))
        self.centre = nn.Parameter(vectors.mean(0).clone())
        self.dropout = nn.Dropout(dropout)
        self.projection = nn.Linear(text_dim, dim)
        self.id_dropout = id_dropout
        self.ids: nn.Embedding | None = None
        if use_ids:
            self.ids = item_embedding(n_items, dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.projection(self.dropout(self.text[tokens] - self.centre))
        if self.ids is not None:  # cold items (and padding) get no id vector
            keep = self.warm[tokens]
            if self.training and self.id_dropout > 0:  # train to do without ids, too
                items = torch.rand(len(self.warm), device=tokens.device) >= self.id_dropout
                keep = keep & items[tokens]
            x = x + self.ids(tokens) * keep[..., None]
        return x * (tokens != 0)[..., None]


@dataclass
class TextSASRec(SASRec):
    """SASRec whose item vectors are a learned projection of frozen text embeddings.

    ``item_vectors``: the items' text embeddings, a frame indexed by raw item id
    (:func:`~recsys_tutorial.text.encoder.catalogue_embeddings`) or an array in the
    split's item order. ``use_ids``: add an id embedding for warm items;
    ``id_dropout``: drop it per item in training (see :class:`TextItemEncoder`).
    ``text_dropout``: dropout on the text vector before the projection. Training's
    softmax (or its negatives, with ``loss="bce"``) covers the items present in the
    training data only. Only the item encoder differs from SASRec
    (:meth:`build_item_encoder`). The defaults are chapter 05's configuration, as
    ``bench.MODELS["text_sasrec"]`` registers it: 10 epochs at a learning rate of
    ``3e-3`` on one random window of each history per epoch. Chapter 05.
    """

    dropout: float = 0.2
    batch_size: int = 128  # chapter 05's own choice, not SASRec's
    lr: float = 3e-3
    epochs: int = 10
    eval_every: int = 2
    window: str = "random"
    item_vectors: pd.DataFrame | np.ndarray | None = field(default=None, repr=False)
    use_ids: bool = False
    id_dropout: float = 0.0
    text_dropout: float = 0.1
    warm_: np.ndarray | None = field(default=None, repr=False)
    text_: np.ndarray | None = field(default=None, repr=False)

    def fit(self, train: TrainData, valid: LeaveOneOutSplit | None = None) -> TextSASRec:
        if self.item_vectors is None:
            raise ValueError("TextSASRec needs item_vectors (the items' text embeddings)")
        if isinstance(self.item_vectors, pd.DataFrame):
            self.text_ = self.item_vectors.loc[train.item_ids].to_numpy(dtype=np.float32)
        else:
            self.text_ = np.asarray(self.item_vectors, dtype=np.float32)
        if len(self.text_) != train.n_items:
            raise ValueError(f"{len(self.text_)} item vectors for {train.n_items} items")
        self.warm_ = train.item_counts() > 0
        super().fit(train, valid)
        return self

    def build_item_encoder(self, n_items: int) -> TextItemEncoder:
        """A :class:`TextItemEncoder` of the fitted text vectors, in place of the item table."""
        return TextItemEncoder(self.text_, self.dim, self.use_ids, self.warm_, self.text_dropout,
                               self.id_dropout)

    def trainable_items(self) -> torch.Tensor:
        """The items that occur in the training data (the softmax runs over them only)."""
        return self.network_.item_encoder.warm[1:]
