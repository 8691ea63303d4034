"""Data-parallel training of a sequence model with ``torch.distributed`` (DDP).

One process per device, each holding a full copy of the network, started by ``torchrun
--nproc_per_node=N -m recsys_tutorial.sequential.distributed``. Every epoch, all
processes draw the same seeded order of training windows, hence the same *global*
batches that one process would train on, and each keeps its own disjoint share of every
batch (:func:`shard`: rows ``rank, rank + N, ...``). Each computes the loss of its share;
:class:`~torch.nn.parallel.DistributedDataParallel` all-reduces the gradients during the
backward pass, so every copy takes the same Adam step. The loss of a share is weighted
by its number of targets, so that the averaged gradient is the gradient of the global
batch's mean loss, as in one process. Rank 0 evaluates validation NDCG@10 and decides
(keep these weights, stop); the decision is broadcast, so all processes stay in step
and end with identical weights (:func:`replica_difference` checks it). The backend is
gloo on CPU and nccl on CUDA. ``batch_size`` is the global batch: ``N`` processes
each take ``batch_size / N`` rows per step.

Training reads the model's own public API (``fit`` to build its network and windows,
``trainer()`` for the optimiser's settings, ``batches``, ``training_loss``), so GRU4Rec,
SASRec and BERT4Rec train this way unchanged. Explained in :doc:`/book/distributed`.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ..split import LeaveOneOutSplit, TrainData
from ..utils import atomic_path, select_device
from .base import SequenceRecommender
from .trainer import Batch, TrainLog, seed_everything

if TYPE_CHECKING:
    import pandas as pd


def world() -> tuple[int, int]:
    """This process's ``(rank, world_size)``: ``(0, 1)`` outside a process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def shard(batch: Batch, rank: int, world_size: int) -> tuple[Batch, float]:
    """This rank's rows of a global batch, ``rank::world_size``, and their loss weight.

    The weight is the share's number of targets (the last tensor's non-zero entries)
    times ``world_size`` over the global batch's: averaging the weighted losses over
    the ranks gives the global batch's mean loss. A rank left without rows (a last
    batch smaller than the world) gets the first row with weight 0, so that it still
    takes part in the all-reduce. Explained in :doc:`/book/distributed`.
    """
    rows = tuple(t[rank::world_size] for t in batch)
    weight = world_size * float((rows[-1] > 0).sum()) / max(float((batch[-1] > 0).sum()), 1.0)
    if len(rows[0]) == 0:
        return tuple(t[:1] for t in batch), 0.0
    return rows, weight


class LossModule(nn.Module):
    """The model's training loss as a module, for DDP: its forward must compute the
    whole loss, so that every use of a parameter (SASRec's item table is read twice)
    happens inside it. Explained in :doc:`/book/distributed`."""

    def __init__(self, model: SequenceRecommender):
        super().__init__()
        self.network = model.network_
        self.model = model

    def forward(self, *batch: torch.Tensor) -> torch.Tensor:
        return self.model.training_loss(batch)


def prepare(model: SequenceRecommender, train: TrainData) -> None:
    """Build the model's network and training windows as its own ``fit`` does, without
    training a step (``fit`` with zero epochs). Explained in :doc:`/book/distributed`."""
    epochs, progress = model.epochs, model.progress
    model.epochs, model.progress = 0, False
    try:
        model.fit(train)
    finally:
        model.epochs, model.progress = epochs, progress


def _broadcast(values: list[float], device: torch.device) -> list[float]:
    """Rank 0's values, on every rank."""
    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    if world()[1] > 1:
        dist.broadcast(tensor, src=0)
    return tensor.tolist()


def fit_distributed(model: SequenceRecommender, train: TrainData,
                    valid: LeaveOneOutSplit | None = None) -> TrainLog:
    """Train ``model`` on ``train`` across the current process group (or alone).

    The settings are the model's own (``model.trainer()``: epochs, learning rate, weight
    decay, gradient clipping, patience, evaluation every ``eval_every`` epochs); the best
    evaluated weights are restored on every rank. Returns the log (also ``model.log_``).
    Explained in :doc:`/book/distributed`.
    """
    from ..metrics import evaluate

    rank, world_size = world()
    prepare(model, train)
    config = model.trainer()
    network = model.network_
    device = next(network.parameters()).device
    loss_module: nn.Module = LossModule(model)
    if world_size > 1:
        ids = [device.index] if device.type == "cuda" else None
        loss_module = DistributedDataParallel(loss_module, device_ids=ids)
    optimiser = torch.optim.Adam(network.parameters(), lr=config.lr,
                                 weight_decay=config.weight_decay)
    seed_everything(config.seed + rank)  # each rank its own dropout masks
    rng = np.random.default_rng(config.seed)  # the same batches on every rank
    log, best_state, waited = TrainLog(), None, 0
    start = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        network.train()
        total = torch.zeros((), dtype=torch.float64, device=device)
        steps = 0
        for batch in model.batches(rng):
            rows, weight = shard(batch, rank, world_size)
            rows = tuple(t.to(device) for t in rows)
            optimiser.zero_grad(set_to_none=True)
            loss = loss_module(*rows) * weight
            loss.backward()  # DDP averages the gradients over the ranks here
            if config.clip_grad is not None:
                nn.utils.clip_grad_norm_(network.parameters(), config.clip_grad)
            optimiser.step()
            total += loss.detach()
            steps += 1
        if world_size > 1:
            dist.all_reduce(total)
        record = {"epoch": epoch, "loss": float(total) / world_size / max(steps, 1)}
        if valid is not None and (epoch % config.eval_every == 0 or epoch == config.epochs):
            score = evaluate(model, valid, "valid")[config.metric] if rank == 0 else 0.0
            score, improved = _broadcast([score, float(score > log.best_score)], device)
            record[f"valid_{config.metric}"] = score
            if improved:
                log.best_score, log.best_epoch, waited = score, epoch, 0
                best_state = copy.deepcopy(network.state_dict())
            else:
                waited += 1
        record["seconds"] = time.perf_counter() - start
        log.history.append(record)
        if valid is not None and waited >= config.patience:
            log.stopped = "patience"
            break
    model.log_ = log.finish(network, best_state, start)
    return log


