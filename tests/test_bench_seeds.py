"""Bench over several seeds, its per-user results and the paired bootstrap interval."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from recsys_tutorial import Markov
from recsys_tutorial.bench import main, over_seeds, paired_bootstrap, per_user


def test_seeds_give_one_row_each_and_a_summary(movielens_dir, tmp_path, capsys):
    out, users = tmp_path / "results.json", tmp_path / "users.csv"
    assert main(["bench", "--models", "pop,markov", "--data-dir", str(movielens_dir),
                 "--seeds", "0,1", "--out", str(out), "--per-user", str(users)]) == 0
    rows = json.loads(out.read_text())
    assert [(r["model"], r["seed"]) for r in rows] == [("pop", 0), ("markov", 0), ("pop", 1),
                                                       ("markov", 1)]
    printed = capsys.readouterr().out
    assert "mean and standard deviation over seeds" in printed
    frame = pd.read_csv(users)
    assert list(frame.columns) == ["model", "seed", "stage", "user", "hr@10", "ndcg@10"]
    assert len(frame) == 2 * 2 * 2 * 943  # models, seeds, stages, users
    # the per-user means are the rows' metrics
    test = frame[frame["stage"] == "test"].groupby(["model", "seed"])["ndcg@10"].mean()
    for r in rows:
        assert test[(r["model"], r["seed"])] == pytest.approx(r["ndcg@10"])


def test_over_seeds_is_mean_and_sample_std():
    rows = [{"model": "a", "seed": s, "ndcg@10": v, "split_fingerprint": "x"}
            for s, v in enumerate([0.1, 0.2, 0.3])]
    summary = over_seeds(rows)
    assert summary.loc["a", ("ndcg@10", "mean")] == pytest.approx(0.2)
    assert summary.loc["a", ("ndcg@10", "std")] == pytest.approx(0.1)
    assert summary.loc["a", "seeds"].item() == 3


def test_per_user_has_both_stages(synthetic_split):
    model = Markov().fit(synthetic_split.train)
    frame = per_user("markov", model, synthetic_split, seed=3)
    assert set(frame["stage"]) == {"valid", "test"} and set(frame["seed"]) == {3}
    assert frame.groupby("stage").size().tolist() == [len(synthetic_split.eval_users("test")),
                                                      len(synthetic_split.eval_users("valid"))]


def test_paired_bootstrap_sees_a_consistent_gap_and_no_gap():
    rng = np.random.default_rng(0)
    base = rng.random(500)
    mean, low, high = paired_bootstrap(base + 0.05 + rng.normal(0, 0.01, 500), base)
    assert low > 0 and low < mean < high  # small but consistent over users
    mean, low, high = paired_bootstrap(base, base[rng.permutation(500)])
    assert low < 0 < high  # the same values, shuffled: no gap
    assert paired_bootstrap(base, base) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="equal length"):
        paired_bootstrap(np.array([]), np.array([]))
