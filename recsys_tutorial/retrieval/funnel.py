"""The funnel: a cheap retriever picks K candidates, an expensive model re-ranks them.

A production recommender does not score a catalogue of millions with its best model for
every request. A *retriever* (item popularity, a two-tower model behind a
nearest-neighbour index) picks K candidates per user, and a *re-ranker* (here any model
of the course, SASRec say) scores those K only. :class:`Funnel` is that pipeline as a
recommender of the course protocol: its ``score`` gives the candidates the re-ranker's
scores and every other item a lower one, so that :func:`~recsys_tutorial.metrics.evaluate`
measures it end to end by full ranking, like every model in the book.

What the re-ranker can reach is capped by what the retriever let through: the
retriever's recall@K (the share of users whose target is among the K candidates,
:func:`retrieval_recall`) is the ceiling of the funnel's HR@K. :func:`funnel_curve`
measures both for a list of K, with the seconds each stage takes per 1,000
recommendations. At K = every item the funnel *is* the re-ranker.
Explained in :doc:`/notebooks/08_retrieval_funnel`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import torch

from ..metrics import evaluate, top_k
from ..protocol import Recommender
from ..sequential.base import SequenceRecommender
from ..sequential.sasrec import SASRecNetwork
from ..split import LeaveOneOutSplit, TrainData
from .ann import ANNIndex, search_unseen
from .two_tower import TwoTower, TwoTowerNetwork

#: ``retrieve(histories, k) -> (n, k)`` item ids, best first, seen items last or absent.
Retrieve = Callable[[Sequence[np.ndarray], int], np.ndarray]


def seen_matrix(histories: Sequence[np.ndarray], n_items: int) -> sp.csr_matrix:
    """Boolean ``(n, n_items)`` matrix of the items in each history. Chapter 08."""
    rows = np.repeat(np.arange(len(histories)), [len(h) for h in histories])
    cols = np.concatenate([np.asarray(h, dtype=np.int64) for h in histories] or [np.zeros(0, int)])
    return sp.csr_matrix((np.ones(len(cols), dtype=bool), (rows, cols)), shape=(len(histories), n_items))


def model_retriever(model: Recommender) -> Retrieve:
    """A protocol model as a retriever: its ``k`` best unseen items by full scoring
    (seen items come last, only when fewer than ``k`` others are left). Chapter 08."""

    def retrieve(histories: Sequence[np.ndarray], k: int) -> np.ndarray:
        scores = model.score(histories)
        return top_k(scores, seen_matrix(histories, scores.shape[1]), k)

    retrieve.n_parameters = model.n_parameters
    return retrieve


def ann_retriever(model: TwoTower, index: ANNIndex) -> Retrieve:
    """A two-tower model behind an index of its item vectors: the user tower's vector
    is the query, and seen items are left out by over-fetching
    (:func:`~recsys_tutorial.retrieval.ann.search_unseen`). Chapter 08."""

    def retrieve(histories: Sequence[np.ndarray], k: int) -> np.ndarray:
        return search_unseen(index, model.user_embeddings(histories), histories, k).ids

    retrieve.n_parameters = model.n_parameters
    return retrieve


@torch.no_grad()
def candidate_scores(model: Recommender, histories: Sequence[np.ndarray], candidates: np.ndarray,
                     only_candidates: bool = True) -> np.ndarray:
    """The re-ranker's scores of each row's candidates, ``(n, k)``.

    With ``only_candidates``, SASRec and the two-tower model (whose scores are dot
    products with item vectors) multiply the candidates' vectors only: the same scores
    up to floating-point rounding. Otherwise, and for any other model, the model scores
    every item and the candidates' columns are read. Chapter 08.
    """
    network = getattr(model, "network_", None)
    fast = isinstance(network, (SASRecNetwork, TwoTowerNetwork))
    if only_candidates and isinstance(model, SequenceRecommender) and fast:
        was_training = network.training
        network.eval()
        device = model.device_()
        hidden = network(model.score_tokens(histories).to(device))[:, -1]
        vectors = network.item_vectors()[torch.as_tensor(candidates, device=device)]
        network.train(was_training)
        return torch.einsum("nd,nkd->nk", hidden, vectors).float().cpu().numpy()
    return np.take_along_axis(np.asarray(model.score(histories)), candidates, axis=1)


@dataclass
class Funnel:
    """Retrieve ``k`` candidates, re-rank them: a recommender of the course protocol.

    ``score`` returns the re-ranker's scores for the candidates and, for every other
    item, a score below the row's lowest candidate (all equal: outside the candidates
    nothing is ranked). ``only_candidates``: the re-ranker multiplies the candidates'
    vectors only, where it can (:func:`candidate_scores`); ``False`` reads them from its
    full scores, so that at ``k`` = every item the funnel's scores *are* the
    re-ranker's, bit for bit. ``fit`` fits the re-ranker and, when given as a model, the
    retriever; models fitted beforehand can be passed with ``fit`` skipped.
    ``seconds_`` accumulates the time of each stage and ``n_scored_`` the histories
    scored. Chapter 08.
    """

    retriever: Recommender | Retrieve
    reranker: Recommender
    k: int = 100
    only_candidates: bool = True
    seconds_: dict[str, float] = field(default_factory=lambda: {"retrieve": 0.0, "rerank": 0.0})
    n_scored_: int = 0
    n_items_: int | None = None

    def retrieve(self) -> Retrieve:
        r = self.retriever
        return r if not hasattr(r, "score") else model_retriever(r)

    def fit(self, train: TrainData, valid: LeaveOneOutSplit | None = None) -> Funnel:
        if hasattr(self.retriever, "fit"):
            self.retriever.fit(train, valid)
        self.reranker.fit(train, valid)
        self.n_items_ = train.n_items
        return self

    def candidates(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """The retriever's ``k`` candidates of each history, ``(n, k)``."""
        start = time.perf_counter()
        found = self.retrieve()(histories, self.k)
        self.seconds_["retrieve"] += time.perf_counter() - start
        return found

    def score(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """Full-catalogue scores: candidates by the re-ranker, the rest below them."""
        n_items = self.n_items_ or getattr(self.reranker, "n_items_", None)
        if not n_items:
            raise ValueError("fit the funnel, or give it a fitted re-ranker with n_items_")
        found = self.candidates(histories)
        start = time.perf_counter()
        chosen = candidate_scores(self.reranker, histories, found, self.only_candidates)
        chosen = chosen.astype(np.float64)
        self.seconds_["rerank"] += time.perf_counter() - start
        floor = chosen.min(axis=1, keepdims=True) - 1.0 if chosen.size else np.zeros((len(found), 1))
        out = np.repeat(floor, n_items, axis=1)
        np.put_along_axis(out, found, chosen, axis=1)
        self.n_scored_ += len(histories)
        return out

    @property
    def n_parameters(self) -> int:
        return int(getattr(self.retriever, "n_parameters", 0)) + int(self.reranker.n_parameters)

    def cost_per_1000(self) -> dict[str, float]:
        """Seconds per 1,000 recommendations of each stage, so far."""
        n = max(self.n_scored_, 1)
        return {stage: 1000 * s / n for stage, s in self.seconds_.items()}


def retrieval_recall(retrieve: Retrieve, split: LeaveOneOutSplit, stage: str, k: int) -> float:
    """Share of the ``stage`` users whose target is among their ``k`` candidates: the
    ceiling of any re-ranker's HR@k over them. Chapter 08."""
    users = split.eval_users(stage)
    histories = [split.histories(stage)[u] for u in users]
    found = retrieve(histories, k)
    return float((found == split.targets(stage)[users][:, None]).any(axis=1).mean())


def funnel_curve(retrieve: Retrieve, reranker: Recommender, split: LeaveOneOutSplit,
                 ks: Sequence[int], stage: str = "valid", metric_k: int = 10) -> list[dict[str, float]]:
    """For each K: the funnel's metrics at ``metric_k`` by full ranking, the retriever's
    recall@K, and each stage's seconds per 1,000 recommendations. Chapter 08."""
    rows = []
    for k in ks:
        funnel = Funnel(retrieve, reranker, k, n_items_=split.n_items)
        metrics = evaluate(funnel, split, stage, k=metric_k)
        cost = funnel.cost_per_1000()
        rows.append({"k": k, f"ndcg@{metric_k}": metrics[f"ndcg@{metric_k}"],
                     f"hr@{metric_k}": metrics[f"hr@{metric_k}"],
                     "recall@k": retrieval_recall(retrieve, split, stage, k),
                     "retrieve_s_per_1000": cost["retrieve"], "rerank_s_per_1000": cost["rerank"]})
    return rows
