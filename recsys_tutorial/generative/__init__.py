"""Semantic IDs and generative retrieval. Chapter 07, :doc:`/notebooks/07_semantic_ids`."""
