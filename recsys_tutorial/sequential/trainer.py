"""One trainer for every sequence model (GRU4Rec, SASRec, BERT4Rec).

The loop is the same for all of them: shuffle the training histories into batches,
take an optimiser step per batch, and after each epoch measure NDCG@10 on the
*validation* targets with the course's protocol (``metrics.evaluate(model, split,
"valid")``). The best epoch's weights are kept and restored at the end; training stops
when validation has not improved for ``patience`` evaluations or when ``epochs`` run
out. Everything is seeded, and the device is chosen once (``"auto"``: CUDA when
present, else CPU).
Explained in :doc:`/notebooks/04_next_item_transformers`.
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np
import torch
from torch import nn

from ..utils import select_device

if TYPE_CHECKING:
    from ..split import LeaveOneOutSplit


Batch = tuple[torch.Tensor, ...]


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) for a repeatable run. Chapter 04."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class Trainable(Protocol):
    """What :class:`Trainer` needs from a model: a network, batches, a loss, scores."""

    network_: nn.Module | None

    def batches(self, rng: np.random.Generator) -> Iterator[Batch]: ...

    def training_loss(self, batch: Batch) -> torch.Tensor: ...

    def score(self, histories: Sequence[np.ndarray]) -> np.ndarray: ...


@dataclass
class TrainLog:
    """What happened in training: one dict per epoch, the best epoch, why it stopped."""

    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = -1
    best_score: float = float("-inf")
    stopped: str = "epochs"
    seconds: float = 0.0

    def finish(self, network: nn.Module, best_state: dict | None, start: float) -> TrainLog:
        """End training: restore the best evaluated weights (without validation, keep the
        last and call the last epoch the best), switch to eval mode, record the time."""
        if best_state is not None:
            network.load_state_dict(best_state)
        else:
            self.best_epoch = len(self.history)
        network.eval()
        self.seconds = time.perf_counter() - start
        return self


@dataclass
class Trainer:
    """Adam, early stopping on validation NDCG@10, best weights restored. Chapter 04.

    ``time_budget`` (seconds, default ``None``: no limit) is an explicit safety net
    for slow machines, never used for a reported number, since where it stops depends on
    the machine's load. It counts training and validation; the epoch in progress stops
    at the first batch past the budget, is evaluated, and training ends. Without a
    validation split the last weights are kept.
    """

    epochs: int = 200
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 10
    eval_every: int = 1
    time_budget: float | None = None
    seed: int = 0
    device: str | torch.device = "auto"
    clip_grad: float | None = 5.0
    progress: bool = True
    metric: str = "ndcg@10"

    def fit(self, model: Trainable, valid: LeaveOneOutSplit | None = None) -> TrainLog:
        from tqdm.auto import tqdm

        from ..metrics import evaluate

        if model.network_ is None:
            raise RuntimeError("the model must build its network before training")
        seed_everything(self.seed)
        device = select_device(self.device)
        network = model.network_.to(device)
        optimiser = torch.optim.Adam(network.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        rng = np.random.default_rng(self.seed)
        log = TrainLog()
        best_state = None
        waited = 0
        start, cpu_start = time.perf_counter(), time.process_time()
        out_of_time = False
        bar = tqdm(range(1, self.epochs + 1), desc=type(model).__name__, disable=not self.progress,
                   leave=False)
        for epoch in bar:
            network.train()
            total, batches = 0.0, 0
            for batch in model.batches(rng):
                batch = tuple(t.to(device) for t in batch)
                optimiser.zero_grad(set_to_none=True)
                loss = model.training_loss(batch)
                loss.backward()
                if self.clip_grad is not None:
                    nn.utils.clip_grad_norm_(network.parameters(), self.clip_grad)
                optimiser.step()
                total += float(loss.detach())
                batches += 1
                if self.time_budget is not None and time.perf_counter() - start > self.time_budget:
                    out_of_time = True
                    break
            record = {"epoch": epoch, "loss": total / max(batches, 1),
                      "seconds": time.perf_counter() - start}
            evaluate_now = valid is not None and (
                epoch % self.eval_every == 0 or out_of_time or epoch == self.epochs
            )
            if evaluate_now:
                network.eval()
                score = evaluate(model, valid, "valid")[self.metric]
                record[f"valid_{self.metric}"] = score
                if score > log.best_score:
                    log.best_score, log.best_epoch, waited = score, epoch, 0
                    best_state = copy.deepcopy(network.state_dict())
                else:
                    waited += 1
                bar.set_postfix(loss=f"{record['loss']:.3f}", valid=f"{score:.4f}",
                                best=f"{log.best_score:.4f}")
            else:
                bar.set_postfix(loss=f"{record['loss']:.3f}")
            record["seconds"] = time.perf_counter() - start
            record["cpu_seconds"] = time.process_time() - cpu_start
            log.history.append(record)
            if out_of_time:
                log.stopped = "time budget"
                break
            if valid is not None and waited >= self.patience:
                log.stopped = "patience"
                break
        bar.close()
        return log.finish(network, best_state, start)