def replica_difference(network: nn.Module) -> float:
    """The largest absolute difference between this rank's parameters and rank 0's,
    over all ranks (``0.0``: identical copies). Explained in :doc:`/book/distributed`."""
    flat = torch.cat([p.detach().reshape(-1).double() for p in network.parameters()])
    if world()[1] == 1:
        return 0.0
    reference = flat.clone()
    dist.broadcast(reference, src=0)
    difference = (flat - reference).abs().max()
    dist.all_reduce(difference, op=dist.ReduceOp.MAX)
    return float(difference)


def init_process_group(device: str = "auto") -> torch.device:
    """Join the group that ``torchrun`` describes (``RANK``, ``WORLD_SIZE``,
    ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``), over nccl for CUDA and gloo
    otherwise; without ``torchrun`` nothing is joined. Returns this process's device
    (``cuda:LOCAL_RANK`` on CUDA). Explained in :doc:`/book/distributed`."""
    chosen = select_device(device)
    if chosen.type == "cuda":
        chosen = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(chosen)
    if "WORLD_SIZE" in os.environ and not dist.is_initialized():
        dist.init_process_group("nccl" if chosen.type == "cuda" else "gloo")
    return chosen


def load_interactions(dataset: str, data_dir: str | None = None) -> pd.DataFrame:
    """``user_id, item_id, timestamp`` rows: ``"synthetic"`` (the package's platform at
    its defaults), or anything :func:`~recsys_tutorial.datasets.load_dataset` reads (a
    MovieLens release by name, such as ``"ml-1m"``, or a CSV/Parquet log by path). Rank 0
    reads first, so that a download happens once. Explained in :doc:`/book/distributed`."""
    rank, world_size = world()
    if rank != 0:
        dist.barrier()
    if dataset == "synthetic":
        from ..synthetic import make_platform

        interactions = make_platform().interactions
    else:
        from ..datasets import load_dataset

        interactions = load_dataset(dataset, data_dir).interactions
    if rank == 0 and world_size > 1:
        dist.barrier()
    return interactions


def main(argv: list[str] | None = None) -> int:
    """``torchrun --nproc_per_node=N -m recsys_tutorial.sequential.distributed ...``."""
    from ..metrics import evaluate
    from ..split import leave_one_out_split
    from .sasrec import SASRec

    parser = argparse.ArgumentParser(prog="recsys_tutorial.sequential.distributed",
                                     description="Train SASRec with DDP; rank 0 reports.")
    parser.add_argument("--dataset", default="ml-100k",
                        help="ml-100k, ml-1m (any MovieLens release), synthetic, or a "
                             "CSV/Parquet file of user_id, item_id, timestamp rows")
    parser.add_argument("--data-dir", default=None,
                        help="directory holding the releases (default: $RECSYS_TUTORIAL_DATA)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="the global batch, shared by the processes")
    for name, kind in [("epochs", int), ("lr", float), ("max-len", int), ("dim", int),
                       ("dropout", float), ("eval-every", int), ("patience", int),
                       ("seed", int), ("loss", str), ("window", str)]:
        parser.add_argument(f"--{name}", type=kind, default=None,
                            help="default: SASRec's (chapter 04's configuration)")
    parser.add_argument("--out", type=Path, default=None, help="rank 0 writes the JSON here")
    parser.add_argument("--save", type=Path, default=None,
                        help="rank 0 saves the network's weights here")
    args = parser.parse_args(argv)
    device = init_process_group(args.device)
    rank, world_size = world()
    chosen = {k: v for k, v in vars(args).items() if v is not None and k in {
        "batch_size", "epochs", "lr", "max_len", "dim", "dropout", "eval_every", "patience",
        "seed", "loss", "window"}}
    model = SASRec(**chosen, device=str(device), progress=False)
    split = leave_one_out_split(load_interactions(args.dataset, args.data_dir))
    log = fit_distributed(model, split.train, split)
    spread = replica_difference(model.network_)
    if rank == 0:
        result = {
            "world_size": world_size, "device": str(device), "global_batch": model.batch_size,
            "per_process_batch": model.batch_size / world_size, "best_epoch": log.best_epoch,
            "stopped": log.stopped, "fit_seconds": log.seconds, "replica_difference": spread,
            "valid": evaluate(model, split, "valid"), "test": evaluate(model, split, "test"),
            "history": log.history, "split_fingerprint": split.fingerprint,
        }
        print(json.dumps({k: v for k, v in result.items() if k != "history"}, indent=2))
        if args.out is not None:
            with atomic_path(args.out) as tmp:
                tmp.write_text(json.dumps(result, indent=2))
        if args.save is not None:
            with atomic_path(args.save) as tmp:
                torch.save(model.network_.state_dict(), tmp)
    if dist.is_initialized():
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
