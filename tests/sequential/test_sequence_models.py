"""Sequence models (chapter 04): masks, shapes, padding, overfitting, the trainer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from recsys_tutorial import NotFittedError, evaluate, utils
from recsys_tutorial.sequential import (
    BERT4Rec,
    GRU4Rec,
    GRUNetwork,
    SASRec,
    SASRecNetwork,
    SequenceRecommender,
    Trainer,
    attention_mask,
    item_embedding,
    pad_left,
    sampled_bce_loss,
    select_device,
    softmax_loss,
)
from recsys_tutorial.sequential.sasrec import Dropout
from recsys_tutorial.split import TrainData

pytestmark = pytest.mark.usefixtures("one_thread")


FAST = dict(max_len=20, dim=16, epochs=2, batch_size=64, progress=False, device="cpu")


def test_pad_left_right_aligns_and_shifts():
    out = pad_left([np.array([3, 4, 5]), np.array([7]), np.array([], dtype=int)], 4)
    assert out.tolist() == [[0, 4, 5, 6], [0, 0, 0, 8], [0, 0, 0, 0]]
    assert pad_left([np.arange(10)], 3).tolist() == [[8, 9, 10]]


def test_select_device():
    assert select_device is utils.select_device, "one device picker, importable from here too"
    assert select_device("cpu").type == "cpu"
    assert select_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_attention_mask_blocks_future_and_padding_but_never_self():
    tokens = torch.tensor([[0, 0, 3, 4, 5]])
    mask = attention_mask(tokens, causal=True)[0]
    allowed = ~mask
    assert allowed.diagonal().all()
    assert not allowed[2:, :2].any()  # real positions never see padding
    assert not torch.triu(allowed, 1).any()  # nor the future
    assert allowed[4, 2:].all()
    bidirectional = ~attention_mask(tokens, causal=False)[0]
    assert bidirectional[2, 2:].all() and not bidirectional[2, :2].any()
    assert attention_mask(tokens, heads=3).shape == (3, 5, 5)


@pytest.mark.parametrize("blocks", [1, 2])
def test_sasrec_is_causal(blocks):
    torch.manual_seed(0)
    net = SASRecNetwork(n_items=30, max_len=12, dim=16, heads=2, blocks=blocks).eval()
    tokens = torch.randint(1, 31, (4, 12))
    tokens[1, :5] = 0  # some padding
    before = net(tokens)
    for t in range(6, 12):
        changed = tokens.clone()
        changed[:, t] = (changed[:, t] % 30) + 1  # a different item at position t
        after = net(changed)
        torch.testing.assert_close(after[:, :t], before[:, :t])
        assert not torch.allclose(after[:, t], before[:, t])


def test_bert4rec_network_sees_both_sides():
    torch.manual_seed(0)
    net = SASRecNetwork(n_items=30, max_len=8, dim=16, causal=False, mask_token=True).eval()
    tokens = torch.randint(1, 31, (2, 8))
    changed = tokens.clone()
    changed[:, -1] = 31  # the mask token
    assert not torch.allclose(net(changed)[:, 0], net(tokens)[:, 0])


def test_padding_changes_nothing():
    torch.manual_seed(0)
    history = [np.array([4, 9, 2, 7, 1])]
    sas = SASRecNetwork(n_items=12, max_len=12, dim=16, heads=2).eval()
    short, long = sas(pad_left(history, 8)), sas(pad_left(history, 12))
    torch.testing.assert_close(short[:, -5:], long[:, -5:])
    with torch.no_grad():  # the padding row of the encoder is never read
        sas.item_encoder.weight[0] = 5.0
    torch.testing.assert_close(sas(pad_left(history, 12))[:, -5:], long[:, -5:])
    gru = GRUNetwork(n_items=12, dim=16).eval()
    torch.testing.assert_close(gru(pad_left(history, 8))[:, -5:], gru(pad_left(history, 12))[:, -5:])


@pytest.mark.parametrize("model", [SASRec(**FAST), SASRec(loss="bce", **FAST), BERT4Rec(**FAST),
                                   GRU4Rec(**FAST)], ids=["sasrec", "sasrec_bce", "bert4rec", "gru4rec"])
def test_fit_and_score_shapes(model, synthetic_split):
    split = synthetic_split
    model.fit(split.train, valid=split)
    histories = split.histories("test")[:5] + [np.array([], dtype=int)]
    scores = model.score(histories)
    assert scores.shape == (6, split.n_items)
    assert np.isfinite(scores).all()
    assert model.log_.best_epoch >= 1 and len(model.log_.history) == 2
    assert 0 <= evaluate(model, split, "valid")["ndcg@10"] <= 1
    weights = sum(p.numel() for p in model.network_.parameters())
    assert model.n_parameters == weights > 0, "a property: the network's parameter count"


@pytest.mark.parametrize("model_class", [SASRec, BERT4Rec, GRU4Rec])
def test_not_fitted_is_a_clear_error(model_class):
    model = model_class(**FAST)
    with pytest.raises(NotFittedError, match="not fitted"):
        model.score([np.array([1, 2])])
    with pytest.raises(NotFittedError):
        model.n_parameters  # noqa: B018


def test_item_embedding_keeps_padding_at_zero():
    torch.manual_seed(0)
    table = item_embedding(50, 8)
    assert table.weight.shape == (51, 8) and table.padding_idx == 0
    assert not table.weight[0].any()
    assert 0.01 < float(table.weight[1:].detach().std()) < 0.03


def test_softmax_loss_leaves_out_what_is_not_allowed():
    torch.manual_seed(0)
    hidden, vectors, targets = torch.randn(6, 4), torch.randn(5, 4), torch.tensor([0, 1, 2, 0, 1, 2])
    full = softmax_loss(hidden, vectors, targets)
    torch.testing.assert_close(full, F.cross_entropy(hidden @ vectors.T, targets))
    allowed = torch.tensor([True, True, True, False, False])
    torch.testing.assert_close(softmax_loss(hidden, vectors, targets, allowed),
                               F.cross_entropy(hidden @ vectors[:3].T, targets))


@pytest.mark.parametrize("chunk", [1, 4, 256])
def test_chunked_softmax_loss_has_cross_entropys_gradient(chunk):
    """The loss computes its gradient chunk by chunk in the forward pass; it must be
    autograd's gradient of ``F.cross_entropy``, with and without ``allowed``."""
    torch.manual_seed(0)
    hidden, vectors = torch.randn(9, 4, requires_grad=True), torch.randn(6, 4, requires_grad=True)
    targets = torch.tensor([0, 1, 2, 0, 1, 2, 3, 3, 0])
    for allowed in (None, torch.tensor([True, True, True, True, False, True])):
        logits = hidden @ vectors.T
        if allowed is not None:
            logits = logits.masked_fill(~allowed, float("-inf"))
        expected = torch.autograd.grad(3 * F.cross_entropy(logits, targets), [hidden, vectors])
        loss = softmax_loss(hidden, vectors, targets, allowed, chunk=chunk)
        for got, want in zip(torch.autograd.grad(3 * loss, [hidden, vectors]), expected):
            torch.testing.assert_close(got, want)
    frozen = vectors.detach()  # no gradient asked for the vectors: only the hidden states'
    (grad,) = torch.autograd.grad(softmax_loss(hidden, frozen, targets, chunk=chunk), [hidden])
    torch.testing.assert_close(grad, torch.autograd.grad(
        F.cross_entropy(hidden @ frozen.T, targets), [hidden])[0])


