"""Auto-checks accept the reference solutions, reject wrong answers, never leak the answer."""

from __future__ import annotations

import numpy as np
import pytest

from recsys_tutorial import Popularity, leave_one_out_split, load_movielens_100k
from recsys_tutorial.exercises import CHECKS, check


@pytest.fixture(scope="module")
def movielens(movielens_dir):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RECSYS_TUTORIAL_DATA", str(movielens_dir))
        data = load_movielens_100k()
        yield data, leave_one_out_split(data.interactions)


def _no_leak(feedback, *values) -> None:
    assert not feedback.correct
    for value in values:
        assert f"{value}" not in feedback.message and f"{value:.3f}" not in feedback.message


def test_ties(movielens, monkeypatch):
    data, _ = movielens
    frame = data.interactions
    reference = (frame.groupby(["user_id", "timestamp"])["item_id"].transform("size") > 1).mean()
    assert check("ex-00-ties", reference)
    _no_leak(check("ex-00-ties", reference * 100), reference)  # a percentage gets its own hint
    _no_leak(check("ex-00-ties", 0.5), reference)
    assert not check("ex-00-ties", "a lot")


def test_by_hand(movielens):
    _, split = movielens
    history = split.histories("test")[0]
    scores = Popularity().fit(split.train).score([history])[0]
    target = split.test_targets[0]
    candidates = np.ones(split.n_items, dtype=bool)
    candidates[history] = False
    candidates[target] = True
    greater = int((scores[candidates] > scores[target]).sum())
    tied = int((scores[candidates] == scores[target]).sum()) - 1
    assert check("ex-00-by-hand", greater, tied)
    everything = int((scores > scores[target]).sum())  # forgot to drop the history
    feedback = check("ex-00-by-hand", everything, tied)
    assert not feedback and "history" in feedback.message
    assert not check("ex-00-by-hand", greater - 1, tied)


def test_trigram(movielens):
    _, split = movielens
    triples = {t for s in split.train.sequences for t in zip(s[:-2], s[1:-1], s[2:])}
    assert check("ex-01-trigram", len(triples))
    total = sum(max(len(s) - 2, 0) for s in split.train.sequences)
    assert not check("ex-01-trigram", total)  # counted occurrences, not distinct triples
    assert str(len(triples)) not in check("ex-01-trigram", total).message


def test_unknown_label_lists_the_known_ones():
    with pytest.raises(KeyError, match="ex-00-ties"):
        check("ex-99-nothing", 1)
    assert len(CHECKS) >= 3


def _reference_window(sequences, window, rng):
    pairs = []
    for seq in sequences:
        sizes = rng.integers(1, window + 1, size=len(seq))
        for pos, size in enumerate(sizes):
            for ctx in range(max(0, pos - size), min(len(seq), pos + size + 1)):
                if ctx != pos:
                    pairs.append((seq[pos], seq[ctx]))
    return np.array(pairs)


def _fixed_window(sequences, window, rng):
    return np.array([(s[i], s[j]) for s in sequences for i in range(len(s))
                     for j in range(max(0, i - window), min(len(s), i + window + 1)) if i != j])


def test_reduced_window():
    assert check("ex-02-window", _reference_window)
    assert not check("ex-02-window", _fixed_window)  # every neighbour always paired
    assert not check("ex-02-window", lambda s, w, r: np.zeros(3))
    assert "raised" in check("ex-02-window", lambda s, w, r: 1 / 0).message


def test_sessions_cold_and_genres(movielens):
    from recsys_tutorial.split import order_interactions

    data, split = movielens
    ordered = order_interactions(data.interactions)
    sessions = 0
    for (_, group), train in zip(ordered.groupby("user_id"), split.train.sequences):
        times = group["timestamp"].to_numpy()[: len(train)]
        sessions += 1 + int((np.diff(times) > 3600).sum())
    assert check("ex-02-sessions", sessions)
    assert not check("ex-02-sessions", split.n_users)
    counts = split.train.item_counts()
    cold = int((counts[split.test_targets] <= 5).sum())
    assert check("ex-02-cold", cold) and not check("ex-02-cold", cold + 1)
    lists = data.items["genres"].map(tuple).nunique()
    assert check("ex-05-genres", lists)
    assert not check("ex-05-genres", 19)  # distinct genres, not lists
    assert str(lists) not in check("ex-05-genres", 19).message
