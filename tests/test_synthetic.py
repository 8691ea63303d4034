"""The synthetic platform generator."""

from __future__ import annotations

import numpy as np
import pytest

from recsys_tutorial import make_platform


def test_deterministic_and_well_formed():
    a, b = make_platform(seed=5), make_platform(seed=5)
    assert a.interactions.equals(b.interactions)
    frame = a.interactions
    assert not frame.duplicated(["user_id", "item_id"]).any()
    lengths = frame.groupby("user_id").size()
    assert lengths.between(10, 30).all()
    assert np.allclose(a.user_taste.sum(axis=1), 1.0)
    assert (a.item_topic[a.successor] == a.item_topic).all()


def test_follow_probability_controls_sequels():
    p = make_platform(p_follow=0.9, seed=2)
    frame = p.interactions.sort_values(["user_id", "timestamp"])
    follows, total = 0, 0
    for _, group in frame.groupby("user_id"):
        items = group["item_id"].to_numpy() - 1
        follows += (p.successor[items[:-1]] == items[1:]).sum()
        total += len(items) - 1
    assert follows / total > 0.6


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="p_follow"):
        make_platform(p_follow=2.0)
    with pytest.raises(ValueError, match="longer"):
        make_platform(n_items=5, n_topics=1, length=(3, 10))


def test_as_a_movielens_catalogue():
    world = make_platform(n_users=20, n_items=30, n_topics=3, seed=2)
    data = world.to_movielens()
    assert data.interactions is world.interactions
    assert list(data.items.index) == list(range(1, 31))
    assert {"title", "year", "genres"} <= set(data.items.columns)
    genre_of_topic = {}
    for topic, genres in zip(world.item_topic, data.items["genres"]):
        assert genre_of_topic.setdefault(topic, genres[0]) == genres[0]  # one genre per topic
    assert len(set(genre_of_topic.values())) == 3
    assert data.titles([2, 1]).tolist() == [data.items.title[2], data.items.title[1]]
    assert len(data.users) == 20
