"""Likelihood scoring with a shared prefix.

Each candidate is scored by the length-normalised log-probability of its title as the
answer. The prompt is shared by all 20 candidates, so its key/value cache is computed
once (:func:`encode_prefix`) and reused (:func:`score_continuations`) instead of
re-running the prompt per candidate (:func:`score_continuations_naive`).
Explained in :doc:`/notebooks/06_llm_zero_shot_ranker`.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from .model import LanguageModel

if TYPE_CHECKING:
    import transformers


@dataclass
class PrefixState:
    """A prompt run through the model once: its ids, key/value cache and the
    log-probabilities of the next token. Chapter 06."""

    ids: list[int]
    cache: transformers.Cache
    next_logprobs: torch.Tensor


def _as_ids(llm: LanguageModel, text_or_ids: str | Sequence[int]) -> list[int]:
    return llm.encode(text_or_ids) if isinstance(text_or_ids, str) else list(text_or_ids)


@torch.inference_mode()
def encode_prefix(llm: LanguageModel, prompt: str | Sequence[int]) -> PrefixState:
    """Run the shared prompt once and keep its key/value cache. Chapter 06."""
    ids = _as_ids(llm, prompt)
    inputs = torch.tensor([ids], device=llm.device)
    # only the last position's logits are read: skip the output layer elsewhere
    out = llm.model(input_ids=inputs, use_cache=True, logits_to_keep=1)
    logprobs = torch.log_softmax(out.logits[0, -1].float(), dim=-1)
    return PrefixState(ids, out.past_key_values, logprobs)


def _reduce(token_lp: torch.Tensor, normalise: bool) -> float:
    total = token_lp.sum()
    return float(total / len(token_lp)) if normalise else float(total)


@torch.inference_mode()
def score_continuations(
    llm: LanguageModel, prefix: PrefixState | str | Sequence[int],
    continuations: Sequence[str | Sequence[int]], normalise: bool = True,
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
    llm: LanguageModel, prefix: str | Sequence[int], continuations: Sequence[str | Sequence[int]],
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
def extend_prefix(llm: LanguageModel, prefix: PrefixState, suffix: str | Sequence[int]) -> PrefixState:
    """The prefix followed by ``suffix``, computed from a copy of the prefix's cache
    (prompts that share a beginning share its computation). Chapter 06."""
    extra = _as_ids(llm, suffix)
    if not extra:
        return prefix
    cache = copy.deepcopy(prefix.cache)
    p = len(prefix.ids)
    ids = torch.tensor([extra], device=llm.device)
    positions = torch.arange(p, p + len(extra), device=llm.device)[None]
    out = llm.model(input_ids=ids, past_key_values=cache, position_ids=positions, use_cache=True,
                    logits_to_keep=1)
    logprobs = torch.log_softmax(out.logits[0, -1].float(), dim=-1)
    return PrefixState(prefix.ids + extra, out.past_key_values, logprobs)


@torch.inference_mode()
def generate_from(
    llm: LanguageModel, prefix: PrefixState, suffix: str | Sequence[int], max_new_tokens: int = 48
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
