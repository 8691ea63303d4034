"""Retrieve, then re-rank: a language model re-scores a retriever's top candidates.

Explained in :doc:`/notebooks/06_llm_zero_shot_ranker`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..metrics import metrics_from_ranks, target_ranks
from ..protocol import Recommender
from ..split import LeaveOneOutSplit, Stage, TrainData
from .likelihood import score_continuations
from .model import LanguageModel
from .prompts import SYSTEM, likelihood_message, recent_titles, title_answer


@dataclass
class ReRanker:
    """Retrieve then re-rank: the retriever's top ``k`` unseen items, re-ordered by the
    LLM's likelihood scores; every other item keeps the retriever's order below them.

    Follows the course's model protocol (:mod:`recsys_tutorial.protocol`): ``fit``
    fits the retriever (the language model is zero-shot), ``score`` ranks the whole
    catalogue, and ``n_parameters`` counts the retriever's and the language model's
    weights. Chapter 06.
    """

    retriever: Recommender
    llm: LanguageModel
    titles: Sequence[str]
    k: int = 20
    history_items: int = 50
    progress: bool = True

    def fit(self, train: TrainData, valid: LeaveOneOutSplit | None = None) -> ReRanker:
        """Fit the retriever on ``train`` (``valid`` passed on); returns the re-ranker.
        A retriever fitted already need not be fitted again: call :meth:`score`."""
        self.retriever.fit(train, valid)
        return self

    @property
    def n_parameters(self) -> int:
        return self.retriever.n_parameters + self.llm.n_parameters

    def score(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """Scores over every item: the LLM's order of the top ``k`` above the rest."""
        from tqdm.auto import tqdm

        base = np.asarray(self.retriever.score(histories), dtype=np.float64)
        out = np.argsort(np.argsort(base, axis=1), axis=1).astype(np.float64)  # ranks, 0 = worst
        n_items = base.shape[1]
        for r, history in enumerate(tqdm(histories, desc="re-rank", disable=not self.progress)):
            masked = base[r].copy()
            masked[np.asarray(history, dtype=np.int64)] = -np.inf
            top = np.argsort(-masked, kind="stable")[: self.k]
            cands = [self.titles[i] for i in top]
            prompt = self.llm.chat_prompt(
                likelihood_message(recent_titles(history, self.titles, self.history_items)),
                system=SYSTEM)
            scores = score_continuations(self.llm, prompt, [title_answer(self.llm, c) for c in cands])
            order = top[np.argsort(-scores, kind="stable")]
            out[r, order] = n_items + np.arange(len(order), 0, -1)
        return out


def evaluate_users(
    model: Recommender, split: LeaveOneOutSplit, users: np.ndarray, stage: Stage = "test", k: int = 10
) -> dict[str, np.ndarray]:
    """Full-ranking HR/NDCG/MRR@k (seen items excluded) for a subset of users, per user:
    :func:`~recsys_tutorial.metrics.evaluate` restricted to ``users``. Chapter 06."""
    histories = split.histories(stage)
    scores = np.asarray(model.score([histories[u] for u in users]))
    greater, ties, _ = target_ranks(scores, split.targets(stage)[users], split.seen(stage)[users])
    return {f"{name}@{k}": values for name, values in metrics_from_ranks(greater, ties, k).items()}
