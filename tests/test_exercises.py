"""Auto-checks accept the reference answers, reject wrong ones with a hint, never leak them.

The reference computations live here, not in the package: ``recsys_tutorial.exercises``
stores only salted digests of the values computed below.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_tutorial import Popularity, exercises, leave_one_out_split, load_movielens_100k
from recsys_tutorial.data import DataError
from recsys_tutorial.exercises import CHECKS, check, functions, numeric
from recsys_tutorial.split import order_interactions

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
FAST = settings(max_examples=40, deadline=None, derandomize=True)


@pytest.fixture(scope="module")
def movielens(movielens_dir):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RECSYS_TUTORIAL_DATA", str(movielens_dir))
        data = load_movielens_100k()
        split = leave_one_out_split(data.interactions)
        assert split.fingerprint == exercises.COURSE_FINGERPRINT
        numeric._course_fingerprint.cache_clear()
        numeric._course_fingerprint()  # computed from the fixture's data, then cached
        yield data, split


@pytest.fixture(scope="module")
def references(movielens):
    """The right answer of every numeric check, computed from the data."""
    data, split = movielens
    frame = data.interactions
    tied = frame.groupby(["user_id", "timestamp"])["item_id"].transform("size") > 1
    popularity = Popularity().fit(split.train)
    history, target = split.histories("test")[0], split.test_targets[0]
    scores = popularity.score([history])[0]
    candidates = np.ones(split.n_items, dtype=bool)
    candidates[history] = False
    candidates[target] = True
    counts = split.train.item_counts()
    targets = split.test_targets[split.eval_users("test")]
    return {
        "ex-00-ties": float(tied.mean()),
        "ex-00-by-hand": (int((scores[candidates] > scores[target]).sum()),
                          int((scores[candidates] == scores[target]).sum()) - 1),
        "ex-01-trigram": len(_triples(split.train.sequences)),
        "ex-02-sessions": _sessions(_user_times(data), [len(s) for s in split.train.sequences]),
        "ex-02-cold": int((counts[targets] <= 5).sum()),
        "ex-05-genres": data.items["genres"].map(tuple).nunique(),
    }


def _triples(sequences) -> set[tuple[int, int, int]]:
    return {t for s in sequences for t in zip(s[:-2].tolist(), s[1:-1].tolist(), s[2:].tolist())}


def _user_times(data) -> list[np.ndarray]:
    ordered = order_interactions(data.interactions)
    return [rows["timestamp"].to_numpy() for _, rows in ordered.groupby("user_id", sort=True)]


def _sessions(user_times, cut_lengths, gap=3600, min_ratings=2) -> int:
    """Sessions (runs without a gap over ``gap`` seconds) of the first ratings of each user."""
    n = 0
    for times, length in zip(user_times, cut_lengths):
        times = times[:length]
        parts = np.split(times, np.flatnonzero(np.diff(times) > gap) + 1)
        n += sum(len(p) >= min_ratings for p in parts)
    return n


def _wrong(feedback, *fragments: str) -> None:
    assert not feedback, feedback
    for fragment in fragments:
        assert fragment in feedback.message, feedback.message


class AlwaysEqual:
    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


class LyingInt(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


def test_reference_answers_pass(references):
    for label, answer in references.items():
        args = answer if isinstance(answer, tuple) else (answer,)
        assert check(label, *args), label
    assert check("ex-00-by-hand", *map(np.int64, references["ex-00-by-hand"]))
    assert check("ex-05-genres", np.int32(references["ex-05-genres"]))


def test_the_package_does_not_show_the_answers(references):
    files = sorted(Path(exercises.__file__).parent.glob("*.py"))  # every module of the package
    assert len(files) > 1
    source = "\n".join(p.read_text() for p in files)
    for label, answer in references.items():
        for value in answer if isinstance(answer, tuple) else (answer,):
            shown = f"{value:.3f}"[1:] if isinstance(value, float) else f"{value}"
            assert not re.search(rf"(?<![0-9a-f]){re.escape(shown)}(?![0-9a-f])", source), label


@pytest.mark.parametrize("label", [label for label in CHECKS if label != "ex-00-by-hand"])
@pytest.mark.parametrize("bad", ["12", True, None, np.array([1.0]), AlwaysEqual(), [3], 2j])
def test_wrong_types_get_feedback_not_a_traceback(movielens, label, bad):
    feedback = check(label, bad)
    expected = "function" if label == "ex-02-window" else ("int" if label != "ex-00-ties" else "float")
    _wrong(feedback)
    assert expected in feedback.message or "Pass the function itself" in feedback.message


def test_always_equal_objects_fail(movielens, references):
    _wrong(check("ex-01-trigram", AlwaysEqual()), "int")
    _wrong(check("ex-00-by-hand", AlwaysEqual(), AlwaysEqual()), "int")
    _wrong(check("ex-00-ties", AlwaysEqual()), "float")
    # an int subclass is judged by its value, whatever its == says
    _wrong(check("ex-01-trigram", LyingInt(references["ex-01-trigram"] + 1)))
    assert check("ex-01-trigram", LyingInt(references["ex-01-trigram"]))
    _wrong(check("ex-01-trigram", float(references["ex-01-trigram"])), "int(value)")
    _wrong(check("ex-00-ties", math.nan), "finite")
    _wrong(check("ex-00-ties", 1e308), "Ties: the rule")
    _wrong(check("ex-02-sessions", 1, 2), "one answer")
    _wrong(check("ex-00-by-hand", 1), "two counts")
    _wrong(check("ex-00-by-hand", "978", True), "int")


def test_ties(movielens, references):
    data, _ = movielens
    frame, share = data.interactions, references["ex-00-ties"]
    groups = frame.groupby(["user_id", "timestamp"]).size()
    _wrong(check("ex-00-ties", share * 100), "percentage")
    _wrong(check("ex-00-ties", round(share * len(frame))), "share of all actions")
    _wrong(check("ex-00-ties", float((groups > 1).mean())), "groups")  # counted groups
    _wrong(check("ex-00-ties", (len(frame) - len(groups)) / len(frame)), "first action")  # off by one
    _wrong(check("ex-00-ties", 1 - share), "without a tie")
    _wrong(check("ex-00-ties", 1.0), "not users")  # every user has a tie
    _wrong(check("ex-00-ties", 0.5), "Ties: the rule")


@FAST
@given(offset=st.floats(-0.02, 0.02))
def test_ties_tolerance(movielens, references, offset):
    feedback = check("ex-00-ties", references["ex-00-ties"] + offset)
    if abs(offset) <= 5e-4:
        assert feedback
    if abs(offset) > 1.5e-3:
        assert not feedback


def test_by_hand(movielens, references):
    _, split = movielens
    above, tied = references["ex-00-by-hand"]
    scores = Popularity().fit(split.train).score([split.histories("test")[0]])[0]
    target = split.test_targets[0]
    _wrong(check("ex-00-by-hand", int((scores > scores[target]).sum()), tied), "exclude")
    _wrong(check("ex-00-by-hand", above, tied + 1), "target counted")  # the target itself
    _wrong(check("ex-00-by-hand", above + 1, tied), "rank")  # off by one, or the valid history
    _wrong(check("ex-00-by-hand", tied, above), "Swapped")
    _wrong(check("ex-00-by-hand", above, tied + 7), "items above is right")
    valid_history = split.histories("valid")[0]
    valid_scores = Popularity().fit(split.train).score([valid_history])[0]
    valid_target = split.valid_targets[0]
    candidates = np.ones(split.n_items, dtype=bool)
    candidates[valid_history] = False
    candidates[valid_target] = True
    valid = (int((valid_scores[candidates] > valid_scores[valid_target]).sum()),
             int((valid_scores[candidates] == valid_scores[valid_target]).sum()) - 1)
    _wrong(check("ex-00-by-hand", *valid), "validation target")


def test_trigram(movielens, references):
    _, split = movielens
    train = split.train.sequences
    _wrong(check("ex-01-trigram", sum(max(len(s) - 2, 0) for s in train)), "occurrences")
    _wrong(check("ex-01-trigram", len(_triples(split.histories("test")))), "training histories only")
    pairs = {p for s in train for p in zip(s[:-1].tolist(), s[1:].tolist())}
    _wrong(check("ex-01-trigram", len(pairs)), "pairs")
    _wrong(check("ex-01-trigram", references["ex-01-trigram"] - 1), "What is a triple")


def test_sessions(movielens, references):
    data, split = movielens
    times, train = _user_times(data), [len(s) for s in split.train.sequences]
    assert references["ex-02-sessions"] == _sessions(times, train)
    _wrong(check("ex-02-sessions", _sessions(times, train, min_ratings=1)), "single-rating")
    with_valid = [len(s) for s in split.histories("test")]
    _wrong(check("ex-02-sessions", _sessions(times, with_valid)), "training part")
    _wrong(check("ex-02-sessions", _sessions(times, train, gap=60)), "seconds")  # units
    cuts = _sessions(times, train, min_ratings=1) - split.n_users
    _wrong(check("ex-02-sessions", cuts), "k + 1")  # off by one per user
    _wrong(check("ex-02-sessions", split.n_users), "one session per user")


def test_cold(movielens, references):
    _, split = movielens
    counts = split.train.item_counts()
    test, valid = split.test_targets, split.valid_targets
    _wrong(check("ex-02-cold", int((counts[test] < 5).sum())), "include five")  # off by one
    _wrong(check("ex-02-cold", int((counts[test] <= 6).sum())), "six")
    _wrong(check("ex-02-cold", int((counts[valid] <= 5).sum())), "validation targets")
    _wrong(check("ex-02-cold", len(set(test[counts[test] <= 5].tolist()))), "distinct films")


def test_genres(movielens, references):
    data, _ = movielens
    _wrong(check("ex-05-genres", 19), "counts genres")
    _wrong(check("ex-05-genres", len(data.items)), "counts films")
    _wrong(check("ex-05-genres", references["ex-05-genres"] + 1), "same genre list")


@FAST
@given(value=st.integers(-(10**6), 10**6))
def test_only_the_right_count_passes(movielens, references, value):
    for label in ("ex-01-trigram", "ex-02-sessions", "ex-02-cold", "ex-05-genres"):
        assert bool(check(label, value)) == (value == references[label])


@given(text=st.text(max_size=20))
@settings(max_examples=20, deadline=None, derandomize=True)
def test_text_is_refused_by_type(text):
    for label in ("ex-00-ties", "ex-01-trigram"):
        _wrong(check(label, text), "text")


def test_another_split_is_not_judged(movielens, references, monkeypatch):
    monkeypatch.setattr(numeric, "_course_fingerprint", lambda: "0" * 16)
    _wrong(check("ex-02-cold", references["ex-02-cold"]), "fingerprint 0000000000000000")

    def missing() -> str:
        raise DataError("MovieLens-100k not found")

    monkeypatch.setattr(numeric, "_course_fingerprint", missing)
    _wrong(check("ex-05-genres", references["ex-05-genres"]), "needs MovieLens-100k")


def test_unknown_label_lists_the_known_ones():
    with pytest.raises(KeyError, match="ex-00-ties"):
        check("ex-99-nothing", 1)


def test_every_checked_exercise_has_a_solution_that_asserts_its_check():
    """Each label in CHECKS is used by a chapter's solution, which asserts the verdict."""
    used: dict[str, str] = {}
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                for label, name in re.findall(r'(\w+) = check\(\s*"([\w-]+)"', cell.source):
                    used[name] = cell.source
                    assert re.search(rf"assert {label}\b", cell.source), (path.name, name)
    assert sorted(used) == sorted(CHECKS)


