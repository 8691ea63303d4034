"""Items as text: pretrained sentence encoders, zero-shot and trained.

Chapter 05, :doc:`/notebooks/05_zero_shot_text_encoders`. The files, in reading order:

- :mod:`~recsys_tutorial.text.encoder`: a sentence for every film, encoded once and cached;
- :mod:`~recsys_tutorial.text.content`: the zero-shot content recommender;
- :mod:`~recsys_tutorial.text.sasrec`: SASRec whose item vectors are read from the film's text.
"""

from .content import ContentRecommender, recency_weights
from .encoder import (
    DEFAULT_MODEL,
    MODEL_ENV_VAR,
    Encoder,
    cache_file,
    cache_key,
    catalogue_embeddings,
    encode_items,
    item_text,
    item_texts,
    load_sentence_model,
    resolve_model_name,
)
from .sasrec import TextItemEncoder, TextSASRec

__all__ = [
    "ContentRecommender",
    "DEFAULT_MODEL",
    "Encoder",
    "MODEL_ENV_VAR",
    "TextItemEncoder",
    "TextSASRec",
    "cache_file",
    "cache_key",
    "catalogue_embeddings",
    "encode_items",
    "item_text",
    "item_texts",
    "load_sentence_model",
    "recency_weights",
    "resolve_model_name",
]
