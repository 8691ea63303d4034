"""Nearest-neighbour search through faiss: exact, HNSW and IVF-PQ, behind one wrapper.

Once items are vectors and a user is a vector (:mod:`~recsys_tutorial.retrieval.two_tower`),
recommending is a maximum-inner-product search. :class:`ANNIndex` builds one of three
faiss indexes (Johnson et al., 2019) over the item vectors:

- ``"exact"``: ``IndexFlatIP``, every vector compared (the reference);
- ``"hnsw"``: ``IndexHNSWFlat``, a navigable small-world graph walked greedily
  (Malkov & Yashunin, 2018); ``ef_search`` trades recall for speed;
- ``"ivfpq"``: ``IndexIVFPQ``, k-means cells, of which ``nprobe`` are searched, and
  vectors compressed by product quantisation (Jégou et al., 2011).

:func:`recall_at_k` compares an approximate answer with the exact one, and
:func:`queries_per_second` times a search. :func:`search_unseen` leaves out each user's
seen items the only way an index allows: it fetches more neighbours than asked
(``k`` plus the number of seen items) and filters; when too few remain (an
approximate index may return fewer than it was asked for), it falls back to exact
search or raises, and says how often it did. faiss is imported when first needed.
Explained in :doc:`/notebooks/08_retrieval_funnel`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

KINDS = ("exact", "hnsw", "ivfpq")


def _faiss():
    import faiss  # a heavy import, and only this module needs it

    return faiss


def set_threads(n: int) -> None:
    """faiss's OpenMP threads (timings in the chapter use one). Chapter 08."""
    _faiss().omp_set_num_threads(n)


def synthetic_catalogue(n: int, dim: int = 32, clusters: int = 100, rank: int = 8,
                        seed: int = 0) -> np.ndarray:
    """``n`` clustered unit vectors ``(n, dim)`` float32, of low intrinsic dimension.

    Points of a mixture of ``clusters`` Gaussians in ``rank`` dimensions, mapped into
    ``dim`` by a random linear map, with a little full-dimensional noise: the shape
    learned embeddings tend to have (groups of similar items on a low-dimensional
    surface). Draw the catalogue and its queries in one call, then split. Chapter 08.
    """
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, rank))
    latent = centres[rng.integers(clusters, size=n)] + 0.3 * rng.normal(size=(n, rank))
    x = latent @ (rng.normal(size=(rank, dim)) / np.sqrt(rank)) + 0.05 * rng.normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@dataclass
