"""Chapter 03: the click-through data, the FM identity, attention, the training loop."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_tutorial.ctr import (
    FIELDS,
    AutoInt,
    CTRTensors,
    DCNv2,
    FactorizationMachine,
    Field,
    FieldEmbedding,
    InteractingLayer,
    LogisticRegression,
    TrainConfig,
    add_crosses,
    bucketize,
    build_fields,
    ctr_frame,
    ctr_metrics,
    encode,
    fit_ctr,
    fm_pairwise,
    fm_pairwise_naive,
    parameter_groups,
    softmax_last,
    time_split,
    zip_region,
)

# --- the FM identity ---------------------------------------------------------------

@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 5), fields=st.integers(1, 9), k=st.integers(1, 8), seed=st.integers(0, 10_000))
def test_fm_identity_matches_naive_sum(n, fields, k, seed):
    v = torch.randn(n, fields, k, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    torch.testing.assert_close(fm_pairwise(v), fm_pairwise_naive(v))


def test_fm_pair_strengths_are_symmetric_with_zero_diagonal(split):
    fields = build_fields(split.train)
    model = FactorizationMachine(fields, k=4)
    s = model.pair_strengths(encode(split.valid, fields).ids)
    assert s.shape == (len(FIELDS), len(FIELDS))
    torch.testing.assert_close(s, s.T)
    assert torch.all(s.diagonal() == 0) and torch.all(s >= 0)


# --- attention ---------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(7,), (4, 7), (3, 2, 5, 7), (2, 3, 8, 8)])
def test_softmax_last_equals_torch_softmax(shape):
    x = 3 * torch.randn(*shape)
    torch.testing.assert_close(softmax_last(x), torch.softmax(x, dim=-1))


def test_interacting_layer_shapes_and_normalised_weights():
    layer = InteractingLayer(in_dim=6, head_dim=4, heads=3)
    out, weights = layer(torch.randn(5, 8, 6))
    assert out.shape == (5, 8, 12)
    assert weights.shape == (5, 3, 8, 8)
    torch.testing.assert_close(weights.sum(-1), torch.ones(5, 3, 8))


def test_masked_fields_get_no_attention_and_do_not_leak():
    torch.manual_seed(0)
    layer = InteractingLayer(in_dim=4, head_dim=4, heads=2)
    e = torch.randn(2, 5, 4)
    mask = torch.tensor([[True, True, False, True, False], [True, False, False, False, False]])
    out, weights = layer(e, mask)
    assert torch.all(weights[..., ~mask[0]][0] == 0)
    assert torch.all(weights[1, :, :, 1:] == 0)
    changed = e.clone()
    changed[0, 2] += 10.0  # a masked field's value changes ...
    out2, _ = layer(changed, mask)
    keep = [0, 1, 3, 4]  # ... the other fields' outputs do not
    torch.testing.assert_close(out2[0, keep], out[0, keep])


def test_fully_masked_row_gives_zero_weights_not_nan():
    layer = InteractingLayer(in_dim=4, head_dim=2, heads=1)
    out, weights = layer(torch.randn(1, 3, 4), torch.zeros(1, 3, dtype=torch.bool))
    assert not torch.isnan(out).any() and torch.all(weights == 0)


def xor_task(n: int, seed: int, n_fields: int = 6, vocab: int = 8) -> CTRTensors:
    """Six random fields; the label is the parity of f0 XOR that of f1, so only that pair matters."""
    g = torch.Generator().manual_seed(seed)
    fields = tuple(Field(f"f{i}", tuple(str(v) for v in range(vocab))) for i in range(n_fields))
    ids = tuple(torch.randint(1, vocab + 1, (n,), generator=g) for _ in fields)
    return CTRTensors(fields, ids, ((ids[0] % 2) ^ (ids[1] % 2)).float())


def test_attention_finds_the_interacting_pair():
    # Trained through the shared loop *with* weight decay: Adam's coupled L2 on the query
    # and key projections used to drive the attention to uniform (about 0.21 here).
    torch.manual_seed(0)
    train, valid = xor_task(3000, seed=0), xor_task(1000, seed=1)
    model = AutoInt(train.fields, dim=8, head_dim=8, heads=1, layers=1)
    config = TrainConfig(epochs=8, batch_size=256, lr=1e-2, weight_decay=1e-3, patience=3, monitor="log_loss")
    fit_ctr(model, train, valid, config, progress=False)
    assert ctr_metrics(model, valid)["auc"] > 0.95
    a = model.attention(valid.ids)[0].mean(dim=(0, 1))  # (fields, fields)
    uniform = 1 / len(train.fields)
    assert a[0, 1] > 2 * uniform and a[1, 0] > 2 * uniform, a
    assert a[0, 1] == a[0, 1:].max() and a[1, 0] == a[1, [0, 2, 3, 4, 5]].max()


# --- models ------------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    LogisticRegression,
    lambda f: FactorizationMachine(f, k=4),
    lambda f: AutoInt(f, dim=4, head_dim=4, heads=2, layers=2, mask_unknown=True),
    lambda f: DCNv2(f, dim=4, cross_layers=2, hidden=(8,)),
])
def test_models_give_one_logit_per_example(split, make):
    fields = build_fields(split.train)
    data = encode(split.valid, fields)
    assert make(fields)(data.ids).shape == (len(data),)


def test_autoint_attention_shapes(split):
    fields = build_fields(split.train)
    data = encode(split.valid, fields)
    attention = AutoInt(fields, dim=4, head_dim=3, heads=2, layers=3).attention(data.ids)
    assert len(attention) == 3
    assert all(a.shape == (len(data), 2, len(fields), len(fields)) for a in attention)


def test_bag_embedding_is_the_mean_over_present_values():
    fields = build_fields(pd.DataFrame({"genres": [["a", "b", "c"]]}), ["genres"])
    embed = FieldEmbedding(fields, dim=3)
    ids = torch.tensor([[1, 2, -1], [3, -1, -1]])
    out = embed([ids])
    table = embed.tables[0].weight
    torch.testing.assert_close(out[0, 0], (table[1] + table[2]) / 2)
    torch.testing.assert_close(out[1, 0], table[3])


# --- training ----------------------------------------------------------------------

def test_training_restores_the_best_validation_state(split):
    fields = build_fields(split.train)
    train, valid = encode(split.train, fields), encode(split.valid, fields)
    torch.manual_seed(0)
    model = FactorizationMachine(fields, k=8)
    config = TrainConfig(epochs=8, batch_size=64, lr=0.05, patience=3, seed=0)
    result = fit_ctr(model, train, valid, config, progress=False)
    aucs = [h["valid_auc"] for h in result.history]
    assert result.best_epoch < len(aucs), "the scenario should overfit, so the last epoch is not the best"
    assert result.best_epoch == int(np.argmax(aucs)) + 1
    assert ctr_metrics(model, valid)["auc"] == pytest.approx(max(aucs))


def test_weight_decay_reaches_embedding_tables_only(split):
    fields = build_fields(split.train)
    model = AutoInt(fields, dim=4, head_dim=4, heads=2, layers=1)
    decayed, free = parameter_groups(model, 1e-4)
    assert decayed["weight_decay"] == 1e-4 and free["weight_decay"] == 0.0
    tables = {id(t.weight) for t in [*model.embedding.tables, *model.linear.tables]}
    assert {id(p) for p in decayed["params"]} == tables
    assert any(p is model.layers[0].query.weight for p in free["params"])
    assert len(decayed["params"]) + len(free["params"]) == len(list(model.parameters()))


def test_training_is_deterministic(split):
    fields = build_fields(split.train)
    train, valid = encode(split.train, fields), encode(split.valid, fields)
    config = TrainConfig(epochs=2, batch_size=128, lr=0.01, seed=3, unknown_dropout={"user": 0.2})
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = LogisticRegression(fields)
        runs.append(fit_ctr(model, train, valid, config, progress=False).history)
    assert runs[0] == runs[1]


# --- data --------------------------------------------------------------------------

def test_unseen_values_fall_in_the_unknown_bucket():
    train = pd.DataFrame({"user": ["1", "2"], "genres": [["Drama"], ["Comedy", "Drama"]], "label": [0, 1]})
    test = pd.DataFrame({"user": ["2", "99", None], "genres": [["Drama", "Western"], ["Comedy"], []],
                         "label": [1, 0, 1]})
    fields = build_fields(train, ["user", "genres"])
    user, genres = encode(test, fields).ids
    assert user.tolist() == [2, 0, 0]
    assert genres.tolist() == [[fields[1].index["Drama"], 0], [fields[1].index["Comedy"], -1], [-1, -1]]


def test_vocabulary_comes_from_training_rows_only(split):
    fields = {f.name: f for f in build_fields(split.train)}
    assert set(fields["user"].vocab) == set(split.train["user"])
    assert set(fields["item"].vocab) == set(split.train["item"])


def test_time_split_has_no_leakage_and_partitions_the_rows(tiny_movielens):
    frame = ctr_frame(tiny_movielens(0))
    s = time_split(frame)
    assert s.train["timestamp"].max() <= s.cutoffs[0] < s.valid["timestamp"].min()
    assert s.valid["timestamp"].max() <= s.cutoffs[1] < s.test["timestamp"].min()
    rows = np.concatenate([s.rows["train"], s.rows["valid"], s.rows["test"]])
    assert np.array_equal(np.sort(rows), np.arange(len(frame)))
    assert time_split(frame).fingerprint == s.fingerprint
    other = time_split(ctr_frame(tiny_movielens(1)))
    assert other.fingerprint != s.fingerprint


def test_ties_at_a_cutoff_stay_on_one_side():
    frame = pd.DataFrame({"timestamp": [1, 2, 2, 2, 2, 3, 4, 5, 6, 7], "label": [0] * 10})
    s = time_split(frame, (0.3, 0.7))
    assert (s.train["timestamp"] == 2).sum() in (0, 4)
    assert not set(s.train["timestamp"]) & set(s.valid["timestamp"])


def test_buckets_and_regions():
    ages = bucketize(pd.Series([7, 18, 24, 25, 56, 73, None]), (18, 25, 35, 45, 50, 56))
    assert ages.tolist() == ["<18", "18-24", "18-24", "25-34", "56+", "56+", None]
    assert zip_region(pd.Series(["02139", "T8H1N", None])).tolist() == ["0", "other", "other"]


def test_crosses_with_a_bag_field_are_bags():
    frame = pd.DataFrame({"age": ["25-34"], "gender": ["F"], "genres": [["Comedy", "Romance"]]})
    out = add_crosses(frame, [("age", "genres"), ("age", "gender")])
    assert out.loc[0, "age*genres"] == ["25-34|Comedy", "25-34|Romance"]
    assert out.loc[0, "age*gender"] == "25-34|F"


@settings(max_examples=50, deadline=None)
@given(bags=st.lists(st.lists(st.sampled_from(["a", "b", "c", "unseen"]), max_size=4), max_size=6))
def test_bags_are_encoded_value_by_value_and_padded(bags):
    (genres,) = build_fields(pd.DataFrame({"genres": [["a", "b", "c"]]}), ["genres"])
    (ids,) = encode(pd.DataFrame({"genres": bags, "label": [0] * len(bags)}), [genres]).ids
    width = max([1, *map(len, bags)])
    expected = [[genres.index.get(v, 0) for v in bag] + [-1] * (width - len(bag)) for bag in bags]
    assert ids.dtype == torch.long and tuple(ids.shape) == (len(bags), width)
    assert ids.tolist() == expected
