"""One command that reproduces every number in the book.

``python -m recsys_tutorial bench --models pop,markov,itemknn --data-dir DIR --out
results.json`` fits each registered model on the course's split of MovieLens-100k,
evaluates it with the shared protocol and writes one JSON object per model. Chapters
add their models to :data:`MODELS`. Introduced in
:doc:`/notebooks/01_next_item_as_language_modelling`.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from .baselines import ItemKNN, Markov, Popularity
from .data import MovieLens, load_movielens_100k
from .embeddings.glove import GloVe
from .embeddings.item2vec import Item2Vec
from .metrics import Recommender, evaluate
from .sequential.bert4rec import BERT4Rec
from .sequential.gru4rec import GRU4Rec
from .sequential.sasrec import SASRec
from .split import LeaveOneOutSplit, leave_one_out_split
from .text.content import ContentRecommender
from .text.encoder import catalogue_embeddings
from .text.sasrec import TextSASRec

Factory = Callable[[MovieLens, int], Recommender]

# chapter 04: the sequence models' configurations, chosen on the validation targets only
# (SASRec-BCE uses SASRec's). An epoch cuts every history into windows (window="all"), so
# every model sees each training transition once per epoch. GRU4Rec's learning rate,
# dropout and epochs were chosen on validation too (here it needed a larger step than
# the transformer). BERT4Rec's budget of epochs keeps the chapter short (not tuned; it
# is known to need far longer). Every sequence model trains for a fixed number of epochs
# (no time box), so its numbers do not depend on the machine's load; the best evaluated
# epoch (on validation) is restored.
SASREC_CONFIG: Mapping[str, object] = MappingProxyType(
    dict(max_len=50, window="all", dropout=0.3, lr=2e-3, epochs=24, eval_every=3, time_budget=None)
)
GRU4REC_CONFIG: Mapping[str, object] = MappingProxyType(
    dict(max_len=50, window="all", dropout=0.1, lr=5e-3, epochs=21, eval_every=3, time_budget=None)
)
BERT4REC_CONFIG: Mapping[str, object] = MappingProxyType(
    dict(max_len=50, window="all", lr=2e-3, epochs=10, eval_every=5, time_budget=None)
)

MODELS: Mapping[str, Factory] = MappingProxyType(
    {
        "pop": lambda data, seed: Popularity(),
        "markov": lambda data, seed: Markov(),
        "itemknn": lambda data, seed: ItemKNN(neighbours=10),
        "gru4rec": lambda data, seed: GRU4Rec(**GRU4REC_CONFIG, seed=seed),
        "sasrec": lambda data, seed: SASRec(**SASREC_CONFIG, seed=seed),
        "sasrec_bce": lambda data, seed: SASRec(**SASREC_CONFIG, loss="bce", seed=seed),
        "bert4rec": lambda data, seed: BERT4Rec(**BERT4REC_CONFIG, seed=seed),
        # chapter 02: gensim's defaults (skip-gram, every item kept), and the configuration
        # chosen on validation by the chapter's search
        "item2vec_default": lambda data, seed: Item2Vec(seed=seed),
        "item2vec": lambda data, seed: Item2Vec(
            vector_size=64, window=5, ns_exponent=0.0, epochs=10, side="in-out", similarity="dot",
            last=1, seed=seed,
        ),
        "glove": lambda data, seed: GloVe(seed=seed),
        # chapter 05: item text from the catalogue, encoded by the bundled sentence encoder
        # (or $RECSYS_TUTORIAL_TEXT_MODEL); the content model's decay chosen on validation
        "content": lambda data, seed: ContentRecommender(catalogue_embeddings(data.items), decay=0.2),
        "text_sasrec": lambda data, seed: TextSASRec(
            item_vectors=catalogue_embeddings(data.items), max_len=50, lr=3e-3, epochs=10, seed=seed,
        ),
        "text_id_sasrec": lambda data, seed: TextSASRec(
            item_vectors=catalogue_embeddings(data.items), use_ids=True, id_dropout=0.5, max_len=50,
            lr=3e-3, epochs=10, seed=seed,
        ),
    }
)


def fit_evaluate(
    name: str, model: Recommender, split: LeaveOneOutSplit, k: int = 10
) -> dict[str, float | str]:
    """Fit on ``split.train``; evaluate on validation and test. One results-table row.

    Every model gets the split as ``valid``, for early stopping on its validation
    targets (never the test targets); see :mod:`recsys_tutorial.protocol`.

    Explained in chapter 01.
    """
    start = time.perf_counter()
    model.fit(split.train, valid=split)
    fit_seconds = time.perf_counter() - start
    valid = evaluate(model, split, "valid", k=k)
    test = evaluate(model, split, "test", k=k)
    row: dict[str, float | str] = {"model": name}
    for key in (f"hr@{k}", f"ndcg@{k}", f"mrr@{k}", f"coverage@{k}", f"popularity@{k}"):
        row[key] = test[key]
    row[f"valid_ndcg@{k}"] = valid[f"ndcg@{k}"]
    row["fit_seconds"] = fit_seconds
    row["eval_seconds"] = test["eval_seconds"]
    row["split_fingerprint"] = split.fingerprint
    return row


def run(names: list[str], data_dir: str | None, seed: int = 0) -> list[dict[str, float | str]]:
    """Fit and evaluate the named models on the course's split."""
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        raise SystemExit(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)}")
    data = load_movielens_100k(data_dir)
    split = leave_one_out_split(data.interactions)
    return [fit_evaluate(name, MODELS[name](data, seed), split) for name in names]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recsys_tutorial", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    bench = sub.add_parser("bench", help="fit and evaluate models on MovieLens-100k")
    bench.add_argument("--models", default="pop,markov,itemknn",
                       help=f"comma-separated, from: {', '.join(MODELS)}")
    bench.add_argument("--data-dir", default=None,
                       help="directory holding ml-100k/ (default: $RECSYS_TUTORIAL_DATA or the cache)")
    bench.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    bench.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rows = run([m.strip() for m in args.models.split(",") if m.strip()], args.data_dir, args.seed)
    table = pd.DataFrame(rows).set_index("model")
    print(table.drop(columns="split_fingerprint").round(4).to_string())
    print(f"split fingerprint: {rows[0]['split_fingerprint']}")
    if args.out is not None:
        tmp = args.out.with_suffix(args.out.suffix + ".tmp")
        tmp.write_text(json.dumps(rows, indent=2))
        tmp.replace(args.out)
        print(f"wrote {args.out}")
    return 0
