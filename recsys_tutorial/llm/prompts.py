"""Prompts: the user's recent titles and the numbered candidates, as chat messages.

The messages are plain text; the model's chat template (:meth:`LLM.chat_prompt
<recsys_tutorial.llm.model.LLM.chat_prompt>`) writes the special tokens around them.
Explained in :doc:`/notebooks/06_llm_zero_shot_ranker`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..utils import clean_title
from .model import LanguageModel

SYSTEM = "You are a movie recommender system."


def recent_titles(history: np.ndarray, titles: Sequence[str], max_items: int = 50) -> list[str]:
    """The ``max_items`` most recent titles of a history, oldest first. Chapter 06."""
    recent = history[-max_items:] if max_items > 0 else history[:0]
    return [titles[i] for i in recent]


def history_message(history: Sequence[str]) -> str:
    """The opening every prompt shares: the user's titles, oldest first, one per line.
    Chapter 06."""
    watched = "\n".join(f"- {t}" for t in history) if history else "- (nothing yet)"
    return f"I have watched these movies, in this order:\n{watched}\n\n"


def listwise_message(history: Sequence[str], candidates: Sequence[str], top: int = 5) -> str:
    """The user message of the listwise prompt (after Hou et al.): history, then numbered
    candidates, then a request for the numbers of the ``top`` best, best first.
    Asking for a few (not all 20) keeps the answer short. Chapter 06."""
    listed = "\n".join(f"[{i + 1}] {t}" for i, t in enumerate(candidates))
    return (
        history_message(history)
        + f"Candidate movies:\n{listed}\n\n"
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
    return history_message(history) + "Which movie will I watch next? Answer with its title only."


def title_answer(llm: LanguageModel, title: str) -> str:
    """A title as the answer the likelihood read-out scores: cleaned (article in front,
    alternative titles dropped) and closed by the model's end-of-turn token. Chapter 06."""
    return clean_title(title, drop_alternatives=True) + (llm.tokenizer.eos_token or "")


def shared_chat_prompts(
    llm: LanguageModel, head: str, tails: Sequence[str], system: str | None = SYSTEM
) -> tuple[str, list[str]]:
    """Chat prompts of one user message ``head + tail`` per tail, cut where ``head`` ends.

    Returns the text all of them share (the system turn, the opening of the user's turn
    and ``head``), to be run once through :func:`~recsys_tutorial.llm.likelihood.encode_prefix`,
    and each prompt's rest (its tail, the end of the turn and the opening of the
    assistant's). The chat template writes every special token. Chapter 06.
    """
    if not tails:
        raise ValueError("shared_chat_prompts needs at least one tail")
    parts = []
    for tail in tails:
        prompt = llm.chat_prompt(head + tail, system=system)
        at = prompt.rfind(head + tail)
        if at < 0:
            raise ValueError("the chat template changed the message; cannot cut it")
        parts.append((prompt[:at + len(head)], prompt[at + len(head):]))
    if len({shared for shared, _ in parts}) > 1:
        raise ValueError("the prompts do not share their beginning")
    return parts[0][0], [rest for _, rest in parts]