# ex-02-window: functions checked by their properties


def reference_window(sequences, window, rng):
    pairs = []
    for seq in sequences:
        sizes = rng.integers(1, window + 1, size=len(seq))
        for pos, size in enumerate(sizes):
            for ctx in range(max(0, pos - size), min(len(seq), pos + size + 1)):
                if ctx != pos:
                    pairs.append((seq[pos], seq[ctx]))
    return np.array(pairs)


def _with_sizes(draw):
    """A window function whose size for (rng, window, position) comes from ``draw``."""

    def pairs_of(sequences, window, rng):
        pairs = []
        for seq in sequences:
            for pos in range(len(seq)):
                size = draw(rng, window, pos)
                for ctx in range(max(0, pos - size), min(len(seq), pos + size + 1)):
                    if ctx != pos:
                        pairs.append((seq[pos], seq[ctx]))
        return np.array(pairs)

    return pairs_of


def positions_instead_of_ids(sequences, window, rng):
    return reference_window([np.arange(len(s)) for s in sequences], window, rng)


def per_pair(sequences, window, rng):
    return np.array([(s[i], s[j]) for s in sequences for i in range(len(s))
                     for j in range(max(0, i - window), min(len(s), i + window + 1))
                     if i != j and abs(i - j) <= rng.integers(1, window + 1)])


