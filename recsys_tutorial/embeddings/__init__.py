"""Item embeddings from co-occurrence: item2vec, SGNS by hand, GloVe.

Chapter 02, :doc:`/notebooks/02_item2vec`. The files, in reading order:

- :mod:`~recsys_tutorial.embeddings.item2vec`: gensim's word2vec on histories; an embedding used
  as a recommender;
- :mod:`~recsys_tutorial.embeddings.sgns`: skip-gram with negative sampling, written once by
  hand in PyTorch;
- :mod:`~recsys_tutorial.embeddings.glove`: GloVe: weighted least squares on log co-occurrence
  counts.
"""

from ..utils import unit_rows
from .glove import GloVe, cooccurrence, fit_glove, glove_loss
from .item2vec import (
    EmbeddingRecommender,
    Item2Vec,
    Side,
    Similarity,
    embedding_scores,
    neighbours,
    side_scores,
    user_vectors,
    vectors_by_index,
)
from .sgns import (
    SGNS,
    SkipGram,
    keep_probabilities,
    noise_distribution,
    sgns_loss,
    skipgram_pairs,
    train_sgns,
)

__all__ = [
    "EmbeddingRecommender",
    "GloVe",
    "Item2Vec",
    "SGNS",
    "Side",
    "Similarity",
    "SkipGram",
    "cooccurrence",
    "embedding_scores",
    "fit_glove",
    "glove_loss",
    "keep_probabilities",
    "neighbours",
    "noise_distribution",
    "sgns_loss",
    "side_scores",
    "skipgram_pairs",
    "train_sgns",
    "unit_rows",
    "user_vectors",
    "vectors_by_index",
]
