"""Prompts: the user's recent titles and the numbered candidates, as chat messages.

Explained in :doc:`/notebooks/06_llm_zero_shot_ranker`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


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
