"""Semantic IDs: each item written as a short phrase of codes.

An atomic item id is one word of a vocabulary that grows with the catalogue. A semantic
ID writes the item as ``L`` content codes, each from a small codebook (``L x K`` tokens
in all, whatever the catalogue's size), so that items alike in content share a prefix,
as words share sub-word tokens. Two items may still get the same content codes; a last
*disambiguation* code (0 for the first item of a prefix, 1 for the next, ...) makes
every ID unique. This module holds the table of IDs and its diagnostics; the codes come
from :mod:`~recsys_tutorial.generative.rq_kmeans`,
:mod:`~recsys_tutorial.generative.rq_vae` or, for the ablation, :func:`random_ids`.
Explained in :doc:`/notebooks/07_semantic_ids`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

MAX_LEVELS = 8  # content codes per item; a history of n items is n * (levels + 1) tokens


@dataclass(frozen=True, eq=False)
class SemanticIDs:
    """One ID per item: ``codes[i]`` is item ``i``'s codes, content levels first.

    ``codes``: ``(n_items, n_levels)`` integers, the last column the disambiguation code.
    ``sizes``: the codebook size of each level, the last one included. ``method``: how the
    content codes were made (``"rq-kmeans"``, ``"rq-vae"``, ``"random"``).
    ``reconstruction_error``: mean squared distance between the vectors and their
    quantised version (``None`` without vectors). Rows must be unique. Chapter 07.
    """

    codes: np.ndarray
    sizes: tuple[int, ...]
    method: str
    reconstruction_error: float | None = None

    def __post_init__(self) -> None:
        raw = np.asarray(self.codes)
        if raw.size and not np.issubdtype(raw.dtype, np.integer):
            raise ValueError(f"codes must be integers, not {raw.dtype}")
        codes = raw.astype(np.int64)  # a private copy, made read-only below
        if codes.ndim != 2 or codes.shape[1] < 2:
            raise ValueError("codes must be (n_items, n_levels) with n_levels >= 2 (content + last code)")
        sizes = tuple(int(size) for size in self.sizes)
        if len(sizes) != codes.shape[1]:
            raise ValueError(f"{len(sizes)} codebook sizes for {codes.shape[1]} levels")
        if len(codes) and ((codes < 0).any() or (codes >= np.array(sizes)).any()):
            raise ValueError("every code must lie in [0, size of its level)")
        if len(np.unique(codes, axis=0)) != len(codes):
            raise ValueError("two items share an ID; disambiguate the codes first")
        codes.flags.writeable = False
        object.__setattr__(self, "codes", codes)
        object.__setattr__(self, "sizes", sizes)

    @property
    def n_items(self) -> int:
        """Items in the table, item ``i`` in row ``i``."""
        return len(self.codes)

    @property
    def n_levels(self) -> int:
        """Codes per item, the disambiguation code included."""
        return self.codes.shape[1]

    @property
    def vocab_size(self) -> int:
        """Tokens in all: each level has its own codes."""
        return sum(self.sizes)

    @property
    def offsets(self) -> np.ndarray:
        """Token id of each level's code 0: ``cumsum([0, *sizes[:-1]])``."""
        return np.cumsum([0, *self.sizes[:-1]]).astype(np.int64)

    def tokens(self, items: np.ndarray) -> np.ndarray:
        """``(len(items), n_levels)`` global token ids: ``offsets[level] + codes[items, level]``.
        Chapter 07."""
        return self.codes[np.asarray(items, dtype=np.int64)] + self.offsets

    def collisions(self) -> int:
        """Items whose content codes (all but the last) repeat an earlier item's. Chapter 07."""
        return self.n_items - len(np.unique(self.codes[:, :-1], axis=0))

    def usage(self) -> pd.DataFrame:
        """Per content level: codebook size, codes used, and the perplexity of code usage.

        Perplexity ``exp(entropy)`` is the number of equally used codes that would give the
        same entropy: the codebook size when all codes are used alike, 1 when the codebook
        has collapsed to one code. Chapter 07.
        """
        rows = []
        for level in range(self.n_levels - 1):
            counts = np.bincount(self.codes[:, level], minlength=self.sizes[level])
            p = counts[counts > 0] / max(self.n_items, 1)
            rows.append(
                {
                    "level": level + 1,
                    "codebook": self.sizes[level],
                    "used": int((counts > 0).sum()),
                    "perplexity": float(np.exp(-(p * np.log(p)).sum())),
                }
            )
        return pd.DataFrame(rows).set_index("level")


