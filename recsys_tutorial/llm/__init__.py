"""A language model as a zero-shot ranker.

Chapter 06, :doc:`/notebooks/06_llm_zero_shot_ranker`. The files, in reading order:

- :mod:`~recsys_tutorial.llm.model`: what the code needs of a language model
  (:class:`~recsys_tutorial.llm.model.LanguageModel`), and one implementation;
- :mod:`~recsys_tutorial.llm.candidates`: 20 candidates per user;
- :mod:`~recsys_tutorial.llm.prompts`: the user's recent titles and the candidates, as chat
  messages;
- :mod:`~recsys_tutorial.llm.parsing`: a generated ranking read back as a full permutation;
- :mod:`~recsys_tutorial.llm.likelihood`: likelihood scoring that shares the prompt's key/value
  cache;
- :mod:`~recsys_tutorial.llm.ranking`: ranking every sampled user, listwise or by likelihood;
- :mod:`~recsys_tutorial.llm.evaluation`: metrics on candidates, position bias, bootstrap
  intervals;
- :mod:`~recsys_tutorial.llm.finetune`: few-shot fine-tuning from the training split;
- :mod:`~recsys_tutorial.llm.rerank`: retrieve, then re-rank.
"""

from ..metrics import bootstrap_interval
from .candidates import CandidateSets, move_target, sample_candidates
from .evaluation import (
    aggregate_shuffles,
    candidate_metrics,
    candidate_metrics_per_user,
    restrict_to_candidates,
    shuffled_sets,
)
from .finetune import Example, FineTuneLog, few_shot_examples, fine_tune
from .likelihood import (
    PrefixState,
    encode_prefix,
    extend_prefix,
    generate_from,
    score_continuations,
    score_continuations_naive,
)
from .model import (
    CACHE_ENV_VAR,
    DEFAULT_GGUF,
    DEFAULT_NAME,
    DEFAULT_PACKAGE,
    LLM,
    LanguageModel,
    default_gguf_path,
    fast_dtype,
    load_llm,
)
from .parsing import ParsedRanking, order_to_scores, parse_ranking
from .prompts import (
    LISTWISE_EXAMPLE,
    SYSTEM,
    history_message,
    likelihood_message,
    listwise_message,
    recent_titles,
    shared_chat_prompts,
    title_answer,
)
from .ranking import LLMRankings, first_choice_scores, rank_with_llm, user_prompts
from .rerank import ReRanker, evaluate_users

__all__ = [
    "CACHE_ENV_VAR",
    "CandidateSets",
    "DEFAULT_GGUF",
    "DEFAULT_NAME",
    "DEFAULT_PACKAGE",
    "Example",
    "FineTuneLog",
    "LISTWISE_EXAMPLE",
    "LLM",
    "LLMRankings",
    "LanguageModel",
    "ParsedRanking",
    "PrefixState",
    "ReRanker",
    "SYSTEM",
    "aggregate_shuffles",
    "bootstrap_interval",
    "candidate_metrics",
    "candidate_metrics_per_user",
    "default_gguf_path",
    "encode_prefix",
    "evaluate_users",
    "extend_prefix",
    "fast_dtype",
    "few_shot_examples",
    "fine_tune",
    "first_choice_scores",
    "generate_from",
    "history_message",
    "likelihood_message",
    "listwise_message",
    "load_llm",
    "move_target",
    "order_to_scores",
    "parse_ranking",
    "rank_with_llm",
    "recent_titles",
    "restrict_to_candidates",
    "sample_candidates",
    "score_continuations",
    "score_continuations_naive",
    "shared_chat_prompts",
    "shuffled_sets",
    "title_answer",
    "user_prompts",
]
