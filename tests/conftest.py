"""Shared fixtures: the synthetic platform, and the local MovieLens copy when present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from recsys_tutorial import leave_one_out_split, make_platform
from recsys_tutorial.data import ENV_VAR


@pytest.fixture(scope="session")
def platform():
    return make_platform(n_users=120, n_items=60, n_topics=4, seed=1)


@pytest.fixture(scope="session")
def synthetic_split(platform):
    return leave_one_out_split(platform.interactions)


@pytest.fixture(scope="session")
def movielens_dir() -> Path:
    """The directory holding ml-100k/ ($RECSYS_TUTORIAL_DATA or ../shared/data)."""
    candidates = [os.environ.get(ENV_VAR), Path(__file__).resolve().parents[2] / "shared" / "data"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "ml-100k" / "u.data").exists():
            return Path(candidate)
    if os.environ.get("CI"):
        pytest.fail(f"CI must provide MovieLens-100k through {ENV_VAR}")
    pytest.skip(f"MovieLens-100k not found: set {ENV_VAR} to a directory holding ml-100k/")


@pytest.fixture
def one_thread():
    """Tiny tensors: one torch thread is faster, and immune to a busy machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