def disambiguate(content_codes: np.ndarray) -> np.ndarray:
    """Append a last code to make every row unique: the item's rank among the earlier
    items with the same content codes (0 for the first). Chapter 07."""
    content = np.asarray(content_codes)
    if content.ndim != 2 or content.shape[1] < 1:
        raise ValueError("content_codes must be (n_items, levels) with levels >= 1")
    if not np.issubdtype(content.dtype, np.integer):
        raise ValueError(f"content codes must be integers, not {content.dtype}")
    content = content.astype(np.int64)
    if not len(content):
        return np.empty((0, content.shape[1] + 1), np.int64)
    _, group = np.unique(content, axis=0, return_inverse=True)
    group = group.reshape(-1)
    order = np.argsort(group, kind="stable")  # items of a group in catalogue order
    starts = np.searchsorted(group[order], group[order])  # position of each group's first item
    rank = np.empty(len(content), np.int64)
    rank[order] = np.arange(len(content)) - starts
    return np.column_stack([content, rank])


def check_shape(levels: int, codebook: int, n_items: int | None = None) -> None:
    """Clear errors for IDs that cannot be built: ``levels`` in ``[1, MAX_LEVELS]``,
    ``codebook >= 2``, no more codes than items. Chapter 07."""
    if int(levels) != levels or not 1 <= levels <= MAX_LEVELS:
        raise ValueError(f"levels must be an integer in [1, {MAX_LEVELS}], got {levels}")
    if int(codebook) != codebook or codebook < 2:
        raise ValueError(f"codebook must be an integer >= 2, got {codebook}")
    if n_items is not None and codebook > n_items:
        raise ValueError(f"codebook of {codebook} codes for only {n_items} items")


def check_vectors(vectors: np.ndarray, normalise: bool = True) -> np.ndarray:
    """The vectors as a float64 ``(n_items, d)`` array, checked (finite, non-empty) and,
    with ``normalise``, scaled to unit length (the cosine geometry of chapter 05's
    sentence vectors). Chapter 07."""
    x = np.asarray(vectors, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"vectors must be a non-empty (n_items, d) matrix, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("vectors contain NaN or infinite values")
    if normalise:
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        if (norms == 0).any():
            raise ValueError("cannot normalise a zero vector")
        x = x / norms
    return x


def quantisation_error(x: np.ndarray, approximation: np.ndarray) -> float:
    """Mean over items of the squared distance ``||x_i - approximation_i||^2``. Chapter 07."""
    return float(((np.asarray(x) - np.asarray(approximation)) ** 2).sum(axis=1).mean())


def mean_vector_error(vectors: np.ndarray, normalise: bool = True) -> float:
    """The reconstruction error of the crudest code, the mean vector for every item: the
    bar any quantiser must pass. Chapter 07."""
    x = check_vectors(vectors, normalise)
    return quantisation_error(x, np.broadcast_to(x.mean(axis=0), x.shape))


def finish(
    content_codes: np.ndarray, sizes: tuple[int, ...], method: str, error: float | None
) -> SemanticIDs:
    """Disambiguate content codes into a :class:`SemanticIDs` (the last size: the largest
    group sharing content codes). Chapter 07."""
    codes = disambiguate(content_codes)
    last = int(codes[:, -1].max()) + 1 if len(codes) else 1
    return SemanticIDs(codes, (*sizes, last), method, error)


def random_ids(n_items: int, levels: int = 3, codebook: int = 32, seed: int = 0) -> SemanticIDs:
    """IDs of the same shape as the semantic ones but unrelated to content: each content
    code drawn uniformly at random, then disambiguated. The ablation's baseline. Chapter 07."""
    if int(n_items) != n_items or n_items < 1:
        raise ValueError(f"n_items must be a positive integer, got {n_items}")
    check_shape(levels, codebook)
    content = np.random.default_rng(seed).integers(codebook, size=(int(n_items), int(levels)))
    return finish(content, (int(codebook),) * int(levels), "random", None)
