"""Decoding (chapter 07): the prefix trie, exact scoring against brute force, and
constrained beam search (only valid, unseen items; exact when the beam holds everything)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_tutorial.generative.decoding import (
    PrefixTrie,
    constrained_beam_search,
    encode_prefix,
    exact_item_log_probs,
)
from recsys_tutorial.generative.ids import disambiguate
from recsys_tutorial.generative.retriever import CodeTransformer, code_rows

pytestmark = pytest.mark.usefixtures("one_thread")


def random_codes(n_items: int, levels: int, codebook: int, seed: int) -> tuple[np.ndarray, tuple]:
    content = np.random.default_rng(seed).integers(codebook, size=(n_items, levels))
    codes = disambiguate(content)
    return codes, (*(codebook,) * levels, int(codes[:, -1].max()) + 1)


def tiny_model(sizes: tuple, seed: int, max_len: int = 4, heads: int = 1) -> CodeTransformer:
    torch.manual_seed(seed)
    network = CodeTransformer(sizes, max_len=max_len, dim=8, heads=heads, layers=2, dropout=0.0)
    for table in (network.codes, network.levels, network.positions):  # sharper than std 0.02
        torch.nn.init.normal_(table.weight, std=1.0)
    return network.eval()


def rows(codes: np.ndarray, sizes: tuple, histories: list[np.ndarray], max_len: int) -> torch.Tensor:
    item_tokens = codes + np.cumsum([0, *sizes[:-1]]) + 1
    return code_rows(item_tokens, histories, max_len, sum(sizes) + 1)


def brute_force(network: CodeTransformer, codes: np.ndarray, sizes: tuple,
                history_rows: torch.Tensor, levels: int | None = None) -> np.ndarray:
    """Run history + item codes through the network for every item separately (the
    log-probability of its first ``levels`` codes; all by default)."""
    item_tokens = torch.as_tensor(codes + np.cumsum([0, *sizes[:-1]]) + 1)
    out = np.zeros((len(history_rows), len(codes)))
    with torch.no_grad():
        for u, row in enumerate(history_rows):
            for item, tokens in enumerate(item_tokens):
                hidden = network(torch.cat([row, tokens])[None])[0, len(row) - 1:]
                out[u, item] = sum(float(network.level_log_probs(hidden[level], level)[code])
                                   for level, code in enumerate(codes[item][:levels]))
    return out


def test_trie_describes_the_table():
    codes = np.array([[0, 1, 0], [0, 1, 1], [0, 2, 0], [1, 0, 0]])
    trie = PrefixTrie(codes)
    assert [trie.n_nodes(d) for d in range(4)] == [1, 2, 3, 4]
    assert trie.next_codes([]).tolist() == [0, 1]
    assert trie.next_codes([0]).tolist() == [1, 2]
    assert trie.next_codes([0, 1], exclude=[0]).tolist() == [1]
    assert trie.next_codes([0, 2], exclude=[2]).tolist() == []
    assert trie.next_codes([1, 1]).tolist() == []  # not a prefix of any item
    allowed = trie.allowed(2, np.array([[1, 1, 0, 0], [0, 0, 1, 1]]))
    assert allowed.tolist() == [[False, True, True], [True, False, False]]
    assert (trie.leaf_item[trie.item_node[-1]] == np.arange(4)).all()
    with pytest.raises(ValueError, match="share"):
        PrefixTrie(np.array([[0, 1], [0, 1]]))


@pytest.mark.parametrize("heads", [1, 2])
def test_exact_scoring_equals_brute_force(heads):
    codes, sizes = random_codes(n_items=12, levels=2, codebook=3, seed=0)
    network = tiny_model(sizes, seed=1, heads=heads)
    histories = [np.array([3, 5, 1]), np.array([], dtype=np.int64), np.arange(12)[::-1], np.array([7])]
    tokens = rows(codes, sizes, histories, max_len=4)
    exact = exact_item_log_probs(network, PrefixTrie(codes, sizes), tokens).numpy()
    np.testing.assert_allclose(exact, brute_force(network, codes, sizes, tokens), atol=1e-5)
    assert (np.exp(exact).sum(1) <= 1 + 1e-5).all()  # a distribution over (valid) items


def test_unlearned_items_share_their_prefix_evenly():
    codes, sizes = random_codes(n_items=15, levels=2, codebook=3, seed=4)
    network = tiny_model(sizes, seed=2)
    tokens = rows(codes, sizes, [np.array([1, 2, 3]), np.array([], dtype=np.int64)], max_len=4)
    unlearned = np.zeros(15, dtype=bool)
    unlearned[[0, 5, 14]] = True
    trie = PrefixTrie(codes, sizes)
    scores = exact_item_log_probs(network, trie, tokens, unlearned).numpy()
    exact = exact_item_log_probs(network, trie, tokens).numpy()
    np.testing.assert_array_equal(scores[:, ~unlearned], exact[:, ~unlearned])
    prefix = brute_force(network, codes, sizes, tokens, levels=2)[:, unlearned]
    group = [(codes[:, :2] == codes[i, :2]).all(1).sum() for i in np.flatnonzero(unlearned)]
    np.testing.assert_allclose(scores[:, unlearned], prefix - np.log(group), atol=1e-5)


def test_prefix_cache_matches_the_forward_pass():
    codes, sizes = random_codes(n_items=10, levels=2, codebook=4, seed=2)
    network = tiny_model(sizes, seed=3, heads=2)
    tokens = rows(codes, sizes, [np.array([1, 2]), np.array([4, 5, 6, 7, 8])], max_len=4)
    hidden, cache = encode_prefix(network, tokens)
    with torch.no_grad():
        torch.testing.assert_close(hidden, network(tokens)[:, -1], atol=1e-5, rtol=0)
    assert len(cache) == 2 and cache[0][0].shape == (2, 2, tokens.shape[1], 4)  # users, heads, T, d


@settings(max_examples=25, deadline=None)
@given(n_items=st.integers(2, 20), levels=st.integers(1, 3), codebook=st.integers(2, 4),
       beam=st.integers(1, 6), k=st.integers(1, 8), seed=st.integers(0, 10_000))
def test_constrained_beam_search_emits_only_valid_unseen_items(n_items, levels, codebook, beam, k, seed):
    codes, sizes = random_codes(n_items, levels, codebook, seed)
    network = tiny_model(sizes, seed)
    rng = np.random.default_rng(seed)
    histories = [rng.choice(n_items, size=rng.integers(0, n_items), replace=False) for _ in range(4)]
    seen = np.zeros((len(histories), n_items), dtype=bool)
    for u, history in enumerate(histories):
        seen[u, history] = True
    trie = PrefixTrie(codes, sizes)
    items, scores = constrained_beam_search(network, trie, rows(codes, sizes, histories, 4), seen,
                                            k=k, beam=beam)
    assert items.shape == scores.shape == (len(histories), k)
    for u in range(len(histories)):
        found = items[u][items[u] >= 0]
        assert ((found >= 0) & (found < n_items)).all()
        for item in found:  # every code of its ID was a valid next code for this user
            assert all(codes[item, d] in trie.next_codes(codes[item, :d], exclude=histories[u])
                       for d in range(codes.shape[1]))
        assert not seen[u, found].any(), "beam search returned a seen item"
        assert len(set(found.tolist())) == len(found), "an item returned twice"
        assert (items[u][len(found):] == -1).all() and (np.diff(scores[u][:len(found)]) <= 1e-6).all()
        assert len(found) >= min(1, (~seen[u]).sum())  # something, while unseen items remain


@pytest.mark.parametrize("levels", [1, 2, 3])
def test_beam_as_wide_as_the_catalogue_is_exact(levels):
    codes, sizes = random_codes(n_items=30, levels=levels, codebook=3, seed=levels)
    network = tiny_model(sizes, seed=5)
    histories = [np.array([0, 4, 9]), np.array([], dtype=np.int64), np.arange(0, 30, 2)]
    seen = np.zeros((3, 30), dtype=bool)
    for u, history in enumerate(histories):
        seen[u, history] = True
    tokens = rows(codes, sizes, histories, max_len=4)
    trie = PrefixTrie(codes, sizes)
    exact = exact_item_log_probs(network, trie, tokens).numpy()
    items, scores = constrained_beam_search(network, trie, tokens, seen, k=10, beam=30)
    exact[seen] = -np.inf
    top = np.argsort(-exact, axis=1, kind="stable")[:, :10]
    assert (items == top).all()
    np.testing.assert_allclose(scores, np.take_along_axis(exact, top, 1), atol=1e-5)
