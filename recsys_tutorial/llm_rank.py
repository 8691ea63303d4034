"""A language model as a zero-shot ranker: prompts, parsing, likelihoods, few shots.

The protocol of Hou et al. (ECIR 2024): for each sampled test user, 20 candidates (the
true next item and 19 items the user has not seen, in random order); the prompt lists
the user's most recent titles and the numbered candidates. Two ways to read a ranking
out of a causal LM:

- *listwise generation*: the model writes a ranking ("[3] [12] ..."), which
  :func:`parse_ranking` turns into a full permutation whatever the model wrote;
- *likelihood scoring*: each candidate is scored by the length-normalised
  log-probability of its title as the answer. The prompt is shared by all 20
  candidates, so its key/value cache is computed once (:func:`encode_prefix`) and
  reused (:func:`score_continuations`) instead of re-running the prompt per candidate
  (:func:`score_continuations_naive`).

Also: candidate sampling, metrics on candidates, position bias and bootstrapping,
few-shot fine-tuning from the training split (LoRA or full), and retrieve-then-re-rank.
Explained in chapter 06, *A language model as a zero-shot ranker*.
"""

from __future__ import annotations

import copy
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .metrics import metrics_from_ranks, target_ranks
from .split import LeaveOneOutSplit, Stage

SYSTEM = "You are a movie recommender system."

# -- titles and candidates --------------------------------------------------------------


def display_title(title: str) -> str:
    """MovieLens writes "Godfather, The (1972)"; a language model reads "The Godfather (1972)".

Alternative titles in parentheses are dropped (shorter prompts); the year is kept.

    Chapter 06.
    """
    title = re.sub(r"\s+\((?!\d{4}\))[^()]*\)", "", title.strip())  # "(a.k.a. ...)" shortens prompts
    match = re.match(r"^(.*), (The|A|An|Les|La|Le|Il|Das|Der|Die|El|L')( \(\d{4}\))?$", title)
    if match:
        head, article, year = match.groups()
        return f"{article} {head}{year or ''}"
    return title


@dataclass(frozen=True)
class CandidateSets:
    """One row per sampled user: ``candidates[r]`` are item indices in the order shown;
    ``target_pos[r]`` is where the true next item sits. Chapter 06."""

    users: np.ndarray
    candidates: np.ndarray
    target_pos: np.ndarray
    stage: str
    seed: int

    def __len__(self) -> int:
        return len(self.users)

    @property
    def targets(self) -> np.ndarray:
        return self.candidates[np.arange(len(self)), self.target_pos]

    def head(self, n: int) -> CandidateSets:
        """The first ``n`` rows (a smaller sample for the slower experiments)."""
        return CandidateSets(self.users[:n], self.candidates[:n], self.target_pos[:n],
                             self.stage, self.seed)


def sample_candidates(
    split: LeaveOneOutSplit, stage: Stage = "test", n_users: int | None = 200,
    n_candidates: int = 20, seed: int = 0, users: np.ndarray | None = None,
) -> CandidateSets:
    """Hou et al.'s candidates: the true next item plus ``n_candidates - 1`` items the user
    has not seen (uniformly at random), shuffled; a fixed sample of ``n_users`` users.

    Deterministic for a given ``seed``. Chapter 06.
    """
    rng = np.random.default_rng(seed)
    if users is None:
        pool = split.eval_users(stage)
        users = pool if n_users is None or n_users >= len(pool) else np.sort(
            rng.choice(pool, size=n_users, replace=False))
    users = np.asarray(users)
    targets = split.targets(stage)[users]
    if np.any(targets < 0):
        raise ValueError(f"every user needs a {stage} target")
    seen = split.seen(stage)
    rows = np.empty((len(users), n_candidates), dtype=np.int64)
    positions = np.empty(len(users), dtype=np.int64)
    for r, (user, target) in enumerate(zip(users, targets)):
        excluded = np.zeros(split.n_items, dtype=bool)
        excluded[seen[user].indices] = True
        excluded[target] = True
        unseen = np.flatnonzero(~excluded)
        if len(unseen) < n_candidates - 1:
            raise ValueError(f"user {user} has fewer than {n_candidates - 1} unseen items")
        negatives = rng.choice(unseen, size=n_candidates - 1, replace=False)
        row = rng.permutation(np.append(negatives, target))
        rows[r] = row
        positions[r] = int(np.flatnonzero(row == target)[0])
    return CandidateSets(users, rows, positions, stage, seed)


