"""Next-item sequence models on the shared trainer.

Chapter 04, :doc:`/notebooks/04_next_item_transformers`. The files, in reading order:

- :mod:`~recsys_tutorial.sequential.trainer`: the training loop: seeded batches, validation
  NDCG@10, the best epoch kept;
- :mod:`~recsys_tutorial.sequential.base`: what the sequence models share: padding, batching,
  the losses, the course protocol;
- :mod:`~recsys_tutorial.sequential.sasrec`: SASRec: a causal transformer reads a history,
  predicts the next item;
- :mod:`~recsys_tutorial.sequential.gru4rec`: GRU4Rec: the recurrent reference;
- :mod:`~recsys_tutorial.sequential.bert4rec`: BERT4Rec: a bidirectional transformer trained by
  cloze;
- :mod:`~recsys_tutorial.sequential.distributed`: the same training on several processes
  (DDP, ``torchrun``), explained in :doc:`/book/distributed`.
"""

from ..utils import select_device
from .base import SequenceRecommender, item_embedding, pad_left, sampled_bce_loss, softmax_loss
from .bert4rec import BERT4Rec
from .gru4rec import GRU4Rec, GRUNetwork
from .sasrec import Block, ItemEncoderFactory, SASRec, SASRecNetwork, attention_mask
from .trainer import Batch, Trainable, Trainer, TrainLog, seed_everything

__all__ = [
    "BERT4Rec",
    "Batch",
    "Block",
    "GRU4Rec",
    "GRUNetwork",
    "ItemEncoderFactory",
    "SASRec",
    "SASRecNetwork",
    "SequenceRecommender",
    "TrainLog",
    "Trainable",
    "Trainer",
    "attention_mask",
    "item_embedding",
    "pad_left",
    "sampled_bce_loss",
    "seed_everything",
    "select_device",
    "softmax_loss",
]
