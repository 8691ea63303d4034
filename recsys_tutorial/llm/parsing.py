"""Reading a generated ranking: whatever the model wrote becomes a full permutation.

Explained in :doc:`/notebooks/06_llm_zero_shot_ranker`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


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
