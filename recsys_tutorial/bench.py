"""One command that reproduces the book's results tables.

``python -m recsys_tutorial bench --models pop,markov,itemknn --data-dir DIR --out
results.json`` fits each registered model on the course's split of MovieLens-100k,
evaluates it with the shared protocol (every item ranked, seen items excluded) and
writes one JSON object per model; ``--models all`` runs every registered name.

Bench covers the full-ranking recommenders: those of chapters 00, 01, 02, 04 and 05
are registered in :data:`MODELS` with the configurations the chapters chose on
validation, and chapters 00 to 02 and 04 build their results rows with
:func:`fit_evaluate`. Chapter 05 reports its models on its own cold-start split
(:mod:`recsys_tutorial.coldstart`), so bench's rows for them, on the course's split,
are a reference beside that table rather than a copy of it. Chapter 03 predicts
clicks, not next items: its table comes from its own registry,
:mod:`recsys_tutorial.ctr.experiments`, which bench runs as well (names ``ctr:lr``,
``ctr:fm``, ...; included in ``all``) on that chapter's time split. Chapter 06 ranks a
sampled set of candidates per user with a language model, not the full catalogue, so
it is not in bench: its notebook is the record of its numbers. Introduced in
:doc:`/notebooks/01_next_item_as_language_modelling`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from .baselines import ItemKNN, Markov, Popularity
from .classic import ALS, EASE
from .ctr import experiments as ctr_experiments
from .data import MovieLens
from .datasets import load_dataset
from .embeddings.glove import GloVe
from .embeddings.item2vec import Item2Vec
from .embeddings.sgns import SGNS
from .generative.retriever import GenerativeRetriever
from .metrics import bootstrap_interval, evaluate, rank_frame
from .protocol import Recommender
from .retrieval.two_tower import TwoTower
from .sequential.bert4rec import BERT4Rec
from .sequential.gru4rec import GRU4Rec
from .sequential.sasrec import SASRec
from .split import LeaveOneOutSplit, leave_one_out_split
from .text.content import ContentRecommender
from .text.encoder import catalogue_embeddings
from .text.sasrec import TextSASRec
from .utils import atomic_path, select_device

Factory = Callable[[MovieLens, int], Recommender]

# chapter 04: the sequence models' configurations, chosen on the validation targets only
# (SASRec-BCE uses SASRec's). An epoch cuts every history into windows (window="all"), so
# every model sees each training transition once per epoch. GRU4Rec's learning rate,
# dropout and epochs were chosen on validation too (here it needed a larger step than
# the transformer). BERT4Rec's budget of epochs keeps the chapter short (not tuned; it
# is known to need far longer). Every sequence model trains for a fixed number of epochs
# (no time box), so its numbers do not depend on the machine's load; the best evaluated
# epoch (on validation) is restored.
# SASRec's validation curve is flat from about epoch 30 (a 60-epoch run gained nothing
# after it); batches of 32 windows give four times the steps per epoch of 128.
SASREC_CONFIG: Mapping[str, object] = MappingProxyType(
    dict(max_len=50, window="all", dropout=0.2, lr=2e-3, batch_size=32, epochs=36, eval_every=3,
         time_budget=None)
)
GRU4REC_CONFIG: Mapping[str, object] = MappingProxyType(
    dict(max_len=50, window="all", dropout=0.1, lr=5e-3, epochs=21, eval_every=3, time_budget=None)
)
BERT4REC_CONFIG: Mapping[str, object] = MappingProxyType(
    dict(max_len=50, window="all", lr=2e-3, epochs=10, eval_every=5, time_budget=None)
)

#: Every registered recommender: name -> factory ``(data, seed) -> model``.
#:
#: :meta hide-value:
MODELS: Mapping[str, Factory] = MappingProxyType(
    {
        "pop": lambda data, seed: Popularity(),
        "markov": lambda data, seed: Markov(),
        "itemknn": lambda data, seed: ItemKNN(neighbours=10),
        # chapter 00: item-kNN's default neighbourhood, in the sampled-metrics lesson
        "itemknn_100": lambda data, seed: ItemKNN(neighbours=100),
        # chapter 08: strong classic baselines, their defaults chosen on validation
        "ease": lambda data, seed: EASE(),
        "mf": lambda data, seed: ALS(seed=seed),
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
        # chapter 02: the hand-written skip-gram (3 epochs, window 3), scored as item2vec
        # by default and then as the tuned item2vec is (its own next-item prediction)
        "sgns": lambda data, seed: SGNS(window=3, epochs=3, seed=seed),
        "sgns_tuned": lambda data, seed: SGNS(
            window=3, epochs=3, side="in-out", similarity="dot", last=1, seed=seed
        ),
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
        # chapter 07: generative retrieval over semantic IDs built from the same item text
        # vectors (RQ-KMeans, RQ-VAE), and over random IDs of the same shape (the ablation);
        # the retriever's defaults are the configuration the chapter chose on validation
        "tiger_rqkmeans": lambda data, seed: GenerativeRetriever(
            item_vectors=catalogue_embeddings(data.items), id_method="rq-kmeans", seed=seed,
        ),
        "tiger_rqvae": lambda data, seed: GenerativeRetriever(
            item_vectors=catalogue_embeddings(data.items), id_method="rq-vae", seed=seed,
        ),
        "tiger_random": lambda data, seed: GenerativeRetriever(id_method="random", seed=seed),
        # chapter 08: the two-tower retriever over the same text vectors; its defaults are the
        # configuration chosen on validation (in-batch softmax with the logQ correction),
        # and the same towers trained without the correction and with the full softmax
        "two_tower": lambda data, seed: TwoTower(item_vectors=catalogue_embeddings(data.items), seed=seed),
        "two_tower_no_logq": lambda data, seed: TwoTower(
            item_vectors=catalogue_embeddings(data.items), loss="in-batch", seed=seed,
        ),
        "two_tower_full": lambda data, seed: TwoTower(
            item_vectors=catalogue_embeddings(data.items), loss="full", seed=seed,
        ),
    }
)


Row = dict[str, float | int | str]


def fit_evaluate(name: str, model: Recommender, split: LeaveOneOutSplit, k: int = 10) -> Row:
    """Fit on ``split.train``; evaluate on validation and test. One results-table row.

    Every model gets the split as ``valid``, for early stopping on its validation
    targets (never the test targets); see :mod:`recsys_tutorial.protocol`. The row is
    :func:`evaluate_row`'s, with the time the fit took.

    Explained in chapter 01.
    """
    start = time.perf_counter()
    model.fit(split.train, valid=split)
    return evaluate_row(name, model, split, k, fit_seconds=time.perf_counter() - start)


def evaluate_row(
    name: str, model: Recommender, split: LeaveOneOutSplit, k: int = 10,
    fit_seconds: float = math.nan,
) -> Row:
    """The row of :func:`fit_evaluate` for a model already fitted on ``split.train``.

    Test HR, NDCG, MRR, coverage and popularity at ``k``, validation NDCG, the model's
    ``n_parameters``, fit and evaluation seconds, and the split's fingerprint. For
    models that share one fit (the same vectors scored two ways, in chapter 02).

    Explained in chapter 01.
    """
    valid = evaluate(model, split, "valid", k=k)
    test = evaluate(model, split, "test", k=k)
    row: Row = {"model": name}
    for key in (f"hr@{k}", f"ndcg@{k}", f"mrr@{k}", f"coverage@{k}", f"popularity@{k}"):
        row[key] = test[key]
    row[f"valid_ndcg@{k}"] = valid[f"ndcg@{k}"]
    row["n_parameters"] = model.n_parameters
    row["fit_seconds"] = fit_seconds
    row["eval_seconds"] = test["eval_seconds"]
    row["split_fingerprint"] = split.fingerprint
    return row


def per_user(name: str, model: Recommender, split: LeaveOneOutSplit, seed: int = 0,
             k: int = 10) -> pd.DataFrame:
    """A fitted model's HR and NDCG@k for every user, on the validation and the test
    targets (one row per model, seed, stage and user), for :func:`paired_bootstrap`.

    Explained in chapter 04.
    """
    frames = [rank_frame(model, split, stage, k)[["user", f"hr@{k}", f"ndcg@{k}"]]
              .assign(model=name, seed=seed, stage=stage) for stage in ("valid", "test")]
    return pd.concat(frames, ignore_index=True)[["model", "seed", "stage", "user",
                                                 f"hr@{k}", f"ndcg@{k}"]]


def paired_bootstrap(a: np.ndarray, b: np.ndarray, n_boot: int = 2000, level: float = 0.95,
                     seed: int = 0) -> tuple[float, float, float]:
    """Mean of the per-user differences ``a - b`` (the same users, in the same order) and
    its percentile bootstrap interval, users resampled with replacement. An interval
    that excludes zero says that the gap is larger than the users' sampling noise.

    Explained in chapter 04.
    """
    diff = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if diff.ndim != 1 or len(diff) == 0:
        raise ValueError("a and b must be non-empty vectors of per-user values of equal length")
    low, high = bootstrap_interval(diff, n_boot=n_boot, level=level, seed=seed)
    return float(diff.mean()), low, high


def over_seeds(rows: list[Row]) -> pd.DataFrame:
    """Mean and standard deviation (``ddof=1``) over seeds of each model's numeric
    columns, from the rows of :func:`run` with several seeds. Explained in chapter 04."""
    table = pd.DataFrame(rows).drop(columns=["seed", "split_fingerprint"], errors="ignore")
    numeric = table.select_dtypes("number").columns
    summary = table.groupby("model", sort=False)[list(numeric)].agg(["mean", "std"])
    summary["seeds"] = table.groupby("model", sort=False).size()
    return summary


def settings(model: object) -> dict[str, object]:
    """A model's configuration: its dataclass fields, without the fitted state (the
    names ending in ``_``). Chapters compare their choices with bench's through it.

    Explained in chapter 02.
    """
    return {f.name: getattr(model, f.name) for f in dataclasses.fields(model) if not f.name.endswith("_")}


CTR = "ctr:"  # prefix of the names of chapter 03's models (recsys_tutorial.ctr.experiments)


def every_name() -> list[str]:
    """All the names bench knows: :data:`MODELS`, then chapter 03's as ``ctr:NAME``. Chapter 01."""
    return [*MODELS, *(CTR + name for name in ctr_experiments.MODELS)]


