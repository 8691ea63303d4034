"""Items as tokens: semantic IDs and generative retrieval.

Chapter 07, :doc:`/notebooks/07_semantic_ids`. The files, in reading order:

- :mod:`~recsys_tutorial.generative.ids`: the table of semantic IDs (content codes plus a
  disambiguation code), its diagnostics, and random IDs for the ablation;
- :mod:`~recsys_tutorial.generative.rq_kmeans`: RQ-KMeans: k-means on the residuals,
  level by level;
- :mod:`~recsys_tutorial.generative.rq_vae`: RQ-VAE: a learned residual quantiser;
- :mod:`~recsys_tutorial.generative.retriever`: the generative retriever: a decoder-only
  transformer writes the next item code by code (TIGER);
- :mod:`~recsys_tutorial.generative.decoding`: reading items out of it: the prefix trie,
  exact scoring of every item with a shared key/value cache, constrained beam search.
"""

from .decoding import (
    PrefixTrie,
    beam_against_exact,
    constrained_beam_search,
    decode_step,
    encode_prefix,
    exact_item_log_probs,
)
from .ids import SemanticIDs, disambiguate, random_ids
from .retriever import CodeTransformer, GenerativeRetriever, code_rows
from .rq_kmeans import rq_kmeans
from .rq_vae import RQVAE, rq_vae, train_rq_vae

__all__ = [
    "RQVAE",
    "CodeTransformer",
    "GenerativeRetriever",
    "PrefixTrie",
    "SemanticIDs",
    "beam_against_exact",
    "code_rows",
    "constrained_beam_search",
    "decode_step",
    "disambiguate",
    "encode_prefix",
    "exact_item_log_probs",
    "random_ids",
    "rq_kmeans",
    "rq_vae",
    "train_rq_vae",
]