def move_target(candidate_sets: CandidateSets, position: int) -> CandidateSets:
    """The same candidates with the true item moved to ``position`` (others keep their
    relative order): for measuring position bias. Chapter 06."""
    rows = []
    for row, pos in zip(candidate_sets.candidates, candidate_sets.target_pos):
        others = np.delete(row, pos)
        rows.append(np.insert(others, position, row[pos]))
    n = len(candidate_sets)
    return CandidateSets(candidate_sets.users, np.array(rows), np.full(n, position),
                         candidate_sets.stage, candidate_sets.seed)


# -- prompts ---------------------------------------------------------------------------


def recent_titles(history: np.ndarray, titles: Sequence[str], max_items: int = 50) -> list[str]:
    """The ``max_items`` most recent titles of a history, oldest first. Chapter 06."""
    recent = history[-max_items:] if max_items > 0 else history[:0]
    return [titles[i] for i in recent]


def listwise_message(history: Sequence[str], candidates: Sequence[str], top: int = 5) -> str:
    """The user message of the listwise prompt (after Hou et al.): history, then numbered
    candidates, then a request for the numbers of the ``top`` best, best first.
    Asking for a few (not all 20) keeps the answer short. Chapter 06."""
    watched = "\n".join(f"- {t}" for t in history) if history else "- (nothing yet)"
    listed = "\n".join(f"[{i + 1}] {t}" for i, t in enumerate(candidates))
    return (
        f"I have watched these movies, in this order:\n{watched}\n\n"
        f"Candidate movies:\n{listed}\n\n"
        f"Which {top} candidates am I most likely to watch next? "
        "Answer with their numbers only, best first."
    )


#: A one-shot demonstration of the answer format, as an earlier chat turn: a toy user
#: and five candidates, answered with numbers that are *not* in the order shown (an
#: example inside the instruction itself is copied verbatim by small models).
LISTWISE_EXAMPLE = (
    "I have watched these movies, in this order:\n- Toy Story (1995)\n- Aladdin (1992)\n\n"
    "Candidate movies:\n[1] Heat (1995)\n[2] Casino (1995)\n[3] The Lion King (1994)\n"
    "[4] Se7en (1995)\n[5] Babe (1995)\n\n"
    "Which 2 candidates am I most likely to watch next? Answer with their numbers only, best first.",
    "[3], [5]",
)


def likelihood_message(history: Sequence[str]) -> str:
    """The likelihood prompt: the same history, then a request for one title. The
    candidates are *not* listed, so their order cannot matter; each candidate's title
    is scored as the answer. Chapter 06."""
    watched = "\n".join(f"- {t}" for t in history) if history else "- (nothing yet)"
    return (
        f"I have watched these movies, in this order:\n{watched}\n\n"
        "Which movie will I watch next? Answer with its title only."
    )


# -- parsing a generated ranking -------------------------------------------------------


@dataclass(frozen=True)
class ParsedRanking:
    """A full permutation of candidate positions, best first, and what the parser saw.

    ``named``: candidates the answer named (in order, duplicates dropped);
    ``duplicates``/``invalid``: repeated or out-of-range mentions; ``failed``: the answer
    named no candidate at all (the permutation is then the order shown). Chapter 06.
    """

    order: np.ndarray
    named: int
    duplicates: int
    invalid: int

    @property
    def failed(self) -> bool:
        return self.named == 0


def _title_key(title: str) -> str:
    """Lower-case title without the year, for matching names in free text."""
    return re.sub(r"\s*\(\d{4}\)\s*$", "", title).strip().lower()


