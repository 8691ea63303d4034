"""Decoding a generative retriever: the prefix trie, exact scoring, constrained beam search.

A generative retriever writes the next item code by code. Two ways to read items out
of it, both sharing the history's key/value cache the way chapter 06 shares a prompt:

- :func:`exact_item_log_probs`: the log-probability of *every* item, the sum of its
  codes' log-probabilities. The history runs once; then the :class:`PrefixTrie` is
  walked level by level, and every distinct prefix takes one step with the cache
  (all of them in one batch), so an item costs about one token, not a sequence.
- :func:`constrained_beam_search`: keep the ``beam`` best prefixes per level, and
  allow only codes that lead to an item the user has not seen: every finished beam
  is a valid, unseen item. Cheaper, but it may miss the exact top-k;
  :func:`beam_against_exact` measures how often, and what each way costs.

The network is :class:`~recsys_tutorial.generative.retriever.CodeTransformer`; the
functions here re-run its blocks' arithmetic by hand with a cache (in evaluation mode
they give what its ``forward`` gives). Explained in :doc:`/notebooks/07_semantic_ids`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn

from ..sequential.sasrec import attention_mask

Cache = list[tuple[torch.Tensor, torch.Tensor]]  # per block: keys, values


class PrefixTrie:
    """The ID table as a tree: depth ``d`` holds the distinct prefixes of ``d`` codes.

    ``codes`` is ``(n_items, n_levels)`` (every row unique). Nodes of a depth are
    numbered in lexicographic order; ``parent[d]``, ``code[d]`` and ``item_node[d]``
    (the node of each item at depth ``d``) describe depth ``d`` (``d = 1..n_levels``;
    depth 0 is the root, node 0), and ``child[d]`` ``(nodes at d, sizes[d])`` gives the
    child reached by each code (``-1``: none). The leaves are the items. Chapter 07.
    """

    def __init__(self, codes: np.ndarray, sizes: Sequence[int] | None = None):
        codes = np.asarray(codes, dtype=np.int64)
        if codes.ndim != 2 or len(codes) == 0:
            raise ValueError("codes must be a non-empty (n_items, n_levels) array")
        self.codes = codes
        self.n_items, self.n_levels = codes.shape
        self.sizes = tuple(int(s) for s in (codes.max(0) + 1 if sizes is None else sizes))
        if len(self.sizes) != self.n_levels or (codes.max(0) >= self.sizes).any() or (codes < 0).any():
            raise ValueError("codes do not fit the codebook sizes")
        self.parent, self.code, self.item_node = [np.zeros(1, int)], [np.zeros(1, int)], []
        self.item_node.append(np.zeros(self.n_items, dtype=np.int64))
        for depth in range(1, self.n_levels + 1):
            prefixes, inverse = np.unique(codes[:, :depth], axis=0, return_inverse=True)
            parent = np.zeros(len(prefixes), dtype=np.int64)
            parent[inverse] = self.item_node[-1]
            self.parent.append(parent)
            self.code.append(prefixes[:, -1])
            self.item_node.append(inverse.reshape(-1))
        if len(self.code[-1]) != self.n_items:
            raise ValueError("two items share an ID: disambiguate the codes first")
        self.child = []
        for depth in range(self.n_levels):
            table = np.full((self.n_nodes(depth), self.sizes[depth]), -1, dtype=np.int64)
            table[self.parent[depth + 1], self.code[depth + 1]] = np.arange(self.n_nodes(depth + 1))
            self.child.append(table)
        self.leaf_item = np.empty(self.n_items, dtype=np.int64)
        self.leaf_item[self.item_node[-1]] = np.arange(self.n_items)

    def n_nodes(self, depth: int) -> int:
        """How many distinct prefixes of ``depth`` codes there are (1 at the root)."""
        return len(self.code[depth])

    def next_codes(self, prefix: Sequence[int], exclude: Iterable[int] = ()) -> np.ndarray:
        """The codes that may follow ``prefix``: those leading to at least one item not in
        ``exclude`` (sorted; empty for a full or unknown prefix). Chapter 07."""
        depth = len(prefix)
        if depth >= self.n_levels:
            return np.array([], dtype=np.int64)
        keep = (self.codes[:, :depth] == np.asarray(prefix, dtype=np.int64)).all(1)
        keep[np.fromiter(exclude, dtype=np.int64)] = False
        return np.unique(self.codes[keep, depth])

    def allowed(self, depth: int, seen: np.ndarray | sp.spmatrix) -> np.ndarray:
        """``(users, nodes at depth)``: which prefixes still lead to an item the user has
        not ``seen`` (a boolean or 0/1 ``(users, n_items)`` matrix). Chapter 07."""
        seen = sp.csr_matrix(seen, dtype=np.float32)
        members = sp.csr_matrix((np.ones(self.n_items, np.float32),
                                 (np.arange(self.n_items), self.item_node[depth])),
                                shape=(self.n_items, self.n_nodes(depth)))
        total = np.asarray(members.sum(0)).ravel()
        return np.asarray((seen @ members).todense()) < total


def _heads(t: torch.Tensor, heads: int) -> torch.Tensor:
    return t.unflatten(-1, (heads, -1))  # (..., dim) -> (..., heads, dim / heads)


def _qkv(block: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A :class:`~recsys_tutorial.sequential.sasrec.Block`'s queries (scaled), keys, values."""
    h = block.norm1(x)
    q, k, v = F.linear(h, block.attention.in_proj_weight, block.attention.in_proj_bias).chunk(3, -1)
    return q / (q.shape[-1] // block.attention.num_heads) ** 0.5, k, v


def _finish_block(block: nn.Module, x: torch.Tensor, attended: torch.Tensor) -> torch.Tensor:
    x = x + block.attention.out_proj(attended.flatten(-2))
    return x + block.feed_forward(block.norm2(x))


def encode_prefix(network: nn.Module, tokens: torch.Tensor) -> tuple[torch.Tensor, Cache]:
    """Run the histories ``(users, T)`` once: the last position's output ``(users, dim)``
    and each block's keys and values ``(users, heads, T, dim / heads)``. Chapter 07."""
    x = network.embed(tokens)
    blocked = attention_mask(tokens, causal=True)[:, None]  # (users, 1, T, T)
    cache: Cache = []
    for block in network.blocks:
        q, k, v = (_heads(t, network.heads).transpose(1, 2) for t in _qkv(block, x))
        weights = (q @ k.transpose(-1, -2)).masked_fill(blocked, float("-inf")).softmax(-1)
        x = _finish_block(block, x, (weights @ v).transpose(1, 2))
        cache.append((k, v))  # (users, heads, T, dim / heads)
    return network.norm(x[:, -1]), cache


def decode_step(network: nn.Module, tokens: torch.Tensor, level: int, positions: torch.Tensor,
                cache: Cache, pad: torch.Tensor, stacks: Cache | None) -> tuple[torch.Tensor, Cache]:
    """One step for ``P`` prefixes per user at once: ``tokens`` ``(users, P)`` are the
    prefixes' last codes (of ``level``); each attends to its user's history ``cache``
    (``pad`` ``(users, T)`` marks its padding) and to its own earlier codes (``stacks``:
    per block ``(users, P, j, heads, dim / heads)``). Returns the outputs
    ``(users, P, dim)`` and the stacks with this step appended. Chapter 07."""
    x = network.step_embed(tokens, level, positions)  # (users, P, dim)
    blocked = pad[:, None, None, :]  # (users, heads, P, T)
    out: Cache = []
    for i, block in enumerate(network.blocks):
        q, k, v = (_heads(t, network.heads) for t in _qkv(block, x))  # (users, P, heads, d)
        k, v = k[:, :, None], v[:, :, None]
        if stacks is not None:
            k, v = torch.cat([stacks[i][0], k], 2), torch.cat([stacks[i][1], v], 2)
        history_k, history_v = cache[i]
        q_heads = q.transpose(1, 2)  # (users, heads, P, d): one matrix product per user
        to_history = (q_heads @ history_k.transpose(-1, -2)).masked_fill(blocked, float("-inf"))
        to_own = torch.einsum("bphd,bpjhd->bhpj", q, k)
        weights = torch.cat([to_history, to_own], -1).softmax(-1)
        attended = weights[..., :pad.shape[1]] @ history_v
        attended = attended + torch.einsum("bhpj,bpjhd->bhpd", weights[..., pad.shape[1]:], v)
        x = _finish_block(block, x, attended.transpose(1, 2))
        out.append((k, v))
    return network.norm(x), out


def _gather(stacks: Cache, index: torch.Tensor) -> Cache:
    """The stacks of the prefixes ``index`` ``(users, P')`` (rows of dimension 1)."""
    take = lambda t: t.gather(1, index[..., None, None, None].expand(-1, -1, *t.shape[2:]))  # noqa: E731
    return [(take(k), take(v)) for k, v in stacks]


@torch.no_grad()
def exact_item_log_probs(network: nn.Module, trie: PrefixTrie, tokens: torch.Tensor,
                         unlearned: np.ndarray | None = None) -> torch.Tensor:
    """``log p(item | history)`` of every item, ``(users, n_items)``: the history runs once,
    then every prefix of the trie takes one cached step, level by level.

    ``unlearned`` (boolean over items, e.g. the items absent from training): for these
    the last, disambiguation code is not read from the model, which never saw it as a
    target, but shared evenly among the items of its prefix (``-log`` of their number).
    That makes the score a ranking score, no longer a distribution. Chapter 07.
    """
    users = len(tokens)
    device = tokens.device
    hidden, cache = encode_prefix(network, tokens)
    pad, positions = tokens == 0, network.next_position(tokens)
    scores = network.level_log_probs(hidden, 0)[:, torch.as_tensor(trie.code[1], device=device)]
    stacks, prefix_scores = None, torch.zeros((users, 1), device=device)
    for depth in range(1, trie.n_levels):
        codes = torch.as_tensor(trie.code[depth], device=device)
        step_tokens = network.code_tokens(codes, depth - 1).expand(users, -1)
        if stacks is not None:
            parents = torch.as_tensor(trie.parent[depth], device=device).expand(users, -1)
            stacks = _gather(stacks, parents)
        out, stacks = decode_step(network, step_tokens, depth - 1, positions, cache, pad, stacks)
        log_probs = network.level_log_probs(out, depth)  # (users, nodes, size)
        parent = torch.as_tensor(trie.parent[depth + 1], device=device)
        code = torch.as_tensor(trie.code[depth + 1], device=device)
        prefix_scores, scores = scores, scores[:, parent] + log_probs[:, parent, code]
    items = scores[:, torch.as_tensor(trie.item_node[-1], device=device)]
    if unlearned is not None and np.any(unlearned):
        leaf_parent = trie.parent[-1][trie.item_node[-1]]  # each item's prefix of content codes
        share = -np.log(np.bincount(leaf_parent)[leaf_parent])
        even = prefix_scores[:, torch.as_tensor(leaf_parent, device=device)] + torch.as_tensor(
            share, dtype=items.dtype, device=device)
        items = torch.where(torch.as_tensor(np.asarray(unlearned, bool), device=device), even, items)
    return items


@torch.no_grad()
def constrained_beam_search(network: nn.Module, trie: PrefixTrie, tokens: torch.Tensor,
                            seen: np.ndarray | sp.spmatrix | None = None, k: int = 10,
                            beam: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` items per history by beam search over the trie, ``(users, k)`` items and
    their log-probabilities (``-1`` and ``-inf`` where fewer than ``k`` were reached).

    At each level only the codes leading to an item not ``seen`` (``(users, n_items)``)
    are allowed, and the ``beam`` best prefixes are kept (the ``k`` best at the last
    level), so every item returned is valid and unseen. Chapter 07.
    """
    users, device = len(tokens), tokens.device
    seen = sp.csr_matrix((users, trie.n_items)) if seen is None else seen
    hidden, cache = encode_prefix(network, tokens)
    pad, positions = tokens == 0, network.next_position(tokens)
    nodes = torch.zeros((users, 1), dtype=torch.long, device=device)
    scores = torch.zeros((users, 1), device=device)
    out, stacks = hidden[:, None], None
    for depth in range(trie.n_levels):
        allowed = torch.as_tensor(trie.allowed(depth + 1, seen), device=device)
        children = torch.as_tensor(trie.child[depth], device=device)[nodes]  # (users, b, size)
        valid = (children >= 0) & torch.isfinite(scores)[..., None]
        valid &= allowed.gather(1, children.clamp(min=0).flatten(1)).view_as(children)
        candidates = (scores[..., None] + network.level_log_probs(out, depth)).masked_fill(
            ~valid, float("-inf"))
        width = min(k if depth == trie.n_levels - 1 else beam, candidates[0].numel())
        scores, flat = candidates.flatten(1).topk(width, dim=1)
        nodes = children.flatten(1).gather(1, flat)
        if depth == trie.n_levels - 1:
            break
        slot = flat // children.shape[-1]
        stacks = None if stacks is None else _gather(stacks, slot)
        codes = torch.as_tensor(trie.code[depth + 1], device=device)[nodes.clamp(min=0)]
        out, stacks = decode_step(network, network.code_tokens(codes, depth), depth,
                                  positions, cache, pad, stacks)
    items = torch.as_tensor(trie.leaf_item, device=device)[nodes.clamp(min=0)]
    found = torch.isfinite(scores)
    items = torch.where(found, items, -1)
    if width < k:
        items = F.pad(items, (0, k - width), value=-1)
        scores = F.pad(scores, (0, k - width), value=float("-inf"))
    return items.cpu().numpy(), scores.cpu().numpy()


def beam_against_exact(model: object, histories: Sequence[np.ndarray],
                       widths: Sequence[int] = (1, 5, 10, 20, 50), k: int = 10) -> pd.DataFrame:
    """How well beam search of each width finds the exact top-``k``, and what each costs.

    ``model`` is a fitted :class:`~recsys_tutorial.generative.retriever.GenerativeRetriever`
    (anything with ``score`` and ``beam_search``). Seen items are excluded both ways. One
    row per way: ``recall``, the share of the exact top-``k`` the beam returns (1 for
    exact scoring); ``all_found``, the share of users whose whole exact top-``k`` it
    returns; ``ms_per_user``, the wall-clock time per user. Chapter 07.
    """
    start = time.perf_counter()
    scores = model.score(histories)
    exact_ms = (time.perf_counter() - start) * 1000 / len(histories)
    for row, history in enumerate(histories):
        scores[row, np.asarray(history, dtype=np.int64)] = -np.inf
    exact = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    rows = [{"decoding": "exact", "beam": np.nan, "recall": 1.0, "all_found": 1.0,
             "ms_per_user": exact_ms}]
    for width in widths:
        start = time.perf_counter()
        found = model.beam_search(histories, k=k, beam=width)
        ms = (time.perf_counter() - start) * 1000 / len(histories)
        hits = np.array([len(np.intersect1d(f[f >= 0], e)) for f, e in zip(found, exact)])
        rows.append({"decoding": "beam", "beam": width, "recall": hits.mean() / k,
                     "all_found": float((hits == k).mean()), "ms_per_user": ms})
    return pd.DataFrame(rows)
