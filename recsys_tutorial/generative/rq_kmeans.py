"""RQ-KMeans: semantic IDs by k-means on the residuals, level by level.

Residual quantisation writes a vector as a sum of ``L`` centroids, one from each level's
codebook. Level 1 clusters the vectors themselves into ``K`` groups; each vector then
keeps its *residual*, what its centroid failed to explain, and level 2 clusters those
residuals, and so on. The codes of an item are the clusters it fell into, coarse first:
items that share the first code are alike at large, those that share two codes closer
still. Nothing is trained by gradient; scikit-learn's KMeans does each level. Explained
in :doc:`/notebooks/07_semantic_ids`.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans

from .ids import SemanticIDs, check_shape, check_vectors, finish, quantisation_error


def residual_kmeans(
    x: np.ndarray, levels: int, codebook: int, seed: int = 0, n_init: int = 3
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Codes ``(n_items, levels)`` and the codebooks ``(codebook, d)`` of each level: k-means
    (``random_state=seed + level``) on the residuals left by the earlier levels (once they
    are all zero, as when there are as many codes as items, the later codes are 0). Chapter 07."""
    residual = np.array(x, dtype=np.float64)
    codes, codebooks = [], []
    for level in range(levels):
        if np.abs(residual).max() < 1e-10:  # nothing left to explain: code 0, a zero centroid
            codes.append(np.zeros(len(residual), np.int64))
            codebooks.append(np.zeros((codebook, residual.shape[1])))
            continue
        kmeans = KMeans(codebook, n_init=n_init, random_state=seed + level).fit(residual)
        centroids = kmeans.cluster_centers_
        codes.append(kmeans.labels_.astype(np.int64))
        codebooks.append(centroids)
        residual = residual - centroids[kmeans.labels_]
    return np.column_stack(codes), codebooks


def reconstruct(codes: np.ndarray, codebooks: list[np.ndarray]) -> np.ndarray:
    """The quantised vectors: the sum over levels of each item's centroid. Chapter 07."""
    return sum(book[codes[:, level]] for level, book in enumerate(codebooks))


def rq_kmeans(
    vectors: np.ndarray, levels: int = 3, codebook: int = 32, seed: int = 0, normalise: bool = True,
    n_init: int = 3,
) -> SemanticIDs:
    """Semantic IDs of ``levels`` RQ-KMeans codes of ``codebook`` each, plus the
    disambiguation code.

    ``vectors``: one row per item (chapter 05's sentence vectors, any ``(n_items, d)``
    float matrix), in the course's item order. With ``normalise`` the rows are first
    scaled to unit length, and the reconstruction error is measured on those unit rows
    (for comparison: the error of the mean vector is the rows' total variance). Chapter 07.
    """
    x = check_vectors(vectors, normalise)
    check_shape(levels, codebook, len(x))
    codes, codebooks = residual_kmeans(x, int(levels), int(codebook), seed, n_init)
    error = quantisation_error(x, reconstruct(codes, codebooks))
    return finish(codes, (int(codebook),) * int(levels), "rq-kmeans", error)