def parse_ranking(text: str, candidates: Sequence[str]) -> ParsedRanking:
    """Turn any answer into a full permutation of ``range(len(candidates))``.

    Titles named in the text count first (longest titles matched first, so "Aliens"
    is not read as "Alien"); if the answer names no title, candidate numbers are read
    ("[3]", "3.", "3,"). Mentions keep their order of appearance; duplicates and
    numbers out of range are dropped and counted; candidates never named follow in the
    order they were shown. Never raises. Chapter 06.
    """
    n = len(candidates)
    text = text if isinstance(text, str) else str(text)
    lowered = text.lower()
    hits: list[tuple[int, int]] = []  # (position in text, candidate)
    keys = sorted(range(n), key=lambda i: -len(_title_key(candidates[i])))
    masked = lowered
    for i in keys:
        key = _title_key(candidates[i])
        if len(key) < 3:
            continue
        start = masked.find(key)
        while start >= 0:
            hits.append((start, i))
            masked = masked[:start] + "\0" * len(key) + masked[start + len(key):]
            start = masked.find(key)
    invalid = 0
    if not hits:
        for match in re.finditer(r"(?<![\d.])(\d{1,3})(?![\d])", lowered):
            value = int(match.group(1))
            if 1 <= value <= n:
                hits.append((match.start(), value - 1))
            else:
                invalid += 1
    hits.sort()
    order: list[int] = []
    duplicates = 0
    for _, i in hits:
        if i in order:
            duplicates += 1
        else:
            order.append(i)
    named = len(order)
    order += [i for i in range(n) if i not in order]
    return ParsedRanking(np.asarray(order, dtype=np.int64), named, duplicates, invalid)


def order_to_scores(order: np.ndarray) -> np.ndarray:
    """A permutation (best first) as scores over positions (higher is better)."""
    scores = np.empty(len(order), dtype=np.float64)
    scores[np.asarray(order)] = np.arange(len(order), 0, -1)
    return scores


# -- likelihood scoring with a shared prefix --------------------------------------------


@dataclass
class PrefixState:
    """A prompt run through the model once: its ids, key/value cache and the
    log-probabilities of the next token. Chapter 06."""

    ids: list[int]
    cache: Any
    next_logprobs: torch.Tensor


def _as_ids(llm: Any, text_or_ids: str | Sequence[int]) -> list[int]:
    return llm.encode(text_or_ids) if isinstance(text_or_ids, str) else list(text_or_ids)


@torch.inference_mode()
def encode_prefix(llm: Any, prompt: str | Sequence[int]) -> PrefixState:
    """Run the shared prompt once and keep its key/value cache. Chapter 06."""
    ids = _as_ids(llm, prompt)
    inputs = torch.tensor([ids], device=llm.device)
    out = llm.model(input_ids=inputs, use_cache=True)
    logprobs = torch.log_softmax(out.logits[0, -1].float(), dim=-1)
    return PrefixState(ids, out.past_key_values, logprobs)


def _reduce(token_lp: torch.Tensor, normalise: bool) -> float:
    total = token_lp.sum()
    return float(total / len(token_lp)) if normalise else float(total)


