"""Chapter 03's models as the course's other models: n_parameters, fit later, the registry."""

from __future__ import annotations

import pytest
import torch

from recsys_tutorial import load_movielens_100k
from recsys_tutorial.ctr import (
    FIELDS,
    AutoInt,
    CTRModel,
    CTRNetwork,
    DCNv2,
    FactorizationMachine,
    LogisticRegression,
    TrainConfig,
    build_fields,
    ctr_metrics,
    encode,
    experiments,
    fit_ctr,
    fit_evaluate,
)
from recsys_tutorial.protocol import NotFittedError

FAST = TrainConfig(epochs=2, batch_size=256, lr=1e-2, patience=1)
ROW_KEYS = {"model", "auc", "log_loss", "valid_auc", "n_parameters", "fit_seconds", "best_epoch",
            "split_fingerprint"}


@pytest.mark.parametrize("make", [
    LogisticRegression,
    lambda f: FactorizationMachine(f, k=4),
    lambda f: AutoInt(f, dim=4, head_dim=3, heads=2, layers=2),
    lambda f: AutoInt(f, dim=4, linear=False),
    lambda f: DCNv2(f, dim=4, cross_layers=2, hidden=(8, 4)),
])
def test_n_parameters_is_the_sum_of_parameter_sizes(split, make):
    network = make(build_fields(split.train))
    assert isinstance(network, CTRNetwork)
    assert network.n_parameters == sum(p.numel() for p in network.parameters())
    frozen = next(network.parameters()).requires_grad_(False)
    assert network.n_parameters == sum(p.numel() for p in network.parameters()) - frozen.numel()
    assert network.n_parameters == sum(p.numel() for p in network.parameters() if p.requires_grad)


def test_logistic_regression_has_one_weight_per_value_and_a_bias(split):
    fields = build_fields(split.train)
    assert LogisticRegression(fields).n_parameters == sum(f.size for f in fields) + 1


def test_a_model_is_not_fitted_before_fit(split):
    model = CTRModel(LogisticRegression, FAST)
    for use in (lambda: model.n_parameters, lambda: model.predict_proba(split.test),
                lambda: model.encode(split.test)):
        with pytest.raises(NotFittedError):
            use()


def test_fit_builds_vocabularies_on_training_rows_and_trains_as_the_loop_does(split):
    model = CTRModel(FactorizationMachine, FAST, k=4).fit(split.train, split.valid)
    fields = build_fields(split.train)
    assert model.fields == fields
    torch.manual_seed(FAST.seed)  # the path the chapter used to spell out by hand
    network = FactorizationMachine(fields, k=4)
    log = fit_ctr(network, encode(split.train, fields), encode(split.valid, fields), FAST, progress=False)
    assert model.log.history == log.history
    assert model.metrics(split.test) == ctr_metrics(network, encode(split.test, fields))
    assert model.n_parameters == network.n_parameters


def test_crosses_and_chosen_fields_define_the_inputs(split):
    model = CTRModel(LogisticRegression, FAST, crosses=[("age", "genres")], field_names=["item", "age"])
    model.fit(split.train, split.valid)
    assert [f.name for f in model.fields] == ["item", "age", "age*genres"]
    assert [f.bag for f in model.fields] == [False, False, True]
    assert model.predict_proba(split.test).shape == (len(split.test),)


def test_fit_evaluate_returns_one_row_like_the_bench(split):
    model = CTRModel(DCNv2, FAST, dim=4, cross_layers=1, hidden=(8,))
    row = fit_evaluate("dcn", model, split)
    assert set(row) == ROW_KEYS
    assert row["model"] == "dcn" and row["split_fingerprint"] == split.fingerprint
    assert row["n_parameters"] == model.n_parameters
    assert row["auc"] == model.metrics(split.test)["auc"]
    assert row["valid_auc"] == max(h["valid_auc"] for h in model.log.history)
    assert 1 <= row["best_epoch"] <= FAST.epochs


@pytest.mark.parametrize("name", list(experiments.MODELS))
def test_the_registry_builds_every_model_unfitted_and_seeded(name, tiny_movielens):
    model = experiments.MODELS[name](tiny_movielens(0), 7)
    assert isinstance(model, CTRModel) and model.network is None
    assert model.config.seed == 7
    assert model.config == experiments.train_config(7, lr=model.config.lr,
                                                    weight_decay=model.config.weight_decay)


def test_the_registry_holds_the_chapters_crosses_and_fields(tiny_movielens):
    data = tiny_movielens(0)
    assert experiments.MODELS["lr_crosses"](data, 0).crosses == experiments.HAND_CROSSES
    assert all(experiments.MODELS[name](data, 0).field_names == FIELDS for name in experiments.MODELS)


def test_run_fits_every_registered_model_once_on_one_split(tiny_movielens):
    data = tiny_movielens(0)
    rows = experiments.run(list(experiments.MODELS), data, seed=0)
    fingerprint = experiments.chapter_split(data).fingerprint
    assert [r["model"] for r in rows] == list(experiments.MODELS)
    assert all(set(r) == ROW_KEYS and r["split_fingerprint"] == fingerprint for r in rows)
    assert all(0.0 <= r["auc"] <= 1.0 and r["n_parameters"] > 0 for r in rows)
    again = experiments.run(["fm"], data, seed=0)[0]
    assert {k: v for k, v in again.items() if k != "fit_seconds"} == {
        k: v for k, v in rows[2].items() if k != "fit_seconds"
    }


def test_run_refuses_unknown_names(tiny_movielens):
    with pytest.raises(ValueError, match="unknown CTR model"):
        experiments.run(["fm", "nope"], tiny_movielens(0))


def test_run_on_movielens_reports_the_chapter_split(movielens_dir):
    data = load_movielens_100k(movielens_dir)
    (row,) = experiments.run(["lr"], data)
    fields = build_fields(experiments.chapter_split(data).train)
    assert row["split_fingerprint"] == experiments.chapter_split(data).fingerprint
    assert row["n_parameters"] == sum(f.size for f in fields) + 1
    assert 0.6 < row["auc"] < 0.8
