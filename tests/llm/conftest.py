"""Chapter 06's fakes: a randomly initialised tiny Llama behind a character tokenizer."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import torch

from recsys_tutorial import leave_one_out_split, make_platform


class CharTokenizer:
    """Just what the ranking code reads from a tokenizer."""

    pad_token_id = 0
    eos_token = ""

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = True) -> str:
        return "".join(chr(int(i)) for i in ids)


class TinyChat:
    """A :class:`~recsys_tutorial.llm.LanguageModel`: a tiny Llama from a config (the same
    code path as the real model), one token per character, a plain chat prompt."""

    def __init__(self) -> None:
        from transformers import LlamaConfig, LlamaForCausalLM

        torch.manual_seed(0)
        config = LlamaConfig(vocab_size=300, hidden_size=64, intermediate_size=128,
                             num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                             max_position_embeddings=1024)
        self.model = LlamaForCausalLM(config).eval()
        self.tokenizer = CharTokenizer()
        self.device = torch.device("cpu")
        self.name = "tiny"

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def encode(self, text: str) -> list[int]:
        return [ord(ch) % 290 + 3 for ch in text]

    def chat_prompt(self, user: str, system: str | None = None, answer_prefix: str = "",
                    examples: Sequence[tuple[str, str]] = ()) -> str:
        turns = [q + "\n" + a for q, a in examples]
        return "\n".join([system or "", *turns, user, ""]) + answer_prefix


@pytest.fixture(scope="module")
def tiny():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tests run in parallel workers; avoid oversubscription
    yield TinyChat()
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def split():
    return leave_one_out_split(make_platform(n_users=60, n_items=80, seed=1).interactions)