@torch.inference_mode()
def score_continuations(
    llm: Any, prefix: PrefixState | str | Sequence[int], continuations: Sequence[str | Sequence[int]],
    normalise: bool = True,
) -> np.ndarray:
    """Log-probability of each continuation after the prefix, reusing its cache.

    The prefix runs once (or comes precomputed). All continuations are then packed
    into *one* sequence after it, with an attention mask that lets each continuation
    see the prefix and its own earlier tokens only, and position ids that restart
    where the prefix ends: the same computation as running ``prefix + continuation``
    for each, without repeating the prefix or copying its cache per candidate.
    ``normalise``: divide by the number of tokens. Chapter 06.
    """
    state = prefix if isinstance(prefix, PrefixState) else encode_prefix(llm, prefix)
    seqs = [_as_ids(llm, c) for c in continuations]
    if any(len(s) == 0 for s in seqs):
        raise ValueError("every continuation needs at least one token")
    p, total = len(state.ids), sum(len(s) for s in seqs)
    device = llm.device
    ids = torch.tensor([[t for s in seqs for t in s]], device=device)
    segment = torch.repeat_interleave(torch.arange(len(seqs)), torch.tensor([len(s) for s in seqs]))
    offset = torch.cat([torch.arange(len(s)) for s in seqs])
    allowed = (segment[:, None] == segment[None, :]) & (offset[:, None] >= offset[None, :])
    allowed = torch.cat([torch.ones(total, p, dtype=torch.bool), allowed], dim=1).to(device)
    dtype = next(llm.model.parameters()).dtype
    mask = torch.zeros(allowed.shape, dtype=dtype, device=device)
    mask = mask.masked_fill(~allowed, torch.finfo(dtype).min)[None, None]
    positions = (p + offset)[None].to(device)
    logits = llm.model(input_ids=ids, attention_mask=mask, position_ids=positions,
                       past_key_values=copy.deepcopy(state.cache), use_cache=True).logits[0]
    logprobs = torch.log_softmax(logits.float(), dim=-1)
    out = np.empty(len(seqs))
    start = 0
    for r, seq in enumerate(seqs):
        first = state.next_logprobs[seq[0]].reshape(1)
        rest = logprobs[start:start + len(seq) - 1].gather(-1, ids[0, start + 1:start + len(seq), None])[:, 0]
        out[r] = _reduce(torch.cat([first.to(rest.device), rest]), normalise)
        start += len(seq)
    return out


@torch.inference_mode()
def score_continuations_naive(
    llm: Any, prefix: str | Sequence[int], continuations: Sequence[str | Sequence[int]],
    normalise: bool = True,
) -> np.ndarray:
    """The same scores, re-running the whole prompt for every candidate (for comparison)."""
    prefix_ids = _as_ids(llm, prefix)
    out = np.empty(len(continuations))
    for r, cont in enumerate(continuations):
        cont_ids = _as_ids(llm, cont)
        ids = torch.tensor([prefix_ids + cont_ids], device=llm.device)
        logits = llm.model(input_ids=ids).logits[0]
        logprobs = torch.log_softmax(logits[len(prefix_ids) - 1:-1].float(), dim=-1)
        token_lp = logprobs.gather(-1, ids[0, len(prefix_ids):, None])[:, 0]
        out[r] = _reduce(token_lp, normalise)
    return out


@torch.inference_mode()
def extend_prefix(llm: Any, prefix: PrefixState, suffix: str | Sequence[int]) -> PrefixState:
    """The prefix followed by ``suffix``, computed from a copy of the prefix's cache
    (prompts that share a beginning share its computation). Chapter 06."""
    extra = _as_ids(llm, suffix)
    if not extra:
        return prefix
    cache = copy.deepcopy(prefix.cache)
    p = len(prefix.ids)
    ids = torch.tensor([extra], device=llm.device)
    positions = torch.arange(p, p + len(extra), device=llm.device)[None]
    out = llm.model(input_ids=ids, past_key_values=cache, position_ids=positions, use_cache=True)
    logprobs = torch.log_softmax(out.logits[0, -1].float(), dim=-1)
    return PrefixState(prefix.ids + extra, out.past_key_values, logprobs)


@torch.inference_mode()
def generate_from(
    llm: Any, prefix: PrefixState, suffix: str | Sequence[int], max_new_tokens: int = 48
) -> str:
    """Greedy generation after a cached prefix and a (non-empty) uncached ``suffix``.
    Chapter 06."""
    prompt_ids = prefix.ids + _as_ids(llm, suffix)
    ids = torch.tensor([prompt_ids], device=llm.device)
    out = llm.model.generate(
        ids, attention_mask=torch.ones_like(ids), past_key_values=copy.deepcopy(prefix.cache),
        max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=llm.tokenizer.pad_token_id,
    )
    return llm.tokenizer.decode(out[0, len(prompt_ids):], skip_special_tokens=True)


