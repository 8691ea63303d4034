"""One training loop for every click-through model, and its metrics.

Mini-batch Adam on the binary cross-entropy, seeded; after each epoch the validation
AUC (or log loss) is measured, and training stops when it has not improved for
``patience`` epochs. The best epoch's weights are restored, so what is evaluated is
what validation chose. Test rows are never looked at here. Optionally, id fields are
replaced by the unknown bucket at random during training (``unknown_dropout``), so that
the model learns what to do with users it has never seen, which most test users are.
Explained in :doc:`/notebooks/03_feature_interactions`.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
from sklearn.metrics import log_loss, roc_auc_score
from torch import nn
from tqdm.auto import tqdm

from .data import CTRTensors


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of :func:`fit_ctr` (chosen on validation, never on test). Chapter 03."""

    epochs: int = 20
    batch_size: int = 1024
    lr: float = 1e-3
    weight_decay: float = 0.0  # L2 on embedding tables only, see parameter_groups
    patience: int = 2
    monitor: str = "auc"  # or "log_loss"
    seed: int = 0
    unknown_dropout: Mapping[str, float] = field(default_factory=dict)


@dataclass
class TrainLog:
    """What :func:`fit_ctr` did: per-epoch history, the epoch kept, wall-clock seconds.

    Chapter 03.
    """

    history: list[dict[str, float]]
    best_epoch: int
    seconds: float


@torch.no_grad()
def predict_proba(model: nn.Module, data: CTRTensors, batch_size: int = 8192) -> np.ndarray:
    """Predicted click probabilities for every example, in order (eval mode). Chapter 03."""
    was_training = model.training
    model.eval()
    logits = [model(data.take(slice(s, s + batch_size)).ids) for s in range(0, len(data), batch_size)]
    model.train(was_training)
    return torch.sigmoid(torch.cat(logits)).double().numpy()


def ctr_metrics(model: nn.Module, data: CTRTensors) -> dict[str, float]:
    """AUC and log loss (scikit-learn) of ``model`` on ``data``. Chapter 03."""
    p = predict_proba(model, data)
    y = data.y.numpy()
    return {"auc": float(roc_auc_score(y, p)), "log_loss": float(log_loss(y, p, labels=[0, 1]))}


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Adam parameter groups: L2 ``weight_decay`` on embedding tables only. Chapter 03.

    The id embeddings are what overfits (thousands of users and items, few ratings
    each), so they are what the penalty is for. Adam's ``weight_decay`` adds the penalty
    to the gradient before Adam rescales it; on a parameter whose data gradient is tiny,
    such as an attention projection early in training, the penalty then dominates and
    Adam shrinks the parameter at the full learning rate. Applied to AutoInt's query and
    key projections, that drives every attention logit to zero and the attention to
    uniform, so those parameters are left undecayed.
    """
    embedded = {id(m.weight) for m in model.modules() if isinstance(m, nn.Embedding)}
    decay = [p for p in model.parameters() if id(p) in embedded]
    rest = [p for p in model.parameters() if id(p) not in embedded]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


def _drop_to_unknown(data: CTRTensors, rates: Mapping[str, float], generator: torch.Generator) -> CTRTensors:
    if not rates:
        return data
    ids = list(data.ids)
    for i, f in enumerate(data.fields):
        rate = rates.get(f.name, 0.0)
        if rate > 0 and not f.bag:
            drop = torch.rand(ids[i].shape, generator=generator) < rate
            ids[i] = ids[i].masked_fill(drop, 0)
    return CTRTensors(data.fields, tuple(ids), data.y)


def _better(monitor: str, value: float, best: float) -> bool:
    return value > best if monitor == "auc" else value < best


def fit_ctr(
    model: nn.Module, train: CTRTensors, valid: CTRTensors, config: TrainConfig = TrainConfig(),
    progress: bool = True,
) -> TrainLog:
    """Train ``model`` (logits from field ids) with early stopping on ``valid``. Chapter 03.

    Restores the weights of the best validation epoch before returning.
    """
    if config.monitor not in ("auc", "log_loss"):
        raise ValueError("monitor must be 'auc' or 'log_loss'")
    start = time.perf_counter()
    torch.manual_seed(config.seed)  # dropout inside the model
    generator = torch.Generator().manual_seed(config.seed)  # shuffling, id dropout
    optimizer = torch.optim.Adam(parameter_groups(model, config.weight_decay), lr=config.lr)
    loss_fn = nn.BCEWithLogitsLoss()
    best_value = -np.inf if config.monitor == "auc" else np.inf
    best_state, best_epoch, stale = copy.deepcopy(model.state_dict()), 0, 0
    history: list[dict[str, float]] = []
    bar = tqdm(range(1, config.epochs + 1), desc=type(model).__name__, disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        order = torch.randperm(len(train), generator=generator)
        total = 0.0
        for s in range(0, len(train), config.batch_size):
            batch = _drop_to_unknown(train.take(order[s:s + config.batch_size]), config.unknown_dropout,
                                     generator)
            loss = loss_fn(model(batch.ids), batch.y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        scores = ctr_metrics(model, valid)
        history.append({"epoch": epoch, "train_loss": total / len(train),
                        "valid_auc": scores["auc"], "valid_log_loss": scores["log_loss"]})
        bar.set_postfix(valid_auc=f"{scores['auc']:.4f}")
        if _better(config.monitor, scores[config.monitor], best_value):
            best_value, best_epoch, stale = scores[config.monitor], epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            stale += 1
            if stale >= config.patience:
                break
    model.load_state_dict(best_state)
    model.eval()
    return TrainLog(history, best_epoch, time.perf_counter() - start)