WRONG_WINDOWS = {
    "positions": (positions_instead_of_ids, "positions"),
    "first sequence only": (lambda s, w, r: reference_window(s[:1], w, r), "every sequence"),
    "size per pair": (per_pair, "draw once per target"),
    "cyclic sizes": (_with_sizes(lambda r, w, pos: 1 + pos % w), "change with the seed"),
    "fixed window": (_with_sizes(lambda r, w, pos: w), "drawn at random for each target"),
    "upper bound excluded": (_with_sizes(lambda r, w, pos: r.integers(1, w)), "inclusive"),
    "size zero allowed": (_with_sizes(lambda r, w, pos: r.integers(0, w + 1)), "be 0"),
    "not uniform": (_with_sizes(lambda r, w, pos: r.choice([1, w])), "(w - d + 1)/w"),
    "global generator": (lambda s, w, r: reference_window(s, w, np.random.default_rng()), "equal seeds"),
    "window ignored": (lambda s, w, r: reference_window(s, 4, r), "window=2"),
    "swapped columns": (lambda s, w, r: reference_window(s, w, r)[:, ::-1], "target first"),
    "duplicates": (lambda s, w, r: np.tile(reference_window(s, w, r), (2, 1)), "once"),
    "two arrays": (lambda s, w, r: reference_window(s, w, r).T, "two rows"),
    "floats": (lambda s, w, r: reference_window(s, w, r) * 1.0, "integers"),
    "raises": (lambda s, w, r: 1 / 0, "ZeroDivisionError"),
}