def test_dropout_keeps_the_expected_share_and_scale():
    torch.manual_seed(0)
    dropout = Dropout(0.3)
    out = dropout(torch.ones(200_000))
    kept = out[out != 0]
    torch.testing.assert_close(kept, torch.full_like(kept, 1 / 0.7))
    assert abs(float((out == 0).float().mean()) - 0.3) < 0.01
    dropout.eval()
    x = torch.randn(5)
    assert dropout(x) is x


def test_sampled_negatives_come_from_the_allowed_items():
    torch.manual_seed(0)
    hidden, vectors, targets = torch.randn(6, 4), torch.randn(5, 4), torch.tensor([0, 1, 2, 0, 1, 2])
    only_four = torch.tensor([False, False, False, False, True])  # every negative is item 4
    positive = (hidden * vectors[targets]).sum(-1)
    negative = hidden @ vectors[4]
    expected = F.softplus(-positive).mean() + F.softplus(negative).mean()
    torch.testing.assert_close(sampled_bce_loss(hidden, vectors, targets, only_four), expected)
    assert torch.isfinite(sampled_bce_loss(hidden, vectors, targets))


@pytest.mark.parametrize("model_class", [GRU4Rec, BERT4Rec, SASRec])
def test_the_shared_loss_is_the_full_softmax_at_the_targets(model_class, synthetic_split):
    model = model_class(**FAST).fit(synthetic_split.train)
    model.network_.eval()  # no dropout: the same forward pass twice
    inputs, targets = next(model.batches(np.random.default_rng(0)))
    hidden = model.network_(inputs)
    keep = targets > 0
    expected = F.cross_entropy(model.network_.logits(hidden[keep]), targets[keep] - 1)
    torch.testing.assert_close(model.training_loss((inputs, targets)), expected)


def test_training_is_deterministic(synthetic_split):
    split = synthetic_split
    a = SASRec(**FAST).fit(split.train).score(split.histories("test")[:4])
    b = SASRec(**FAST).fit(split.train).score(split.histories("test")[:4])
    np.testing.assert_array_equal(a, b)


