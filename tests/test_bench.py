"""The benchmark command writes the documented JSON."""

from __future__ import annotations

import json

from recsys_tutorial.bench import main


def test_bench_writes_json(movielens_dir, tmp_path, capsys):
    out = tmp_path / "results.json"
    assert main(["bench", "--models", "pop,markov,itemknn", "--data-dir", str(movielens_dir),
                 "--out", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert [r["model"] for r in rows] == ["pop", "markov", "itemknn"]
    keys = {"model", "hr@10", "ndcg@10", "mrr@10", "fit_seconds", "eval_seconds", "split_fingerprint"}
    assert all(keys <= set(r) for r in rows)
    assert len({r["split_fingerprint"] for r in rows}) == 1
    by_name = {r["model"]: r for r in rows}
    assert by_name["markov"]["ndcg@10"] > by_name["pop"]["ndcg@10"]
    assert "markov" in capsys.readouterr().out
