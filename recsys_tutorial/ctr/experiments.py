"""Chapter 03's results table as a registry: every configuration it reports, fitted in one call.

:data:`MODELS` maps a name to a factory ``(data, seed) -> CTRModel``, as
``recsys_tutorial.bench.MODELS`` does for the recommenders; :func:`run` cuts the
chapter's click-through data by time once and fits and evaluates each named model on
it, one row per model (:func:`~recsys_tutorial.ctr.model.fit_evaluate`). The chapter
takes its table's rows from these entries and asserts that its choices are theirs.
Explained in :doc:`/notebooks/03_feature_interactions`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from ..data import MovieLens
from .autoint import AutoInt
from .data import TimeSplit, ctr_frame, time_split
from .dcn import DCNv2
from .fm import FactorizationMachine
from .logreg import LogisticRegression
from .model import CTRModel, fit_evaluate
from .train import TrainConfig

#: Train up to the 80th percentile of time, validate up to the 90th, test after.
QUANTILES = (0.8, 0.9)
#: The crosses of logistic regression's ``lr_crosses``: three a domain expert might propose.
HAND_CROSSES = (("age", "genres"), ("gender", "genres"), ("occupation", "genres"))


def train_config(seed: int, **chosen: float) -> TrainConfig:
    """The chapter's shared loop: up to 20 epochs, patience 2, batches of 2048. Chapter 03."""
    return TrainConfig(epochs=20, patience=2, batch_size=2048, seed=seed, **chosen)


Factory = Callable[[MovieLens, int], CTRModel]

# chapter 03: chosen on validation AUC (never on test) from small grids, as the chapter's
# parameters cell records: learning rate in {3e-3, 1e-2, 3e-2}, weight decay (L2 on the
# embedding tables only) in {0, 1e-5, 1e-4, 1e-3}, embedding size in {8, 16}, for AutoInt
# also 2 or 3 layers and id dropout. The crosses are the three a domain expert might
# propose, chosen by hand (not tuned).
#: Chapter 03's configurations by name: ``lr``, ``lr_crosses``, ``fm``, ``autoint``, ``dcn_v2``.
#:
#: :meta hide-value:
MODELS: Mapping[str, Factory] = MappingProxyType(
    {
        "lr": lambda data, seed: CTRModel(LogisticRegression, train_config(seed, lr=3e-2)),
        "lr_crosses": lambda data, seed: CTRModel(
            LogisticRegression, train_config(seed, lr=3e-2), crosses=HAND_CROSSES
        ),
        "fm": lambda data, seed: CTRModel(
            FactorizationMachine, train_config(seed, lr=3e-3, weight_decay=1e-4), k=16
        ),
        "autoint": lambda data, seed: CTRModel(
            AutoInt, train_config(seed, lr=3e-3, weight_decay=1e-4), dim=16, head_dim=16, heads=2,
            layers=2,
        ),
        "dcn_v2": lambda data, seed: CTRModel(
            DCNv2, train_config(seed, lr=3e-3, weight_decay=1e-5), dim=8, cross_layers=2, hidden=(64,)
        ),
    }
)


def chapter_split(data: MovieLens) -> TimeSplit:
    """The chapter's click-through examples cut by time at :data:`QUANTILES`. Chapter 03."""
    return time_split(ctr_frame(data), QUANTILES)


def run(names: list[str], data: MovieLens, seed: int = 0) -> list[dict[str, float | int | str]]:
    """Fit and evaluate the named models of :data:`MODELS` on one time split. Chapter 03."""
    unknown = [name for name in names if name not in MODELS]
    if unknown:
        raise ValueError(f"unknown CTR model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)}")
    split = chapter_split(data)
    return [fit_evaluate(name, MODELS[name](data, seed), split) for name in names]
