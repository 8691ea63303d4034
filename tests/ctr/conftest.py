"""Chapter 03's fixtures: the synthetic platform dressed as MovieLens, and its time split."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from recsys_tutorial.ctr import TimeSplit, ctr_frame, time_split
from recsys_tutorial.data import GENRES, MovieLens
from recsys_tutorial.synthetic import make_platform


def _tiny_movielens(seed: int = 0) -> MovieLens:
    """Users with demographics, items with years and genres, ratings and times at random."""
    platform = make_platform(n_users=60, n_items=40, seed=seed)
    rng = np.random.default_rng(seed)
    x = platform.interactions.copy()
    x["rating"] = rng.integers(1, 6, len(x))
    x["timestamp"] = rng.integers(0, 10_000, len(x))
    users = pd.DataFrame(
        {
            "age": rng.integers(10, 70, 60),
            "gender": rng.choice(["M", "F"], 60),
            "occupation": rng.choice(["student", "writer", "other"], 60),
            "zip": rng.choice(["02139", "94043", "T8H1N", "55414"], 60),
        },
        index=pd.Index(np.arange(1, 61), name="user_id"),
    )
    items = pd.DataFrame(
        {
            "title": [f"movie {i}" for i in range(1, 41)],
            "year": pd.array(rng.integers(1930, 1999, 40), dtype="Int64"),
            "genres": [list(rng.choice(GENRES[1:], rng.integers(1, 4), replace=False)) for _ in range(40)],
        },
        index=pd.Index(np.arange(1, 41), name="item_id"),
    )
    return MovieLens(interactions=x, items=items, users=users, path=None)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def tiny_movielens() -> Callable[[int], MovieLens]:
    """``tiny_movielens(seed)``: a small MovieLens-like data set, the same for a seed."""
    return _tiny_movielens


@pytest.fixture(scope="module")
def split(tiny_movielens) -> TimeSplit:
    return time_split(ctr_frame(tiny_movielens(0)))
