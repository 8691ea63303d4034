"""recsys_tutorial: the library of the course *Recommendation as a language*.

One module per idea; each docstring names the chapter that explains it.
"""

from .baselines import ItemKNN, Markov, Popularity
from .data import DataError, MovieLens, load_movielens_100k
from .metrics import Recommender, evaluate, rank_frame, sampled_evaluate
from .split import LeaveOneOutSplit, TrainData, leave_one_out_split
from .synthetic import SyntheticPlatform, make_platform

__version__ = "0.1.0"

__all__ = [
    "DataError", "ItemKNN", "LeaveOneOutSplit", "Markov", "MovieLens", "Popularity",
    "Recommender", "SyntheticPlatform", "TrainData", "evaluate", "leave_one_out_split",
    "load_movielens_100k", "make_platform", "rank_frame", "sampled_evaluate",
]
