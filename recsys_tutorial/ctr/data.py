"""Click-through-style data: will this user rate this movie 4 or more?

Each rating becomes one example described by *fields*: user id, item id, age bucket,
gender, occupation, zip-code region, release-year bucket and genres. The split is by
global time: everything rated up to the 80th percentile of time trains, the next 10%
validates, the last 10% tests, so no model ever learns from the future, not even from
other users' future ratings (a per-user split by time would leak those). Ties in time
never straddle a cut. The price is honest: most test users arrived after the training
period, so for them the user id is unknown and only their side features speak.

Vocabularies are built on training rows only; index 0 of every field is the *unknown*
bucket. Genres are a *bag* field (a movie has one to six): a model embeds each genre
and averages them, so every field, single or multi-valued, ends up as one vector.
Explained in :doc:`/notebooks/03_feature_interactions`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
import torch

from ..data import MovieLens

FIELDS = ("user", "item", "age", "gender", "occupation", "zip_region", "year", "genres")
BAG_FIELDS = frozenset({"genres"})
AGE_EDGES = (18, 25, 35, 45, 50, 56)  # MovieLens-1M's age groups: <18, 18-24, ..., 56+
YEAR_EDGES = (1950, 1970, 1980, 1990, 1994, 1995, 1996, 1997, 1998)


def _bucket_labels(edges: Sequence[int]) -> list[str]:
    labels = [f"<{edges[0]}"]
    labels += [f"{lo}-{hi - 1}" if hi - lo > 1 else f"{lo}" for lo, hi in zip(edges[:-1], edges[1:])]
    return [*labels, f"{edges[-1]}+"]


def bucketize(values: pd.Series, edges: Sequence[int]) -> pd.Series:
    """Map numbers to labelled buckets (``"<18"``, ``"18-24"``, ..., ``"56+"``); missing: NA.

    Chapter 03.
    """
    labels = _bucket_labels(edges)
    numeric = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()
    position = np.searchsorted(np.asarray(edges), numeric, side="right")
    out = pd.Series([labels[p] for p in np.minimum(position, len(labels) - 1)], index=values.index)
    return out.where(~np.isnan(numeric), None)


def zip_region(zip_codes: pd.Series) -> pd.Series:
    """The first digit of a US zip code (its national area); anything else is ``"other"``.

    Chapter 03.
    """
    first = zip_codes.fillna("").astype(str).str[:1]
    return first.where(first.str.isdigit(), "other")


def ctr_frame(data: MovieLens, threshold: int = 4) -> pd.DataFrame:
    """One row per rating: the eight fields as strings (genres: a list), ``label``, ``timestamp``.

    ``label`` is 1 when the rating is at least ``threshold``. Rows keep the order of
    ``data.interactions``. Chapter 03.
    """
    x = data.interactions.reset_index(drop=True)
    users = data.users.reindex(x["user_id"])
    items = data.items.reindex(x["item_id"])
    frame = pd.DataFrame(
        {
            "user": x["user_id"].astype(str).to_numpy(),
            "item": x["item_id"].astype(str).to_numpy(),
            "age": bucketize(users["age"].reset_index(drop=True), AGE_EDGES).to_numpy(),
            "gender": users["gender"].to_numpy(),
            "occupation": users["occupation"].to_numpy(),
            "zip_region": zip_region(users["zip"].reset_index(drop=True)).to_numpy(),
            "year": bucketize(items["year"].reset_index(drop=True), YEAR_EDGES).to_numpy(),
            "genres": [list(g) if isinstance(g, list) else [] for g in items["genres"]],
            "label": (x["rating"] >= threshold).astype(np.int64).to_numpy(),
            "timestamp": x["timestamp"].to_numpy(),
        }
    )
    return frame


@dataclass(frozen=True)
class TimeSplit:
    """Train / validation / test rows cut at global time quantiles, fixed and fingerprinted.

    ``train`` holds rows with ``timestamp <= cutoffs[0]``, ``valid`` those up to
    ``cutoffs[1]``, ``test`` the rest; ``rows[part]`` are their positions in the frame
    the split was cut from. Build it with :func:`time_split`. Chapter 03.
    """

    train: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame
    cutoffs: tuple[int, int]
    rows: dict[str, np.ndarray] = field(repr=False)

    @cached_property
    def fingerprint(self) -> str:
        """A short stable hash of the cut: cutoffs, row positions and labels of each part."""
        digest = hashlib.sha256()
        digest.update(np.asarray(self.cutoffs, dtype=np.int64).tobytes())
        for part in ("train", "valid", "test"):
            digest.update(part.encode())
            digest.update(np.ascontiguousarray(self.rows[part], dtype=np.int64).tobytes())
            digest.update(np.ascontiguousarray(getattr(self, part)["label"], dtype=np.int64).tobytes())
        return digest.hexdigest()[:16]


def time_split(frame: pd.DataFrame, quantiles: tuple[float, float] = (0.8, 0.9)) -> TimeSplit:
    """Cut ``frame`` by time at the given quantiles of its timestamps. Chapter 03.

    Cutoffs are actual timestamps and rows equal to a cutoff fall on its earlier side,
    so every training row is at or before every validation row, and those before every
    test row.
    """
    lo, hi = quantiles
    if not 0 < lo < hi < 1:
        raise ValueError("quantiles must satisfy 0 < q_valid < q_test < 1")
    t = frame["timestamp"].to_numpy()
    c1, c2 = (int(c) for c in np.quantile(t, [lo, hi], method="lower"))
    if c1 == c2:
        raise ValueError("the cutoffs coincide; too few distinct timestamps for these quantiles")
    masks = {"train": t <= c1, "valid": (t > c1) & (t <= c2), "test": t > c2}
    rows = {part: np.flatnonzero(mask) for part, mask in masks.items()}
    parts = {part: frame.iloc[r].reset_index(drop=True) for part, r in rows.items()}
    return TimeSplit(parts["train"], parts["valid"], parts["test"], (c1, c2), rows)


def add_crosses(frame: pd.DataFrame, crosses: Iterable[tuple[str, str]]) -> pd.DataFrame:
    """Add hand-made cross fields ``"a*b"``: the pair of values as one categorical value.

    Crossing with a bag field (genres) gives a bag of pairs, one per genre: ``age*genres``
    of a 25-year-old rating a Comedy-Romance is ``["25-34|Comedy", "25-34|Romance"]``.
    The old way of modelling interactions; chapter 03 shows what it costs.
    """
    out = frame.copy()
    for a, b in crosses:
        if a in BAG_FIELDS and b in BAG_FIELDS:
            raise ValueError("crossing two bag fields is not supported")
        if b in BAG_FIELDS or a in BAG_FIELDS:
            single, bag = (a, b) if b in BAG_FIELDS else (b, a)
            out[f"{a}*{b}"] = [
                [f"{s}|{v}" for v in values] for s, values in zip(out[single], out[bag])
            ]
        else:
            out[f"{a}*{b}"] = out[a].astype(str) + "|" + out[b].astype(str)
    return out


def is_bag(name: str) -> bool:
    """Whether a field holds a list of values (genres, or a cross with genres). Chapter 03."""
    return any(part in BAG_FIELDS for part in name.split("*"))


@dataclass(frozen=True)
class Field:
    """One input field: its name, its vocabulary, and whether it is a bag.

    Index ``0`` is the unknown bucket; ``vocab[i]`` has index ``i + 1``. Chapter 03.
    """

    name: str
    vocab: tuple[str, ...]
    bag: bool = False

    @property
    def size(self) -> int:
        """Number of indices, the unknown bucket included."""
        return len(self.vocab) + 1

    @cached_property
    def index(self) -> dict[str, int]:
        return {value: i + 1 for i, value in enumerate(self.vocab)}

    def encode(self, values: Iterable) -> list[int]:
        """Indices of single values; unseen or missing values give 0 (unknown)."""
        return [self.index.get(v, 0) if isinstance(v, str) else 0 for v in values]


def build_fields(train: pd.DataFrame, names: Sequence[str] = FIELDS, min_count: int = 1) -> tuple[Field, ...]:
    """Vocabularies from the *training* rows only: values seen at least ``min_count`` times.

    Values that are missing or rarer than ``min_count`` are left to the unknown bucket.
    Chapter 03.
    """
    fields = []
    for name in names:
        column = train[name]
        if is_bag(name):
            column = column.explode()
        counts = column.dropna().astype(str).value_counts()
        vocab = tuple(sorted(counts.index[counts >= min_count]))
        fields.append(Field(name, vocab, bag=is_bag(name)))
    return tuple(fields)


@dataclass(frozen=True)
class CTRTensors:
    """Encoded examples: one index tensor per field, and the labels.

    ``ids[f]`` is ``(n,)`` for a single field and ``(n, L)`` for a bag, padded with
    ``-1``; ``y`` is ``(n,)`` float. Chapter 03.
    """

    fields: tuple[Field, ...]
    ids: tuple[torch.Tensor, ...]
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def take(self, rows: torch.Tensor | np.ndarray | slice) -> CTRTensors:
        """The examples at ``rows`` (a batch)."""
        return CTRTensors(self.fields, tuple(t[rows] for t in self.ids), self.y[rows])

    def select(self, names: Sequence[str]) -> CTRTensors:
        """Only the named fields, in the given order (to drop or reorder fields)."""
        position = {f.name: i for i, f in enumerate(self.fields)}
        keep = [position[n] for n in names]
        return CTRTensors(tuple(self.fields[i] for i in keep), tuple(self.ids[i] for i in keep), self.y)


def _encode_bag(field_: Field, column: pd.Series) -> torch.Tensor:
    """``(rows, longest bag)`` indices, padded with -1: all values looked up at once."""
    lengths = np.fromiter((len(values) for values in column), dtype=np.int64, count=len(column))
    flat = pd.Series([v for values in column for v in values], dtype=object)
    codes = flat.map(field_.index).fillna(0).to_numpy(dtype=np.int64)
    out = np.full((len(column), max(int(lengths.max(initial=0)), 1)), -1, dtype=np.int64)
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)  # each value's row start in flat
    out[np.repeat(np.arange(len(column)), lengths), np.arange(len(codes)) - starts] = codes
    return torch.from_numpy(out)


def encode(frame: pd.DataFrame, fields: Sequence[Field]) -> CTRTensors:
    """Turn a frame into index tensors with the given (training-built) vocabularies.

    Unseen values map to the unknown bucket 0. Chapter 03.
    """
    ids = []
    for f in fields:
        if f.bag:
            ids.append(_encode_bag(f, frame[f.name]))
        else:
            ids.append(torch.tensor(f.encode(frame[f.name]), dtype=torch.long))
    y = torch.tensor(frame["label"].to_numpy(), dtype=torch.float32)
    return CTRTensors(tuple(fields), tuple(ids), y)