class ANNIndex:
    """A faiss index over item vectors, searched by inner product. Chapter 08.

    ``kind``: ``"exact"``, ``"hnsw"`` or ``"ivfpq"``. HNSW: ``m`` links per node,
    ``ef_construction`` and ``ef_search`` candidate lists when building and searching.
    IVF-PQ: ``nlist`` cells (at most a fortieth of the items, as k-means needs data),
    ``nprobe`` searched, ``pq_m`` sub-vectors of ``pq_bits`` bits each (``pq_m`` must
    divide the dimension; fewer bits where the catalogue is too small to train them).
    Search settings may be changed after building.
    """

    kind: str = "hnsw"
    m: int = 32
    ef_construction: int = 64
    ef_search: int = 64
    nlist: int = 256
    nprobe: int = 8
    pq_m: int = 8
    pq_bits: int = 8
    seed: int = 0
    index_: object | None = field(default=None, repr=False)
    vectors_: np.ndarray | None = field(default=None, repr=False)
    build_seconds_: float = field(default=0.0, repr=False)

    def build(self, vectors: np.ndarray) -> ANNIndex:
        """Index ``vectors`` ``(n_items, dim)``; row ``i`` is item ``i``."""
        faiss = _faiss()
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {self.kind!r}")
        x = np.ascontiguousarray(vectors, dtype=np.float32)
        n, dim = x.shape
        start = time.perf_counter()
        if self.kind == "exact":
            index = faiss.IndexFlatIP(dim)
        elif self.kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, self.m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = self.ef_construction
        else:
            nlist = max(1, min(self.nlist, n // 40))
            # k-means wants about 39 points per centroid: fewer bits on small catalogues
            bits = min(self.pq_bits, max(1, int(np.log2(max(n, 2) / 39))))
            index = faiss.IndexIVFPQ(faiss.IndexFlatIP(dim), dim, nlist, self.pq_m, bits,
                                     faiss.METRIC_INNER_PRODUCT)
            index.cp.seed = self.seed
            index.pq.cp.seed = self.seed
            index.train(x)
        index.add(x)
        self.build_seconds_ = time.perf_counter() - start
        self.index_, self.vectors_ = index, x
        return self

    @property
    def n_items(self) -> int:
        return 0 if self.vectors_ is None else len(self.vectors_)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best items of each query: ``(scores, ids)``, both ``(n, k)``, best
        first; an approximate index marks missing answers with id ``-1``."""
        if self.index_ is None:
            raise RuntimeError("build the index before searching it")
        if self.kind == "hnsw":
            self.index_.hnsw.efSearch = self.ef_search
        elif self.kind == "ivfpq":
            self.index_.nprobe = self.nprobe
        q = np.ascontiguousarray(queries, dtype=np.float32)
        return self.index_.search(q, min(k, self.n_items))


def exact_top_k(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Ids of the ``k`` largest inner products of each query, by brute force. Chapter 08."""
    return ANNIndex("exact").build(vectors).search(queries, k)[1]


def recall_at_k(found: np.ndarray, exact: np.ndarray) -> float:
    """Mean share of each query's exact top-k (``(n, k)`` ids) that ``found`` holds;
    ``-1`` (no answer) never counts. Chapter 08."""
    found, exact = np.asarray(found), np.asarray(exact)
    k = exact.shape[1]
    hits = [len(set(f[f >= 0]) & set(e)) for f, e in zip(found[:, :k], exact)]
    return float(np.mean(hits) / k) if len(hits) else float("nan")


def queries_per_second(index: ANNIndex, queries: np.ndarray, k: int, repeats: int = 3) -> float:
    """Queries answered per second: the best of ``repeats`` timed searches of all
    ``queries`` in one call (the best is the least disturbed by other work). Chapter 08."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        index.search(queries, k)
        best = min(best, time.perf_counter() - start)
    return len(queries) / max(best, 1e-9)


@dataclass
class UnseenResult:
    """What :func:`search_unseen` returns: ``ids`` and ``scores`` ``(n, k)``, no seen
    item among them; ``fallbacks``: the queries answered by exact search because the
    index returned too few unseen items; ``fetched``: neighbours asked of the index,
    per query. Chapter 08."""

    ids: np.ndarray
    scores: np.ndarray
    fallbacks: np.ndarray
    fetched: np.ndarray


def search_unseen(index: ANNIndex, queries: np.ndarray, seen: Sequence[np.ndarray], k: int,
                  on_short: str = "exact") -> UnseenResult:
    """The ``k`` best *unseen* items of each query, by over-fetching and filtering.

    Query ``i`` asks the index for ``k + len(seen[i])`` neighbours (queries are grouped
    by that number, so a long history costs its own query, not everyone's), drops its
    seen items, and keeps the first ``k``. Enough unseen items are always among them if
    the index returns all it was asked for; an approximate index may not (``-1``
    answers). Such queries are answered exactly (``on_short="exact"``, counted in
    ``fallbacks``) or raise (``"raise"``). A query whose catalogue holds fewer than
    ``k`` unseen items raises: never are fewer than ``k`` returned silently. Chapter 08.
    """
    if on_short not in ("exact", "raise"):
        raise ValueError(f"on_short must be 'exact' or 'raise', not {on_short!r}")
    n_items = index.n_items
    seen_sets = [np.unique(np.asarray(s, dtype=np.int64)) for s in seen]
    if len(seen_sets) != len(queries):
        raise ValueError(f"{len(seen_sets)} seen lists for {len(queries)} queries")
    too_few = [i for i, s in enumerate(seen_sets) if n_items - len(s) < k]
    if too_few:
        raise ValueError(f"queries {too_few[:5]} have fewer than k={k} unseen items in the catalogue")
    ids = np.full((len(queries), k), -1, dtype=np.int64)
    scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    fetched = np.array([min(n_items, k + len(s)) for s in seen_sets], dtype=np.int64)
    short: list[int] = []
    for size in np.unique(fetched):
        rows = np.flatnonzero(fetched == size)
        found_scores, found_ids = index.search(queries[rows], int(size))
        for row, f_ids, f_scores in zip(rows, found_ids, found_scores):
            keep = (f_ids >= 0) & ~np.isin(f_ids, seen_sets[row])
            if keep.sum() < k:
                short.append(int(row))
                continue
            ids[row], scores[row] = f_ids[keep][:k], f_scores[keep][:k]
    if short and on_short == "raise":
        raise RuntimeError(f"{len(short)} queries got fewer than k={k} unseen items from the "
                           f"{index.kind} index (first: {short[:5]}); search them exactly")
    for row in short:  # exact search over the stored vectors, seen items masked
        all_scores = index.vectors_ @ np.asarray(queries[row], dtype=np.float32)
        all_scores[seen_sets[row]] = -np.inf
        best = np.argsort(-all_scores, kind="stable")[:k]
        ids[row], scores[row] = best, all_scores[best]
    return UnseenResult(ids, scores, np.asarray(short, dtype=np.int64), fetched)
