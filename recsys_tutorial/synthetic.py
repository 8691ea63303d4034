"""A small synthetic "platform language" with known ground truth.

Items belong to topics and have Zipf-like popularity; users have tastes over topics;
and histories have sequential structure: with probability ``p_follow`` the next item is
the previous item's fixed *successor* (a sequel, the next episode), otherwise a fresh
draw from the user's tastes. Models can then be checked against what is known to be
true, in seconds. Used by the tests and the exercises; introduced in
:doc:`/notebooks/00_language_of_a_platform`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .data import GENRES, MovieLens


@dataclass(frozen=True)
class SyntheticPlatform:
    """Interactions in MovieLens's shape plus the truth that generated them.

    ``interactions`` has ``user_id, item_id, rating, timestamp`` (ids start at 1 like
    MovieLens); ``item_topic[i]``, ``successor[i]`` and ``popularity[i]`` describe item
    id ``i + 1``; ``user_taste[u]`` is user id ``u + 1``'s topic distribution.
    """

    interactions: pd.DataFrame
    item_topic: np.ndarray
    successor: np.ndarray
    popularity: np.ndarray
    user_taste: np.ndarray

    def to_movielens(self) -> MovieLens:
        """The platform as a :class:`~recsys_tutorial.data.MovieLens` catalogue, for code
        that reads the catalogue too (the text models read ``items``).

        Item id ``i + 1`` is titled ``"Film i+1 (year)"``, its one genre named after its
        topic (topic ``t`` is MovieLens's genre ``t + 1``: Action, Adventure, ...); users
        have no attributes. Chapter 00.
        """
        ids = np.arange(1, len(self.item_topic) + 1)
        years = 1950 + (ids * 7) % 50
        genres = [[GENRES[1 + t % (len(GENRES) - 1)]] for t in self.item_topic]
        items = pd.DataFrame(
            {"title": [f"Film {i} ({y})" for i, y in zip(ids, years)], "year": years, "genres": genres},
            index=pd.Index(ids, name="item_id"),
        )
        users = pd.DataFrame(index=pd.Index(np.arange(1, len(self.user_taste) + 1), name="user_id"))
        return MovieLens(self.interactions, items, users, Path("synthetic"))


def make_platform(
    n_users: int = 200,
    n_items: int = 100,
    n_topics: int = 5,
    length: tuple[int, int] = (10, 30),
    p_follow: float = 0.5,
    zipf: float = 1.0,
    taste_concentration: float = 0.3,
    seed: int = 0,
) -> SyntheticPlatform:
    """Generate a platform; every argument has a small, fast default. Chapter 00."""
    if n_items < n_topics or n_topics < 1:
        raise ValueError("need at least one topic and at least as many items as topics")
    if not 0 <= p_follow <= 1:
        raise ValueError("p_follow is a probability: 0 <= p_follow <= 1")
    lo, hi = length
    if not 1 <= lo <= hi:
        raise ValueError("length must be (min, max) with 1 <= min <= max")
    if hi > n_items:
        raise ValueError("histories cannot be longer than the catalogue (no repeats)")
    rng = np.random.default_rng(seed)
    item_topic = rng.permutation(np.arange(n_items) % n_topics)
    popularity = 1.0 / np.arange(1, n_items + 1) ** zipf
    popularity = rng.permutation(popularity)
    popularity /= popularity.sum()
    successor = np.empty(n_items, dtype=np.int64)
    for topic in range(n_topics):  # a random cycle inside each topic
        members = rng.permutation(np.flatnonzero(item_topic == topic))
        successor[members] = np.roll(members, -1)
    user_taste = rng.dirichlet(np.full(n_topics, taste_concentration), size=n_users)
    topic_items = [np.flatnonzero(item_topic == t) for t in range(n_topics)]

    rows = []
    for user in range(n_users):
        seen: set[int] = set()
        previous = -1
        for step in range(int(rng.integers(lo, hi + 1))):
            item = -1
            if previous >= 0 and rng.random() < p_follow and successor[previous] not in seen:
                item = int(successor[previous])
            while item < 0 or item in seen:
                pool = topic_items[rng.choice(n_topics, p=user_taste[user])]
                weights = popularity[pool] / popularity[pool].sum()
                item = int(rng.choice(pool, p=weights))
                if all(i in seen for i in pool):  # topic exhausted: any unseen item
                    unseen = np.setdiff1d(np.arange(n_items), list(seen))
                    item = int(rng.choice(unseen))
            seen.add(item)
            rows.append((user + 1, item + 1, 5, 1_000_000 + 60 * step))
            previous = item
    interactions = pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"])
    return SyntheticPlatform(interactions, item_topic, successor, popularity, user_taste)


def make_large_platform(
    n_interactions: int,
    n_items: int,
    n_topics: int = 20,
    length: tuple[int, int] = (10, 70),
    p_follow: float = 0.5,
    zipf: float = 1.0,
    taste_concentration: float = 0.3,
    seed: int = 0,
) -> SyntheticPlatform:
    """:func:`make_platform`'s process, vectorised over users, for millions of events.

    The same catalogue (topics, Zipf popularity, successor cycles) and tastes, but one
    step is drawn for all users at once, so a user may meet an item again (a successor
    or a fresh draw is not checked against the history). About ``n_interactions``
    events: ``n_interactions / mean length`` users. Used by the scaling benchmark,
    :doc:`/book/scale`.
    """
    if n_items < n_topics or n_topics < 1:
        raise ValueError("need at least one topic and at least as many items as topics")
    lo, hi = length
    if not 1 <= lo <= hi:
        raise ValueError("length must be (min, max) with 1 <= min <= max")
    rng = np.random.default_rng(seed)
    item_topic = rng.permutation(np.arange(n_items) % n_topics)
    popularity = rng.permutation(1.0 / np.arange(1, n_items + 1) ** zipf)
    popularity /= popularity.sum()
    successor = np.empty(n_items, dtype=np.int64)
    for topic in range(n_topics):
        members = rng.permutation(np.flatnonzero(item_topic == topic))
        successor[members] = np.roll(members, -1)
    n_users = max(1, round(n_interactions / ((lo + hi) / 2)))
    user_taste = rng.dirichlet(np.full(n_topics, taste_concentration), size=n_users)
    taste_cdf = np.cumsum(user_taste, axis=1)
    # items sorted by topic; topic t's popularity CDF runs over (t, t + 1]
    by_topic = np.argsort(item_topic, kind="stable")
    sizes = np.bincount(item_topic, minlength=n_topics)
    bounds = np.cumsum(sizes)
    cdf = np.concatenate([
        t + np.cumsum(popularity[part]) / popularity[part].sum()
        for t, part in enumerate(np.split(by_topic, bounds[:-1]))
    ])
    cdf[bounds - 1] = np.arange(1, n_topics + 1)  # exact top of each topic's range
    lengths = rng.integers(lo, hi + 1, size=n_users)
    items = np.empty((n_users, hi), dtype=np.int64)
    for step in range(hi):
        topic = np.minimum((rng.random(n_users)[:, None] > taste_cdf).sum(axis=1), n_topics - 1)
        draw = np.searchsorted(cdf, topic + rng.random(n_users), side="right")
        fresh = by_topic[np.minimum(draw, bounds[topic] - 1)]
        if step:
            follow = rng.random(n_users) < p_follow
            fresh = np.where(follow, successor[items[:, step - 1]], fresh)
        items[:, step] = fresh
    keep = np.arange(hi)[None, :] < lengths[:, None]
    users, steps = np.nonzero(keep)
    interactions = pd.DataFrame({
        "user_id": users + 1, "item_id": items[keep] + 1, "rating": 5,
        "timestamp": 1_000_000 + 60 * steps,
    })
    return SyntheticPlatform(interactions, item_topic, successor, popularity, user_taste)