def test_item_encoder_is_pluggable(synthetic_split):
    split = synthetic_split

    class Projected(nn.Module):  # frozen features, a learned projection
        def __init__(self, n_items: int, dim: int):
            super().__init__()
            self.register_buffer("features", torch.randn(n_items + 1, 8))
            self.projection = nn.Linear(8, dim, bias=False)

        def forward(self, tokens):
            return self.projection(self.features[tokens])

    model = SASRec(item_encoder=Projected, **FAST).fit(split.train)
    assert isinstance(model.network_.item_encoder, Projected)
    assert model.score(split.histories("test")[:3]).shape == (3, split.n_items)


def _cycle_data(n_items: int = 20, n_users: int = 40, length: int = 12, seed: int = 0) -> TrainData:
    """Histories that walk a fixed random cycle of the items: the next item is certain."""
    rng = np.random.default_rng(seed)
    cycle = rng.permutation(n_items)
    successor = np.empty(n_items, dtype=int)
    successor[cycle] = np.roll(cycle, -1)
    sequences = []
    for _ in range(n_users):
        seq = [int(rng.integers(n_items))]
        for _ in range(length - 1):
            seq.append(int(successor[seq[-1]]))
        sequences.append(np.array(seq))
    return TrainData(tuple(sequences), n_items, np.arange(1, n_items + 1), np.arange(1, n_users + 1))


@pytest.mark.parametrize("cls", [SASRec, GRU4Rec])
def test_overfits_a_deterministic_language(cls):
    data = _cycle_data()
    model = cls(max_len=12, dim=32, dropout=0.0, lr=1e-2, epochs=60, batch_size=40,
                progress=False, device="cpu").fit(data)
    prefixes = [s[:k] for s in data.sequences for k in range(1, len(s))]
    nexts = np.array([s[k] for s in data.sequences for k in range(1, len(s))])
    accuracy = (model.score(prefixes).argmax(1) == nexts).mean()
    assert accuracy > 0.98, accuracy


class _Scripted(SequenceRecommender):
    """A fake model whose weight grows by about one per epoch; it is perfect at 3."""

    def __init__(self, split):
        super().__init__(progress=False, device="cpu")
        self.split = split
        self.n_items_ = split.n_items
        self.network_ = nn.Linear(1, 1, bias=False)
        nn.init.zeros_(self.network_.weight)

    def batches(self, rng):
        yield (torch.ones(1, 1),)

    def training_loss(self, batch):
        return -self.network_(batch[0]).sum()

    def score(self, histories):
        scores = np.zeros((len(histories), self.n_items_))
        if abs(float(self.network_.weight.detach()) - 3.0) < 0.5:
            targets = self.split.targets("valid")[self.split.eval_users("valid")]
            scores[np.arange(len(histories)), targets] = 1.0
        return scores


def test_trainer_stops_early_and_restores_the_best_weights(synthetic_split):
    model = _Scripted(synthetic_split)
    log = Trainer(epochs=50, lr=1.0, patience=3, clip_grad=None, progress=False,
                  device="cpu").fit(model, synthetic_split)
    assert log.best_epoch == 3 and log.stopped == "patience"
    assert len(log.history) == 6
    assert log.best_score == pytest.approx(1.0)
    assert evaluate(model, synthetic_split, "valid")["ndcg@10"] == pytest.approx(1.0)


def test_trainer_time_budget(synthetic_split):
    log = Trainer(epochs=50, time_budget=0.0, progress=False, device="cpu").fit(
        _Scripted(synthetic_split), synthetic_split)
    assert log.stopped == "time budget" and len(log.history) == 1


def test_all_windows_cover_every_transition_once():
    model = SASRec(max_len=4, window="all")
    model.sequences_ = [np.arange(10), np.arange(3), np.arange(5)]
    windows = model.windows(np.random.default_rng(0))
    assert all(len(w) <= 5 for w in windows)
    pairs = sorted((int(a), int(b)) for w in windows for a, b in zip(w[:-1], w[1:]))
    expected = sorted((i, i + 1) for n in (10, 3, 5) for i in range(n - 1))
    assert pairs == expected


@pytest.mark.parametrize("window", ["last", "random", "all"])
def test_bert4rec_windows_fit_its_input(window):
    """BERT4Rec reads no shifted copy: its windows hold at most max_len items."""
    model = BERT4Rec(max_len=4, window=window)
    model.sequences_ = [np.arange(10), np.arange(100, 103), np.arange(200, 205)]
    windows = model.windows(np.random.default_rng(0))
    assert all(2 <= len(w) <= 4 for w in windows)
    assert all(np.array_equal(w, np.arange(w[0], w[0] + len(w))) for w in windows)  # contiguous
    if window == "all":  # every item of every history is in some window
        assert {int(i) for w in windows for i in w} == {int(i) for s in model.sequences_ for i in s}
    else:
        assert len(windows) == 3
