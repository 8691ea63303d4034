"""Every model registered in ``bench.MODELS`` follows the protocol of
:mod:`recsys_tutorial.protocol`, checked on the synthetic platform.

:func:`check_recommender` states the rules once; it runs over every registered name,
and it is shown to fail on models that break a rule. Models that train by epochs train
for one (and without a progress bar): these checks are about the protocol, not quality.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pytest

from recsys_tutorial import Popularity, leave_one_out_split, make_platform
from recsys_tutorial.bench import MODELS
from recsys_tutorial.data import MovieLens
from recsys_tutorial.protocol import NotFittedError
from recsys_tutorial.split import LeaveOneOutSplit

Factory = Callable[[MovieLens, int], object]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> tuple[MovieLens, LeaveOneOutSplit]:
    # text vectors are cached on disk: in a folder of this test run, not the user's cache
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        data = make_platform(n_users=40, n_items=30, n_topics=3, length=(4, 12), seed=3).to_movielens()
        yield data, leave_one_out_split(data.interactions)


def quick(factory: Factory) -> Factory:
    """``factory`` with one epoch of training and no progress bar, where the model has them."""

    def make(data: MovieLens, seed: int) -> object:
        model = factory(data, seed)
        names = {f.name for f in dataclasses.fields(model)}
        return dataclasses.replace(
            model, **{k: v for k, v in {"epochs": 1, "progress": False}.items() if k in names}
        )

    return make


def check_recommender(factory: Factory, data: MovieLens, split: LeaveOneOutSplit, seed: int = 0) -> None:
    """Raise ``AssertionError`` naming the first rule of the protocol the model breaks."""
    histories = [np.array([], dtype=np.int64), np.array([0]), np.array([split.n_items - 1])]
    histories += split.histories("test")[:3]
    model = factory(data, seed)
    try:
        model.score(histories)
    except NotFittedError as err:
        assert "fit" in str(err), f"the NotFittedError should say to call fit: {err}"
    else:
        raise AssertionError("score before fit should raise NotFittedError")
    fitted = model.fit(split.train, valid=split)
    assert fitted is model, f"fit should return the model itself, not {fitted!r:.60}"
    scores = model.score(histories)
    assert isinstance(scores, np.ndarray), f"score should return a numpy array, not {type(scores)}"
    assert scores.shape == (len(histories), split.n_items), (
        f"score should return shape {(len(histories), split.n_items)}, not {scores.shape}"
    )
    assert np.issubdtype(scores.dtype, np.floating), f"scores should be floats, not {scores.dtype}"
    assert np.isfinite(scores).all(), "scores should be finite (no NaN or inf)"
    alone = model.score(histories[:1])
    assert alone.shape == (1, split.n_items), f"one empty history gave shape {alone.shape}"
    again = factory(data, seed).fit(split.train, valid=split).score(histories)
    assert np.array_equal(scores, again), "two fits with the same seed should give equal scores"
    n = model.n_parameters
    assert isinstance(n, int) and not isinstance(n, bool) and n >= 0, (
        f"n_parameters should be a non-negative int, not {n!r}"
    )


@pytest.mark.parametrize("name", list(MODELS))
def test_registered_model_follows_the_protocol(name, world):
    check_recommender(quick(MODELS[name]), *world)


# Models that break one rule each: the check must catch every one.
class FitReturnsNone(Popularity):
    def fit(self, train, valid=None):
        super().fit(train, valid)


class WrongShape(Popularity):
    def score(self, histories):
        return super().score(histories)[:, 1:]


class NaNForEmptyHistories(Popularity):
    def score(self, histories):
        scores = super().score(histories)
        scores[[len(h) == 0 for h in histories]] = np.nan
        return scores


class IntegerScores(Popularity):
    def score(self, histories):
        return super().score(histories).astype(np.int64)


class ScoresBeforeFit:
    n_parameters = 0

    def fit(self, train, valid=None):
        self.n_items = train.n_items
        return self

    def score(self, histories):
        return np.zeros((len(histories), getattr(self, "n_items", 1)))


class Unseeded(Popularity):
    def score(self, histories):
        return super().score(histories) + np.random.default_rng().random()


class CountAsFloat(Popularity):
    @property
    def n_parameters(self):
        return float(super().n_parameters)


@pytest.mark.parametrize(("model", "rule"), [
    (FitReturnsNone, "return the model itself"),
    (WrongShape, "shape"),
    (NaNForEmptyHistories, "finite"),
    (IntegerScores, "floats"),
    (ScoresBeforeFit, "NotFittedError"),
    (Unseeded, "same seed"),
    (CountAsFloat, "non-negative int"),
], ids=lambda value: value.__name__ if isinstance(value, type) else "")
def test_the_check_fails_on_a_model_that_breaks_the_protocol(model, rule, world):
    with pytest.raises(AssertionError, match=rule):
        check_recommender(lambda data, seed: model(), *world)


def test_the_check_passes_the_reference_model(world):
    check_recommender(lambda data, seed: Popularity(), *world)
