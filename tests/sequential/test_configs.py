"""Each sequence model's defaults are its configuration in ``recsys_tutorial.bench``.

A chapter that builds ``SASRec()`` and the benchmark that builds ``SASRec(**SASREC_CONFIG)``
must train the same model; these tests fail as soon as a default and a config drift
apart. No time box is on by default, so no reported number depends on the machine.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import pytest

from recsys_tutorial import bench
from recsys_tutorial.sequential import BERT4Rec, GRU4Rec, SASRec, SequenceRecommender
from recsys_tutorial.text import TextSASRec

CONFIGS = {
    "SASREC_CONFIG": (bench.SASREC_CONFIG, SASRec),
    "GRU4REC_CONFIG": (bench.GRU4REC_CONFIG, GRU4Rec),
    "BERT4REC_CONFIG": (bench.BERT4REC_CONFIG, BERT4Rec),
}


def drift(config: Mapping[str, object], model_class: type) -> dict[str, tuple[object, object]]:
    """``{key: (default, configured)}`` for every key where ``model_class()`` disagrees."""
    model = model_class()
    return {key: (getattr(model, key), value) for key, value in config.items()
            if getattr(model, key) != value}


@pytest.mark.parametrize("name", CONFIGS)
def test_defaults_equal_the_bench_config(name):
    config, model_class = CONFIGS[name]
    assert not drift(config, model_class), f"{model_class.__name__}() differs from bench.{name}"


def test_a_drifted_default_is_caught():
    assert drift({**bench.SASREC_CONFIG, "lr": 1.0}, SASRec) == {"lr": (2e-3, 1.0)}
    assert drift({"window": "random"}, GRU4Rec) == {"window": ("all", "random")}


@pytest.mark.parametrize(("name", "variant"), [("sasrec", {}), ("sasrec_bce", {"loss": "bce"}),
                                               ("gru4rec", {}), ("bert4rec", {})])
def test_bench_builds_the_default_model(name, variant):
    """Every field of the registered model is the class's default, but its seed (and the
    variant's own choice, SASRec-BCE's loss)."""
    model = bench.MODELS[name](None, 7)
    assert model == dataclasses.replace(type(model)(), seed=7, **variant)


@pytest.mark.parametrize("model_class", [SequenceRecommender, SASRec, GRU4Rec, BERT4Rec, TextSASRec])
def test_no_time_box_by_default(model_class):
    model = model_class()
    assert model.time_budget is None and model.trainer().time_budget is None