def test_window_reference_passes():
    assert check("ex-02-window", reference_window)


@pytest.mark.parametrize("name", WRONG_WINDOWS)
def test_window_mistakes_are_named(name):
    function, fragment = WRONG_WINDOWS[name]
    _wrong(check("ex-02-window", function), fragment)


def test_window_wants_the_function():
    _wrong(check("ex-02-window", reference_window([np.arange(9)], 2, np.random.default_rng(0))),
           "function itself")


@st.composite
def toy_histories(draw):
    lengths = draw(st.lists(st.integers(0, 30), min_size=1, max_size=5).filter(lambda n: max(n) >= 2))
    ids = np.random.default_rng(draw(st.integers(0, 2**16))).choice(10**5, sum(lengths), replace=False)
    return tuple(np.split(ids + 7, np.cumsum(lengths)[:-1]))


@FAST
@given(histories=toy_histories(), window=st.integers(1, 6), seed=st.integers(0, 2**16), pick=st.integers(0))
def test_window_properties(histories, window, seed, pick):
    pairs = reference_window(histories, window, np.random.default_rng(seed))
    problem, reach = functions._window_problem(pairs, histories, window)
    assert problem is None and reach.max() <= window
    # dropping a pair nearer than its target's farthest context leaves a gap in the block
    ids = np.concatenate(histories)
    position = np.concatenate([np.arange(len(h)) for h in histories])
    index = {item: i for i, item in enumerate(ids.tolist())}
    target = np.array([index[t] for t in pairs[:, 0].tolist()])
    distance = np.abs(position[target] - position[[index[c] for c in pairs[:, 1].tolist()]])
    inner = np.flatnonzero(distance < reach[target])
    if len(inner):
        dropped = np.delete(pairs, inner[pick % len(inner)], axis=0)
        assert functions._window_problem(dropped, histories, window)[0] is not None
