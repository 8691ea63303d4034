"""Data-parallel SASRec: two gloo processes on CPU train what one process trains."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
import torch
import torch.distributed as dist

from recsys_tutorial.metrics import evaluate
from recsys_tutorial.sequential import SASRec
from recsys_tutorial.sequential.distributed import fit_distributed, replica_difference, shard

# tiny and without dropout: the two runs then differ only by floating-point order
CONFIG = dict(max_len=20, dim=32, dropout=0.0, lr=5e-3, batch_size=32, epochs=20,
              eval_every=20, patience=100, seed=0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_shards_are_disjoint_cover_the_batch_and_weigh_its_targets():
    inputs = torch.arange(10).reshape(5, 2)
    targets = torch.tensor([[1, 2], [0, 3], [4, 5], [0, 0], [6, 0]])  # 0 = no target
    parts = [shard((inputs, targets), rank, 2) for rank in range(2)]
    rows = sorted(r for (shard_inputs, _), _ in parts for r in shard_inputs[:, 0].tolist())
    assert rows == inputs[:, 0].tolist()  # every row once
    # rank 0 has rows 0, 2, 4 (5 targets), rank 1 rows 1, 3 (1 target), of 6 targets
    assert [weight for _, weight in parts] == pytest.approx([2 * 5 / 6, 2 * 1 / 6])
    (alone, _), weight = shard((inputs[:1], targets[:1]), 1, 2)  # one row for two ranks
    assert weight == 0.0 and len(alone) == 1  # rank 1 joins the all-reduce, adds nothing


def test_one_process_trains_without_a_process_group(synthetic_split, one_thread):
    model = SASRec(**{**CONFIG, "epochs": 2, "eval_every": 1}, device="cpu", progress=False)
    log = fit_distributed(model, synthetic_split.train, synthetic_split)
    assert not dist.is_initialized()
    assert [r["epoch"] for r in log.history] == [1, 2] and model.log_ is log
    assert log.history[1]["loss"] < log.history[0]["loss"]
    assert replica_difference(model.network_) == 0.0


@pytest.mark.skipif(not dist.is_gloo_available(), reason="torch built without gloo")
def test_two_gloo_processes_match_one_process(platform, synthetic_split, tmp_path, one_thread):
    """``torchrun`` starts two CPU processes (gloo, ``127.0.0.1``, a free port); they train
    the same tiny SASRec with the same *global* batch (32 rows, 16 per process) as one
    process does here.

    Both runs see the same batches in the same order: every rank draws the same seeded
    order and keeps its rows ``rank::2``, and the loss of each share is weighted by its
    targets, so the averaged gradient is the global batch's. Dropout is off, so the only
    difference left is floating-point order: two partial means summed by the all-reduce
    instead of one mean, about 1e-7 relative per step. Training amplifies that over its
    100 steps (weights drift apart by about 0.02 here), but the validation ranking barely
    moves: the tolerance, 0.01 NDCG@10, is about one of the 120 users' target leaving
    the top ten (1/120 = 0.008), and below the spread between two seeds of one process
    (0.453 and 0.475 on this platform). The first epoch's loss, before the drift has
    grown, must agree to 1e-4. After training, the two copies must be identical.
    """
    csv = tmp_path / "platform.csv"
    platform.interactions.to_csv(csv, index=False)
    out = tmp_path / "two.json"
    options = [f"--{k.replace('_', '-')}={v}" for k, v in CONFIG.items()]
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
               "--master_addr=127.0.0.1", f"--master_port={_free_port()}",
               "-m", "recsys_tutorial.sequential.distributed", "--dataset", str(csv),
               "--device=cpu", *options, "--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    two = json.loads(out.read_text())

    one = SASRec(**CONFIG, device="cpu", progress=False)
    log = fit_distributed(one, synthetic_split.train, synthetic_split)

    assert two["world_size"] == 2 and two["per_process_batch"] == 16
    assert two["split_fingerprint"] == synthetic_split.fingerprint
    assert two["replica_difference"] == 0.0  # DDP kept the copies identical
    assert two["history"][0]["loss"] == pytest.approx(log.history[0]["loss"], rel=1e-4)
    valid = evaluate(one, synthetic_split, "valid")["ndcg@10"]
    assert abs(two["valid"]["ndcg@10"] - valid) <= 0.01, (two["valid"]["ndcg@10"], valid)


def test_bench_device_reaches_the_torch_models(movielens_dir, tmp_path):
    from recsys_tutorial import Popularity
    from recsys_tutorial.bench import main, on_device

    assert on_device(SASRec(), "cpu").device == "cpu"
    assert on_device(SASRec(), "auto").device in ("cpu", "cuda")
    assert not hasattr(on_device(Popularity(), "cpu"), "device")  # nothing to set
    out = tmp_path / "rows.json"
    assert main(["bench", "--models", "pop", "--device", "cpu", "--data-dir", str(movielens_dir),
                 "--out", str(out)]) == 0
    assert json.loads(out.read_text())[0]["model"] == "pop"