def model_names(names: list[str]) -> list[str]:
    """The registered names asked for, each once, in order; ``"all"`` stands for every one.

    Chapter 01.
    """
    known = every_name()
    chosen = [m for name in names for m in (known if name == "all" else [name])]
    unknown = [n for n in chosen if n not in known]
    if unknown:
        raise SystemExit(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(known)} or all")
    return list(dict.fromkeys(chosen))


def on_device(model: Recommender, device: str = "auto") -> Recommender:
    """``model``, set to train and score on ``device`` (``"auto"``, ``"cpu"``, ``"cuda"``,
    as :func:`~recsys_tutorial.utils.select_device` reads it) if it has a ``device``
    setting, as the torch models do; the others are returned unchanged. Chapter 04."""
    if hasattr(model, "device"):
        model.device = str(select_device(device))
    return model


def run(names: list[str], data_dir: str | None, seed: int = 0, dataset: str = "ml-100k",
        device: str = "auto", seeds: list[int] | None = None,
        per_user_out: Path | None = None) -> list[Row]:
    """Fit and evaluate the named models (see :func:`model_names`): the recommenders on the
    course's split, then chapter 03's models on its time split (their rows have AUC and
    log loss instead of ranking metrics). ``dataset``: a name or a log's path, as for
    :func:`~recsys_tutorial.datasets.load_dataset`; ``device``: see :func:`on_device`.
    ``seeds`` (default ``[seed]``): every model is fitted once per seed, one row each
    (with its ``seed``); ``per_user_out``: a CSV of every recommender's per-user results
    (:func:`per_user`)."""
    names = model_names(names)
    data = load_dataset(dataset, data_dir)
    rows: list[Row] = []
    seeds = [seed] if seeds is None else list(seeds)
    users: list[pd.DataFrame] = []
    ranking = [name for name in names if not name.startswith(CTR)]
    if ranking:
        split = leave_one_out_split(data.interactions)
        for each in seeds:
            for name in ranking:
                model = on_device(MODELS[name](data, each), device)
                rows.append({**fit_evaluate(name, model, split), "seed": each})
                if per_user_out is not None:
                    users.append(per_user(name, model, split, each))
    clicks = [name.removeprefix(CTR) for name in names if name.startswith(CTR)]
    for each in seeds if clicks else []:
        rows += [{**row, "model": CTR + str(row["model"]), "seed": each}
                 for row in ctr_experiments.run(clicks, data, each)]
    if per_user_out is not None and users:
        with atomic_path(per_user_out) as tmp:
            pd.concat(users, ignore_index=True).to_csv(tmp, index=False)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recsys_tutorial", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    bench = sub.add_parser("bench", help="fit and evaluate models on MovieLens-100k")
    bench.add_argument("--models", default="pop,markov,itemknn",
                       help=f"comma-separated, from: {', '.join(every_name())}; or all")
    bench.add_argument("--data-dir", default=None,
                       help="directory holding ml-100k/ (default: $RECSYS_TUTORIAL_DATA or the cache)")
    bench.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    bench.add_argument("--seed", type=int, default=0)
    bench.add_argument("--seeds", default=None,
                       help="comma-separated seeds (overrides --seed): one fit per model and "
                            "seed, then each model's mean and standard deviation over them")
    bench.add_argument("--per-user", type=Path, default=None,
                       help="write every recommender's per-user HR and NDCG@10 (valid and "
                            "test) as CSV here, for paired bootstrap comparisons")
    bench.add_argument("--dataset", default="ml-100k",
                       help="ml-100k (default), ml-1m, ml-10m, ml-20m, ml-25m, ml-32m, "
                            "ml-latest-small, or the path of a CSV/Parquet log")
    bench.add_argument("--device", default="auto",
                       help="where the torch models train and score: auto (CUDA when present), "
                            "cpu or cuda")
    bench.add_argument("--scale", action="store_true",
                       help="run the scaling benchmark instead (recsys_tutorial.scale, about "
                            "25 minutes); --out: where its JSON goes")
    args = parser.parse_args(argv)
    if args.scale:
        from . import scale

        return scale.main([] if args.out is None else [str(args.out)])
    rows = run([m.strip() for m in args.models.split(",") if m.strip()], args.data_dir, args.seed,
               dataset=args.dataset, device=args.device,
               seeds=None if args.seeds is None else [int(s) for s in args.seeds.split(",")],
               per_user_out=args.per_user)
    for part in ([r for r in rows if not str(r["model"]).startswith(CTR)],
                 [r for r in rows if str(r["model"]).startswith(CTR)]):
        if part:  # one table per task: next-item ranking, then click prediction
            table = pd.DataFrame(part).set_index("model")
            print(table.drop(columns="split_fingerprint").round(4).to_string())
            print(f"split fingerprint: {part[0]['split_fingerprint']}")
            if len({r["seed"] for r in part}) > 1:
                print("mean and standard deviation over seeds:")
                print(over_seeds(part).round(4).to_string())
    if args.out is not None:
        with atomic_path(args.out) as tmp:
            tmp.write_text(json.dumps(rows, indent=2))
        print(f"wrote {args.out}")
    if args.per_user is not None:
        print(f"wrote {args.per_user}")
    return 0
