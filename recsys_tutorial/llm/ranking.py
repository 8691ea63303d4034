"""Ranking users' candidates with a language model, listwise or by likelihood.

Explained in :doc:`/notebooks/06_llm_zero_shot_ranker`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from ..split import LeaveOneOutSplit
from .candidates import CandidateSets
from .likelihood import encode_prefix, extend_prefix, generate_from, score_continuations
from .model import LanguageModel
from .parsing import ParsedRanking, order_to_scores, parse_ranking
from .prompts import (
    LISTWISE_EXAMPLE,
    SYSTEM,
    likelihood_message,
    listwise_message,
    recent_titles,
    title_answer,
)


@dataclass
class LLMRankings:
    """What :func:`rank_with_llm` measured: scores per candidate position (higher is
    better) for each method, the raw answers, parse statistics and timings. Chapter 06."""

    scores: dict[str, np.ndarray]
    answers: list[str] = field(default_factory=list)
    parsed: list[ParsedRanking] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def parse_failures(self) -> int:
        return sum(p.failed for p in self.parsed)


def user_prompts(
    llm: LanguageModel, split: LeaveOneOutSplit, candidate_sets: CandidateSets, titles: Sequence[str],
    history_items: int = 50, row: int = 0, top: int = 5,
) -> tuple[str, str, list[str]]:
    """The listwise prompt (chat template, one-shot format example, request for the
    ``top`` best) and the likelihood prompt of one row, and its candidate titles.
    Chapter 06."""
    user = candidate_sets.users[row]
    history = split.histories(candidate_sets.stage)[user]
    hist = recent_titles(history, titles, history_items)
    cands = [titles[i] for i in candidate_sets.candidates[row]]
    return (llm.chat_prompt(listwise_message(hist, cands, top), system=SYSTEM,
                            examples=[LISTWISE_EXAMPLE]),
            llm.chat_prompt(likelihood_message(hist), system=SYSTEM), cands)


def rank_with_llm(
    llm: LanguageModel, split: LeaveOneOutSplit, candidate_sets: CandidateSets, titles: Sequence[str],
    history_items: int = 50, methods: Sequence[str] = ("listwise", "likelihood"),
    max_new_tokens: int = 20, answer_prefix: str = "[", progress: bool = True, top: int = 5,
) -> LLMRankings:
    """Rank every row's candidates with the LLM, zero-shot. Two read-outs:

    - ``"listwise"``: generate an answer (forced to start with ``answer_prefix``, so a
      small model writes candidate numbers rather than repeating the question) and
      parse it into a full permutation;
    - ``"likelihood"``: the length-normalised log-probability of each title as the
      answer to a prompt that does not list the candidates.

    The two prompts share their history part, computed once; the likelihood
    candidates share the rest of their prompt through its key/value cache. A third
    read-out, the model's first choice, is :func:`first_choice_scores`. Chapter 06.
    """
    from tqdm.auto import tqdm

    unknown = set(methods) - {"listwise", "likelihood"}
    if unknown:
        raise ValueError(f"unknown methods {sorted(unknown)}: choose 'listwise' and/or 'likelihood' "
                         "(the first-choice read-out is first_choice_scores)")
    n, k = candidate_sets.candidates.shape
    result = LLMRankings({m: np.zeros((n, k)) for m in methods},
                         seconds={m: 0.0 for m in (*methods, "shared prefix")})
    for r in tqdm(range(n), desc=f"LLM ranking ({', '.join(methods)})", disable=not progress):
        list_prompt, like_prompt, cands = user_prompts(llm, split, candidate_sets, titles,
                                                      history_items, r, top)
        common = os.path.commonprefix([list_prompt, like_prompt])
        start = time.perf_counter()
        state = encode_prefix(llm, common)  # system and history: computed once
        result.seconds["shared prefix"] += time.perf_counter() - start
        if "listwise" in methods:
            start = time.perf_counter()
            suffix = llm.encode(list_prompt[len(common):] + answer_prefix)
            list_state = extend_prefix(llm, state, suffix[:-1])
            text = answer_prefix + generate_from(llm, list_state, suffix[-1:], max_new_tokens)
            parsed = parse_ranking(text, cands)
            result.answers.append(text)
            result.parsed.append(parsed)
            result.scores["listwise"][r] = order_to_scores(parsed.order)
            result.seconds["listwise"] += time.perf_counter() - start
        if "likelihood" in methods:
            start = time.perf_counter()
            answer_state = extend_prefix(llm, state, like_prompt[len(common):])
            result.scores["likelihood"][r] = score_continuations(
                llm, answer_state, [title_answer(llm, c) for c in cands])
            result.seconds["likelihood"] += time.perf_counter() - start
    return result


@torch.inference_mode()
def first_choice_scores(
    llm: LanguageModel, split: LeaveOneOutSplit, orderings: Sequence[CandidateSets], titles: Sequence[str],
    history_items: int = 50, top: int = 5, progress: bool = True,
) -> list[np.ndarray]:
    """The model's first choice: from the listwise prompt of :func:`rank_with_llm`, the
    log-probability of each label ``"[k]"`` as the *first* answer, one forward pass and
    no parsing (used to measure position bias cheaply). For several orderings of the
    same users' candidates (moved or shuffled), each user's prompt up to the candidates
    is computed once and its cache reused for every ordering. Returns one
    ``(n_users, n_candidates)`` array per ordering. Chapter 06.
    """
    from tqdm.auto import tqdm

    n, k = orderings[0].candidates.shape
    labels = [f"{i + 1}]" for i in range(k)]
    out = [np.zeros((n, k)) for _ in orderings]
    for r in tqdm(range(n), desc=f"first choice, {len(orderings)} orders", disable=not progress):
        prompts = [user_prompts(llm, split, sets, titles, history_items, r, top)[0] + "["
                   for sets in orderings]
        common = os.path.commonprefix(prompts)
        state = encode_prefix(llm, common)
        for o, prompt in enumerate(prompts):
            answer_state = extend_prefix(llm, state, prompt[len(common):])
            out[o][r] = score_continuations(llm, answer_state, labels, normalise=False)
    return out
