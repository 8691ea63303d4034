"""Learned feature interactions for click-through prediction.

Chapter 03, :doc:`/notebooks/03_feature_interactions`. The files, in reading order:

- :mod:`~recsys_tutorial.ctr.data`: the click-through frame, the time split, fields and their
  encoding;
- :mod:`~recsys_tutorial.ctr.fields`: every field, single or bag, becomes one vector;
- :mod:`~recsys_tutorial.ctr.base`: what every network shares: logits, ``n_parameters``;
- :mod:`~recsys_tutorial.ctr.logreg`: logistic regression on one-hot fields: the baseline;
- :mod:`~recsys_tutorial.ctr.fm`: factorization machines: pairs interact through a dot product;
- :mod:`~recsys_tutorial.ctr.dcn`: DCN-v2's cross network: explicit crosses of growing order;
- :mod:`~recsys_tutorial.ctr.autoint`: AutoInt: fields attend to fields;
- :mod:`~recsys_tutorial.ctr.train`: one training loop for every click-through model, and its
  metrics;
- :mod:`~recsys_tutorial.ctr.model`: a model configured first and fitted later, and its
  results-table row (``fit_evaluate``);
- :mod:`~recsys_tutorial.ctr.experiments`: the chapter's configurations (``MODELS``) and
  ``run``, which fits them.
"""

from .autoint import AutoInt, InteractingLayer, softmax_last
from .base import CTRNetwork
from .data import (
    AGE_EDGES,
    BAG_FIELDS,
    FIELDS,
    YEAR_EDGES,
    CTRTensors,
    Field,
    TimeSplit,
    add_crosses,
    bucketize,
    build_fields,
    ctr_frame,
    encode,
    is_bag,
    time_split,
    zip_region,
)
from .dcn import CrossLayer, DCNv2
from .fields import FieldEmbedding
from .fm import FactorizationMachine, fm_pairwise, fm_pairwise_naive
from .logreg import LogisticRegression
from .model import CTRModel, fit_evaluate
from .train import (
    TrainConfig,
    TrainLog,
    ctr_metrics,
    fit_ctr,
    parameter_groups,
    predict_proba,
)

__all__ = [
    "AGE_EDGES",
    "AutoInt",
    "BAG_FIELDS",
    "CTRModel",
    "CTRNetwork",
    "CTRTensors",
    "CrossLayer",
    "DCNv2",
    "FIELDS",
    "FactorizationMachine",
    "Field",
    "FieldEmbedding",
    "InteractingLayer",
    "LogisticRegression",
    "TimeSplit",
    "TrainConfig",
    "TrainLog",
    "YEAR_EDGES",
    "add_crosses",
    "bucketize",
    "build_fields",
    "ctr_frame",
    "ctr_metrics",
    "encode",
    "fit_ctr",
    "fit_evaluate",
    "fm_pairwise",
    "fm_pairwise_naive",
    "is_bag",
    "parameter_groups",
    "predict_proba",
    "softmax_last",
    "time_split",
    "zip_region",
]
