"""The benchmark command writes the documented JSON; its rows and names."""

from __future__ import annotations

import json
import math

import pytest

from recsys_tutorial import Markov, Popularity
from recsys_tutorial.bench import (
    MODELS,
    evaluate_row,
    every_name,
    fit_evaluate,
    main,
    model_names,
    settings,
)
from recsys_tutorial.ctr import experiments


def test_bench_writes_json(movielens_dir, tmp_path, capsys):
    out = tmp_path / "results.json"
    assert main(["bench", "--models", "pop,markov,itemknn", "--data-dir", str(movielens_dir),
                 "--out", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert [r["model"] for r in rows] == ["pop", "markov", "itemknn"]
    keys = {"model", "hr@10", "ndcg@10", "mrr@10", "n_parameters", "fit_seconds", "eval_seconds",
            "split_fingerprint"}
    assert all(keys <= set(r) for r in rows)
    assert len({r["split_fingerprint"] for r in rows}) == 1
    by_name = {r["model"]: r for r in rows}
    assert by_name["markov"]["ndcg@10"] > by_name["pop"]["ndcg@10"]
    assert by_name["pop"]["n_parameters"] == 1682  # one count per film
    assert "markov" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == [out]  # written in place, nothing left beside it


def test_all_names_every_registered_model():
    assert model_names(["all"]) == every_name() == [*MODELS, *(f"ctr:{n}" for n in experiments.MODELS)]
    assert model_names(["markov", "all"])[:2] == ["markov", "pop"]  # each once, in order
    with pytest.raises(SystemExit, match="unknown model"):
        model_names(["pop", "no-such-model"])


def test_bench_runs_chapter_03s_registry_too(movielens_dir, tmp_path, capsys):
    out = tmp_path / "results.json"
    assert main(["bench", "--models", "ctr:lr,pop", "--data-dir", str(movielens_dir),
                 "--out", str(out)]) == 0
    ranking, clicks = json.loads(out.read_text())  # the recommenders first
    assert ranking["model"] == "pop" and "ndcg@10" in ranking
    assert clicks["model"] == "ctr:lr" and 0.5 < clicks["auc"] < 1
    assert clicks["split_fingerprint"] != ranking["split_fingerprint"]  # its own time split
    assert capsys.readouterr().out.count("split fingerprint") == 2  # one table per task


def test_evaluate_row_is_fit_evaluates_row_for_a_fitted_model(synthetic_split):
    row = fit_evaluate("bigram", Markov(), synthetic_split)
    fitted = Markov().fit(synthetic_split.train)
    again = evaluate_row("bigram", fitted, synthetic_split, fit_seconds=row["fit_seconds"])
    timing = {"fit_seconds", "eval_seconds"}
    assert {k: v for k, v in row.items() if k not in timing} == {
        k: v for k, v in again.items() if k not in timing
    }
    assert row["n_parameters"] == fitted.n_parameters > 0
    assert math.isnan(evaluate_row("pop", Popularity().fit(synthetic_split.train),
                                   synthetic_split)["fit_seconds"])


def test_settings_are_the_configuration_without_fitted_state(synthetic_split):
    model = Markov(beta=2.0)
    before = settings(model)
    assert before == {"beta": 2.0}
    model.fit(synthetic_split.train)
    assert settings(model) == before
