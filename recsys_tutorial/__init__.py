"""recsys_tutorial: the library of the course *Recommendation as a language*.

The protocol modules sit at the top: :mod:`~recsys_tutorial.data` (MovieLens-100k),
:mod:`~recsys_tutorial.split` (histories and the leave-one-out split),
:mod:`~recsys_tutorial.protocol` (what every model exposes),
:mod:`~recsys_tutorial.metrics` (full-ranking evaluation),
:mod:`~recsys_tutorial.baselines` (counting models), :mod:`~recsys_tutorial.classic`
(EASE, ALS), :mod:`~recsys_tutorial.bench`
(every results table), :mod:`~recsys_tutorial.exercises` (auto-checks). One
sub-package per family of models mirrors the chapters: :mod:`~recsys_tutorial.embeddings`
(02), :mod:`~recsys_tutorial.ctr` (03), :mod:`~recsys_tutorial.sequential` (04),
:mod:`~recsys_tutorial.text` (05), :mod:`~recsys_tutorial.llm` (06),
:mod:`~recsys_tutorial.generative` (07) and :mod:`~recsys_tutorial.retrieval` (08).
Each module's
docstring links the chapter that explains it.
"""

from .baselines import ItemKNN, Markov, Popularity
from .data import DataError, MovieLens, load_movielens_100k
from .metrics import evaluate, rank_frame, sampled_evaluate
from .protocol import NotFittedError, Recommender
from .split import LeaveOneOutSplit, TrainData, leave_one_out_split
from .synthetic import SyntheticPlatform, make_platform

__version__ = "0.1.0"

__all__ = [
    "DataError", "ItemKNN", "NotFittedError", "LeaveOneOutSplit", "Markov", "MovieLens", "Popularity",
    "Recommender", "SyntheticPlatform", "TrainData", "evaluate", "leave_one_out_split",
    "load_movielens_100k", "make_platform", "rank_frame", "sampled_evaluate",
]
