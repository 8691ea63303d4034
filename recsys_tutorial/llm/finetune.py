"""Few-shot fine-tuning from the training split (LoRA or full).

Explained in :doc:`/notebooks/06_llm_zero_shot_ranker`.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from ..split import LeaveOneOutSplit
from .model import LanguageModel
from .prompts import SYSTEM, likelihood_message, recent_titles, title_answer


@dataclass(frozen=True)
class Example:
    """One training example: a prompt and the answer the model should give."""

    prompt: str
    answer: str


def few_shot_examples(
    llm: LanguageModel, split: LeaveOneOutSplit, titles: Sequence[str], n_examples: int,
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
    examples = []
    for user in users:
        seq = sequences[user]
        history = recent_titles(seq[:-1], titles, history_items)
        prompt = llm.chat_prompt(likelihood_message(history), system=SYSTEM)
        examples.append(Example(prompt, title_answer(llm, titles[seq[-1]])))
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
    llm: LanguageModel, examples: Sequence[Example], method: str = "lora", steps: int = 16,
    lr: float | None = None, batch_size: int = 4, lora_rank: int = 8,
    time_budget: float | None = None, seed: int = 0, progress: bool = True,
) -> tuple[LanguageModel, FineTuneLog]:
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