# -- ranking users ---------------------------------------------------------------------


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
    llm: Any, split: LeaveOneOutSplit, candidate_sets: CandidateSets, titles: Sequence[str],
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
    llm: Any, split: LeaveOneOutSplit, candidate_sets: CandidateSets, titles: Sequence[str],
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
    eos = llm.tokenizer.eos_token or ""
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
                llm, answer_state, [display_title(c) + eos for c in cands])
            result.seconds["likelihood"] += time.perf_counter() - start
    return result


@torch.inference_mode()
def first_choice_scores(
    llm: Any, split: LeaveOneOutSplit, orderings: Sequence[CandidateSets], titles: Sequence[str],
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


# -- metrics on candidates -------------------------------------------------------------


def candidate_metrics(
    scores: np.ndarray, target_pos: np.ndarray, ks: Sequence[int] = (1, 5, 10)
) -> dict[str, float]:
    """Mean NDCG@k and HR@k of the true item among each row's candidates.

    Ties count as a random order would, in expectation (so all-equal scores give the
    random baseline exactly). Chapter 06.
    """
    per_user = candidate_metrics_per_user(scores, target_pos, ks)
    return {name: float(values.mean()) for name, values in per_user.items()}


def candidate_metrics_per_user(
    scores: np.ndarray, target_pos: np.ndarray, ks: Sequence[int] = (1, 5, 10)
) -> dict[str, np.ndarray]:
    """Per-row NDCG@k and HR@k on candidates (for bootstrap intervals). Chapter 06."""
    greater, ties, _ = target_ranks(np.asarray(scores, dtype=np.float64), np.asarray(target_pos), None)
    out: dict[str, np.ndarray] = {}
    for k in ks:
        values = metrics_from_ranks(greater, ties, k)
        out[f"ndcg@{k}"] = values["ndcg"]
        out[f"hr@{k}"] = values["hr"]
    return out


def restrict_to_candidates(model: Any, split: LeaveOneOutSplit, candidate_sets: CandidateSets) -> np.ndarray:
    """A fitted full-catalogue model's scores of each row's candidates. Chapter 06."""
    histories = split.histories(candidate_sets.stage)
    full = np.asarray(model.score([histories[u] for u in candidate_sets.users]))
    return np.take_along_axis(full, candidate_sets.candidates, axis=1)


def bootstrap_interval(
    values: np.ndarray, n_boot: int = 1000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of a mean over users. Chapter 06."""
    values = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(n_boot, len(values)))].mean(axis=1)
    alpha = (1 - level) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


# -- position bias and bootstrapping ---------------------------------------------------


def shuffled_sets(
    candidate_sets: CandidateSets, n_shuffles: int, seed: int = 0
) -> list[tuple[CandidateSets, np.ndarray]]:
    """``n_shuffles`` re-orderings of every row's candidates, each with the permutation
    that maps shown positions back to the original ones. Chapter 06."""
    rng = np.random.default_rng(seed)
    n, k = candidate_sets.candidates.shape
    out = []
    for _ in range(n_shuffles):
        perms = np.array([rng.permutation(k) for _ in range(n)])
        rows = np.take_along_axis(candidate_sets.candidates, perms, axis=1)
        pos = np.array([int(np.flatnonzero(p == t)[0]) for p, t in zip(perms, candidate_sets.target_pos)])
        out.append((CandidateSets(candidate_sets.users, rows, pos, candidate_sets.stage,
                                  candidate_sets.seed), perms))
    return out


def aggregate_shuffles(scores: Sequence[np.ndarray], perms: Sequence[np.ndarray]) -> np.ndarray:
    """Bootstrapping (Hou et al.): map each shuffle's scores back to the original
    positions and average the ranks (a Borda count), so no position is favoured.
    Chapter 06."""
    n, k = np.asarray(scores[0]).shape
    total = np.zeros((n, k))
    for s, perm in zip(scores, perms):
        ranks = np.argsort(np.argsort(-np.asarray(s), axis=1, kind="stable"), axis=1)
        back = np.empty_like(ranks)
        np.put_along_axis(back, perm, ranks, axis=1)
        total += back
    return -total / len(scores)


# -- few-shot fine-tuning --------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """One training example: a prompt and the answer the model should give."""

    prompt: str
    answer: str


def few_shot_examples(
    llm: Any, split: LeaveOneOutSplit, titles: Sequence[str], n_examples: int,
    history_items: int = 50, seed: int = 0,
) -> list[Example]:
    """Examples from the *training* split only, in the likelihood prompt's format: a
    random user's last training item is the answer, the items before it the history.
    Validation and test targets are never used. Chapter 06.
    """
    rng = np.random.default_rng(seed)
    sequences = split.train.sequences
    eligible = np.flatnonzero([len(s) >= 2 for s in sequences])
    users = rng.choice(eligible, size=n_examples, replace=n_examples > len(eligible))
    eos = llm.tokenizer.eos_token or ""
    examples = []
    for user in users:
        seq = sequences[user]
        history = recent_titles(seq[:-1], titles, history_items)
        prompt = llm.chat_prompt(likelihood_message(history), system=SYSTEM)
        examples.append(Example(prompt, display_title(titles[seq[-1]]) + eos))
    return examples


@dataclass
class FineTuneLog:
    """What :func:`fine_tune` did: steps, examples seen, losses, seconds (wall and CPU),
    and whether the optional time box stopped it early. Chapter 06."""

    steps: int = 0
    examples_seen: int = 0
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    stopped_by_time: bool = False


def fine_tune(
    llm: Any, examples: Sequence[Example], method: str = "lora", steps: int = 16,
    lr: float | None = None, batch_size: int = 4, lora_rank: int = 8,
    time_budget: float | None = None, seed: int = 0, progress: bool = True,
) -> tuple[Any, FineTuneLog]:
    """Fine-tune a copy of ``llm`` to answer each example's prompt with its answer
    (TALLRec's idea, Bao et al. 2023): cross-entropy on the answer tokens only.

    Exactly ``steps`` optimiser steps of ``batch_size`` examples, going through the
    examples in shuffled passes (16 examples are seen four times in 16 steps of 4; 64
    once), so that every point of a few-shot curve gets the same compute whatever the
    machine's speed. ``time_budget`` (seconds, off by default) is only a safety net.
    ``method="lora"`` trains rank-``lora_rank`` adapters on the attention projections
    (Hu et al., 2022) in float32 and merges them afterwards; ``"full"`` trains every
    weight. Returns the tuned copy (same interface and dtype as ``llm``) and a
    :class:`FineTuneLog`. Chapter 06.
    """
    from tqdm.auto import tqdm

    if method not in ("lora", "full"):
        raise ValueError(f"method must be 'lora' or 'full', not {method!r}")
    if not examples:
        raise ValueError("fine-tuning needs at least one example")
    torch.manual_seed(seed)
    model = copy.deepcopy(llm.model)
    dtype = next(model.parameters()).dtype
    if method == "lora":
        from peft import LoraConfig, get_peft_model

        config = LoraConfig(r=lora_rank, lora_alpha=2 * lora_rank, lora_dropout=0.0,
                            target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
                            task_type="CAUSAL_LM")
        model = get_peft_model(model, config, autocast_adapter_dtype=True)  # adapters in float32
        lr = 1e-3 if lr is None else lr
    else:
        model = model.float()  # full fine-tuning in float32
        lr = 2e-5 if lr is None else lr
    params = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    encoded = []
    for ex in examples:
        prompt, answer = llm.encode(ex.prompt), llm.encode(ex.answer)
        encoded.append((prompt + answer, len(prompt)))
    rng = np.random.default_rng(seed)
    log = FineTuneLog()
    start, cpu_start = time.perf_counter(), time.process_time()
    model.train()
    pad = llm.tokenizer.pad_token_id or 0
    queue: list[int] = []
    for _ in tqdm(range(steps), desc=f"fine-tune ({method}, {len(examples)} examples)",
                  disable=not progress):
        if time_budget is not None and time.perf_counter() - start > time_budget:
            log.stopped_by_time = True
            break
        while len(queue) < batch_size:
            queue += rng.permutation(len(encoded)).tolist()
        batch = [encoded[i] for i in queue[:batch_size]]
        queue = queue[batch_size:]
        width = max(len(ids) for ids, _ in batch)
        ids = torch.tensor([s + [pad] * (width - len(s)) for s, _ in batch], device=llm.device)
        labels = ids.clone()
        for r, (s, n_prompt) in enumerate(batch):
            labels[r, :n_prompt] = -100
            labels[r, len(s):] = -100
        attention = (torch.arange(width, device=llm.device)[None]
                     < torch.tensor([len(s) for s, _ in batch], device=llm.device)[:, None]).long()
        loss = model(input_ids=ids, attention_mask=attention, labels=labels).loss
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        log.steps += 1
        log.examples_seen += len(batch)
        log.losses.append(float(loss.detach()))
    model.eval()
    if method == "lora":
        model = model.merge_and_unload()
    model = model.to(dtype)
    log.seconds = time.perf_counter() - start
    log.cpu_seconds = time.process_time() - cpu_start
    tuned = copy.copy(llm)
    tuned.model = model
    tuned.name = f"{llm.name} + {method} on {len(examples)} examples"
    return tuned, log


# -- retrieve then re-rank -------------------------------------------------------------


@dataclass
class ReRanker:
    """Retrieve then re-rank: the retriever's top ``k`` unseen items, re-ordered by the
    LLM's likelihood scores; every other item keeps the retriever's order below them.
    Follows the course's model protocol (``score(histories)``). Chapter 06.
    """

    retriever: Any
    llm: Any
    titles: Sequence[str]
    k: int = 20
    history_items: int = 50
    progress: bool = True
    scorer: Callable[..., np.ndarray] | None = None

    def fit(self, train: Any) -> ReRanker:
        return self  # the retriever is fitted already; the LLM is zero-shot

    def score(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        from tqdm.auto import tqdm

        base = np.asarray(self.retriever.score(histories), dtype=np.float64)
        out = np.argsort(np.argsort(base, axis=1), axis=1).astype(np.float64)  # ranks, 0 = worst
        n_items = base.shape[1]
        eos = self.llm.tokenizer.eos_token or ""
        for r, history in enumerate(tqdm(histories, desc="re-rank", disable=not self.progress)):
            masked = base[r].copy()
            masked[np.asarray(history, dtype=np.int64)] = -np.inf
            top = np.argsort(-masked, kind="stable")[: self.k]
            cands = [self.titles[i] for i in top]
            prompt = self.llm.chat_prompt(
                likelihood_message(recent_titles(history, self.titles, self.history_items)),
                system=SYSTEM)
            scores = score_continuations(self.llm, prompt, [display_title(c) + eos for c in cands])
            order = top[np.argsort(-scores, kind="stable")]
            out[r, order] = n_items + np.arange(len(order), 0, -1)
        return out


def evaluate_users(
    model: Any, split: LeaveOneOutSplit, users: np.ndarray, stage: Stage = "test", k: int = 10
) -> dict[str, np.ndarray]:
    """Full-ranking HR/NDCG/MRR@k (seen items excluded) for a subset of users, per user:
    :func:`recsys_tutorial.evaluate` restricted to ``users``. Chapter 06."""
    histories = split.histories(stage)
    scores = np.asarray(model.score([histories[u] for u in users]))
    greater, ties, _ = target_ranks(scores, split.targets(stage)[users], split.seen(stage)[users])
    return {f"{name}@{k}": values for name, values in metrics_from_ranks(greater, ties, k).items()}
