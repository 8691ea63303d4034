"""Chapter 06: the LanguageModel protocol, chat-template prompts, titles, the re-ranker."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from recsys_tutorial import Popularity
from recsys_tutorial import llm as L
from recsys_tutorial.protocol import NotFittedError
from recsys_tutorial.utils import cache_dir

# -- the protocol ---------------------------------------------------------------------------


def test_the_fake_and_llm_satisfy_the_protocol(tiny):
    assert isinstance(tiny, L.LanguageModel)
    llm = L.LLM(tiny.model, tiny.tokenizer, "tiny", tiny.device)
    assert isinstance(llm, L.LanguageModel)
    assert llm.n_parameters == tiny.n_parameters == sum(p.numel() for p in tiny.model.parameters())


def test_an_object_without_a_chat_prompt_is_not_a_language_model(tiny):
    class NoChat:
        model, tokenizer, device, name, n_parameters = tiny.model, tiny.tokenizer, tiny.device, "x", 1

        def encode(self, text):
            return [1]

    assert not isinstance(NoChat(), L.LanguageModel)


# -- prompts through the chat template ----------------------------------------------------------

SMOLLM2 = cache_dir("llm", L.CACHE_ENV_VAR) / Path(L.DEFAULT_GGUF).stem


@pytest.fixture(scope="module")
def smollm2() -> L.LLM:
    """The bundled SmolLM2 tokenizer (dequantized once by load_llm), without its weights."""
    if not (SMOLLM2 / "tokenizer_config.json").exists():
        pytest.skip(f"no dequantized SmolLM2 in {SMOLLM2}: run load_llm() once")
    from transformers import AutoTokenizer

    return L.LLM(None, AutoTokenizer.from_pretrained(SMOLLM2), "SmolLM2", torch.device("cpu"))


def test_the_chat_template_writes_chatml(smollm2):
    prompt = smollm2.chat_prompt("Hi?", system=L.SYSTEM, examples=[("Q?", "A.")], answer_prefix="[")
    assert prompt == (
        "<|im_start|>system\nYou are a movie recommender system.<|im_end|>\n"
        "<|im_start|>user\nQ?<|im_end|>\n<|im_start|>assistant\nA.<|im_end|>\n"
        "<|im_start|>user\nHi?<|im_end|>\n<|im_start|>assistant\n["
    )


def test_shared_chat_prompts_cut_after_the_history(smollm2):
    head = L.history_message(["Heat (1995)", "Casino (1995)"])
    shared, rests = L.shared_chat_prompts(smollm2, head, ["Would I enjoy Babe (1995)?", "Yes?"])
    # the text chapter 06 once wrote by hand, special tokens included
    assert shared == (
        "<|im_start|>system\nYou are a movie recommender system.<|im_end|>\n<|im_start|>user\n"
        "I have watched these movies, in this order:\n- Heat (1995)\n- Casino (1995)\n\n"
    )
    assert rests == ["Would I enjoy Babe (1995)?<|im_end|>\n<|im_start|>assistant\n",
                     "Yes?<|im_end|>\n<|im_start|>assistant\n"]
    turn = smollm2.encode("<|im_end|>\n<|im_start|>assistant\n")
    assert smollm2.encode(rests[0])[-len(turn):] == turn
    assert len(smollm2.encode("<|im_end|>")) == 1, "a special token, not its characters"


def test_shared_chat_prompts_rebuild_every_prompt(tiny):
    head, tails = "history\n\n", ["one?", "two, longer?", ""]
    shared, rests = L.shared_chat_prompts(tiny, head, tails, system="sys")
    for tail, rest in zip(tails, rests):
        assert shared + rest == tiny.chat_prompt(head + tail, system="sys")
    with pytest.raises(ValueError, match="at least one"):
        L.shared_chat_prompts(tiny, head, [])


def test_shared_chat_prompts_refuse_a_template_that_rewrites_the_message(tiny):
    class Shouting(type(tiny)):
        def chat_prompt(self, user, system=None, answer_prefix="", examples=()):
            return super().chat_prompt(user.upper(), system, answer_prefix, examples)

    shouting = Shouting.__new__(Shouting)
    shouting.__dict__.update(tiny.__dict__)
    with pytest.raises(ValueError, match="changed the message"):
        L.shared_chat_prompts(shouting, "history ", ["a?"])


def test_prompts_share_the_history_message():
    history = ["Toy Story (1995)"]
    assert L.history_message(history) == "I have watched these movies, in this order:\n- Toy Story (1995)\n\n"
    assert L.likelihood_message(history) == (
        L.history_message(history) + "Which movie will I watch next? Answer with its title only.")
    assert L.listwise_message(history, ["Heat (1995)"], top=1).startswith(L.history_message(history))
    assert L.history_message([]).endswith("- (nothing yet)\n\n")


@pytest.mark.parametrize("raw, clean", [
    ("Godfather, The (1972)", "The Godfather (1972)"),
    ("Enfer, L' (1994)", "L'Enfer (1994)"),
    ("City of Lost Children, The (Cité des enfants perdus, La) (1995)", "The City of Lost Children (1995)"),
    ("Heat (1995)", "Heat (1995)"),
])
def test_title_answer_is_the_clean_title_and_the_end_of_turn(tiny, raw, clean):
    tiny.tokenizer.eos_token = "<eot>"
    try:
        assert L.title_answer(tiny, raw) == clean + "<eot>"
        assert L.title_answer(tiny, clean) == clean + "<eot>"  # cleaning twice changes nothing
    finally:
        tiny.tokenizer.eos_token = ""


# -- candidate sets ------------------------------------------------------------------------------


def test_take_reorders_every_field_together(split):
    sets = L.sample_candidates(split, "test", n_users=10, seed=0)
    order = np.random.default_rng(0).permutation(len(sets))
    taken = sets.take(order)
    assert np.array_equal(taken.users, sets.users[order])
    assert np.array_equal(taken.candidates, sets.candidates[order])
    assert np.array_equal(taken.targets, sets.targets[order])
    assert (taken.stage, taken.seed) == (sets.stage, sets.seed)
    assert np.array_equal(sets.head(3).candidates, sets.take(np.arange(3)).candidates)


# -- retrieve, then re-rank: the course's model protocol -------------------------------------------


@pytest.fixture(scope="module")
def reranker(tiny, split):
    titles = [f"Film {i} ({1950 + i})" for i in range(split.n_items)]
    return L.ReRanker(Popularity(), tiny, titles, k=5, history_items=3, progress=False)


def test_reranker_follows_the_model_protocol(reranker, split, tiny):
    with pytest.raises(NotFittedError):
        reranker.score([np.array([0])])
    assert reranker.fit(split.train, valid=split) is reranker
    histories = [np.array([], dtype=np.int64), np.array([1]), *split.histories("test")[:2]]
    scores = reranker.score(histories)
    assert scores.shape == (len(histories), split.n_items) and scores.dtype == np.float64
    assert np.isfinite(scores).all()
    assert np.array_equal(scores, reranker.score(histories)), "deterministic"
    assert reranker.n_parameters == split.n_items + tiny.n_parameters  # counts + weights


def test_reranker_reorders_only_the_retrievers_top_k(reranker, split):
    reranker.fit(split.train)
    histories = split.histories("test")[:3]
    base = reranker.retriever.score(histories)
    scores = reranker.score(histories)
    for r, history in enumerate(histories):
        masked = base[r].copy()
        masked[history] = -np.inf
        top = set(np.argsort(-masked, kind="stable")[:5].tolist())
        assert set(np.argsort(-scores[r], kind="stable")[:5].tolist()) == top
