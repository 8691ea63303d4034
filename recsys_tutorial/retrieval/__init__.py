"""Retrieval at scale: two towers, nearest-neighbour search, and the funnel.

Chapter 08, :doc:`/notebooks/08_retrieval_funnel`. The files, in reading order:

- :mod:`~recsys_tutorial.retrieval.two_tower`: the two-tower model: a user tower, an item
  tower that embeds unseen items from their text, and the in-batch softmax with and
  without the logQ correction;
- :mod:`~recsys_tutorial.retrieval.ann`: nearest-neighbour indexes through faiss (exact,
  HNSW, IVF-PQ): build, search, recall against exact search, queries per second, and
  seen items left out by over-fetching;
- :mod:`~recsys_tutorial.retrieval.funnel`: retrieve K candidates, re-rank them with any
  model, evaluate end to end by the course's protocol, and time each stage.
"""

from .two_tower import TwoTower, TwoTowerNetwork, in_batch_softmax_loss

__all__ = ["TwoTower", "TwoTowerNetwork", "in_batch_softmax_loss"]
