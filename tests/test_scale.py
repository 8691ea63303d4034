"""The scaling benchmark at tiny sizes: points, extrapolated epochs, exponents."""

from __future__ import annotations

import numpy as np
import pytest

from recsys_tutorial import scale
from recsys_tutorial.split import leave_one_out_split
from recsys_tutorial.synthetic import make_large_platform


def test_large_platform_has_the_requested_shape():
    platform = make_large_platform(20_000, 300, n_topics=5, length=(5, 15), seed=1)
    frame = platform.interactions
    assert abs(len(frame) - 20_000) < 1_000
    assert frame["item_id"].between(1, 300).all()
    assert frame.groupby("user_id").size().between(5, 15).all()
    again = make_large_platform(20_000, 300, n_topics=5, length=(5, 15), seed=1)
    assert frame.equals(again.interactions)
    # the sequential structure: successors follow far more often than chance
    nxt = frame.groupby("user_id")["item_id"].shift(-1).dropna().astype(int).to_numpy()
    cur = frame["item_id"].to_numpy()[frame.groupby("user_id").cumcount(ascending=False) > 0]
    follows = np.mean(platform.successor[cur - 1] + 1 == nxt)
    assert 0.4 < follows < 0.7  # p_follow = 0.5, plus the odd fresh draw of the successor
    # items are drawn from the user's topics: topic shares follow the tastes
    taste = platform.user_taste[frame["user_id"].to_numpy() - 1].mean(axis=0)
    share = np.bincount(platform.item_topic[cur - 1], minlength=5) / len(cur)
    np.testing.assert_allclose(share, taste, atol=0.05)


def test_split_of_a_large_platform_is_its_histories():
    frame = make_large_platform(5_000, 100, n_topics=4, length=(3, 10)).interactions
    split = leave_one_out_split(frame)
    first = frame[frame["user_id"] == 1]["item_id"].to_numpy()
    assert split.test_targets[0] == split.item_index(first[-1:])[0]
    np.testing.assert_array_equal(split.train.sequences[0], split.item_index(first[:-2]))


@pytest.mark.parametrize("method", ["markov", "ease", "ann"])
def test_a_point_measures_every_stage(method, tmp_path):
    row = scale.measure(method, 5_000, 200, tmp_path)
    assert row["status"] == "measured"
    for key in ("generate_seconds", "split_seconds", "fit_seconds", "eval_seconds", "rss_mib"):
        assert row[key] > 0
    if method != "ann":
        assert 0 <= row["ndcg@10"] <= 1
    assert (tmp_path / "platform_5000_200.npz").exists()  # the log is generated once


def test_ease_that_would_not_fit_is_not_run(tmp_path):
    row = scale.measure("ease", 10**6, 10**5, tmp_path)
    assert row["status"] == "does not fit" and row["predicted_gib"] > 16
    assert not any(tmp_path.iterdir())


def test_a_long_epoch_is_timed_on_its_first_batches(tmp_path, monkeypatch):
    monkeypatch.setattr(scale, "BATCH_SECONDS", 0.0)
    row = scale.measure("sasrec", 20_000, 100, tmp_path)
    assert row["status"].startswith("extrapolated from 3 of ")
    assert row["fit_seconds"] > 0


def test_exponents_recover_known_slopes():
    points = [{"method": "m", "n_interactions": n, "n_items": i, "fit_seconds": 1e-9 * n**1.5 * i**3}
              for n, i in [(10**5, 10**3), (10**6, 10**3), (10**7, 10**3), (10**6, 10**4)]]
    points.append({"method": "m", "n_interactions": 10**6, "n_items": 10**5, "status": "does not fit"})
    slopes = scale.exponents(points)["m"]
    assert slopes["n_interactions"] == pytest.approx(1.5)
    assert slopes["n_items"] == pytest.approx(3.0)


def test_run_measures_each_point_in_its_own_process(tmp_path):
    result = scale.run({"data": [(3_000, 100)]}, cache=tmp_path)
    (row,) = result["points"]
    assert row["status"] == "measured" and row["users"] > 0
    assert result["machine"]["cores"] >= 1 and result["eval_users"] == scale.EVAL_USERS


def test_bench_scale_runs_the_benchmark(tmp_path, monkeypatch):
    from recsys_tutorial import bench

    calls = []
    monkeypatch.setattr(scale, "main", lambda argv: calls.append(argv) or 0)
    assert bench.main(["bench", "--scale", "--out", str(tmp_path / "scale.json")]) == 0
    assert calls == [[str(tmp_path / "scale.json")]]
