"""A click-through model configured first and fitted later, and its row of a results table.

The recommenders of the course are built from their hyperparameters and learn only in
``fit`` (:mod:`recsys_tutorial.protocol`); :class:`CTRModel` does the same for a
click-through network. It holds which network to build, its hyperparameters, its
training configuration (:class:`~recsys_tutorial.ctr.train.TrainConfig`), the
hand-made crosses and the fields it reads. ``fit(train, valid)`` builds the
vocabularies on the training rows, encodes both frames, seeds, builds the network and
trains it with early stopping on ``valid``. :func:`fit_evaluate` fits one on a
:class:`~recsys_tutorial.ctr.data.TimeSplit` and returns its results-table row, as
:func:`recsys_tutorial.bench.fit_evaluate` does for the recommenders. Explained in
:doc:`/notebooks/03_feature_interactions`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Self

import numpy as np
import pandas as pd
import torch

from ..protocol import check_fitted
from .base import CTRNetwork
from .data import FIELDS, CTRTensors, Field, TimeSplit, add_crosses, build_fields, encode
from .train import TrainConfig, TrainLog, ctr_metrics, fit_ctr, predict_proba


class CTRModel:
    """``network(fields, **hyperparameters)`` trained with ``config`` on the named fields.

    ``crosses`` are hand-made cross fields added to ``field_names``
    (:func:`~recsys_tutorial.ctr.data.add_crosses`). After :meth:`fit`: ``fields``
    (the vocabularies), ``network`` (the trained network, best validation epoch) and
    ``log`` (:class:`~recsys_tutorial.ctr.train.TrainLog`). Chapter 03.
    """

    def __init__(
        self, network: Callable[..., CTRNetwork], config: TrainConfig, *,
        crosses: Sequence[tuple[str, str]] = (), field_names: Sequence[str] = FIELDS,
        progress: bool = False, **hyperparameters: object,
    ) -> None:
        self.network_class = network
        self.config = config
        self.crosses = tuple(tuple(pair) for pair in crosses)
        self.field_names = tuple(field_names)
        self.progress = progress
        self.hyperparameters = hyperparameters
        self.fields: tuple[Field, ...] | None = None
        self.network: CTRNetwork | None = None
        self.log: TrainLog | None = None

    def __repr__(self) -> str:
        options = [f"{k}={v!r}" for k, v in self.hyperparameters.items()]
        options += [f"crosses={list(self.crosses)}"] if self.crosses else []
        return f"CTRModel({', '.join([self.network_class.__name__, *options])}; {self.config})"

    def _crossed(self, frame: pd.DataFrame) -> pd.DataFrame:
        return add_crosses(frame, self.crosses) if self.crosses else frame

    def fit(self, train: pd.DataFrame, valid: pd.DataFrame) -> Self:
        """Vocabularies from ``train``, then train with early stopping on ``valid``."""
        train = self._crossed(train)
        names = [*self.field_names, *(f"{a}*{b}" for a, b in self.crosses)]
        self.fields = build_fields(train, names)
        train_tensors, valid_tensors = encode(train, self.fields), self.encode(valid)
        torch.manual_seed(self.config.seed)  # the initial weights
        self.network = self.network_class(self.fields, **self.hyperparameters)
        self.log = fit_ctr(self.network, train_tensors, valid_tensors, self.config, progress=self.progress)
        return self

    def encode(self, frame: pd.DataFrame) -> CTRTensors:
        """``frame``'s rows as index tensors, with the crosses and vocabularies of ``fit``."""
        check_fitted(self, "fields")
        return encode(self._crossed(frame), self.fields)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Click probabilities for the rows of ``frame``, in order."""
        check_fitted(self, "network")
        return predict_proba(self.network, self.encode(frame))

    def metrics(self, frame: pd.DataFrame) -> dict[str, float]:
        """AUC and log loss on the rows of ``frame``."""
        check_fitted(self, "network")
        return ctr_metrics(self.network, self.encode(frame))

    @property
    def n_parameters(self) -> int:
        """Trainable scalars of the fitted network."""
        check_fitted(self, "network")
        return self.network.n_parameters


def fit_evaluate(name: str, model: CTRModel, split: TimeSplit) -> dict[str, float | int | str]:
    """Fit on ``split.train`` (early stopping on ``split.valid``); one results-table row.

    The row has test AUC and log loss, validation AUC, parameters, fit seconds (the
    encoding included), the epoch kept and the split's fingerprint. Chapter 03.
    """
    start = time.perf_counter()
    model.fit(split.train, split.valid)
    fit_seconds = time.perf_counter() - start
    test = model.metrics(split.test)
    return {
        "model": name,
        "auc": test["auc"],
        "log_loss": test["log_loss"],
        "valid_auc": model.metrics(split.valid)["auc"],
        "n_parameters": model.n_parameters,
        "fit_seconds": fit_seconds,
        "best_epoch": model.log.best_epoch,
        "split_fingerprint": split.fingerprint,
    }
