"""Your own interactions: a CSV or Parquet log read into the course's tidy frames.

A log has one row per event with a user, an item and a timestamp (seconds, or any
number that orders events); a rating and item text are optional. The loader checks the
file and names each problem, with the file, instead of repairing it: missing columns,
missing or non-numeric timestamps, non-integer ids, duplicate rows, users with fewer than
three events (the leave-one-out split needs a training, a validation and a test event),
an empty file. The only changes it makes are the ones you ask for (``drop_duplicates``,
``drop_short_users``, ``encode_ids``). Explained in :doc:`/book/own_data`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .data import MovieLens
from .datafiles import DataError

__all__ = ["MIN_EVENTS", "load_log", "read_table"]

MIN_EVENTS = 3  # per user: a training, a validation and a test event


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A CSV or Parquet file as a frame (CSV values as strings); :class:`~recsys_tutorial.datafiles.DataError`
    if it is missing, unreadable or empty. Explained in :doc:`/book/own_data`."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except ImportError as err:
        raise DataError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow)") from err
    except pd.errors.EmptyDataError as err:
        raise DataError(f"{path} is empty: no header and no interactions") from err
    except Exception as err:
        raise DataError(f"{path} cannot be read: {type(err).__name__}: {err}") from err
    if frame.empty:
        raise DataError(f"{path} is empty: it has a header but no interactions")
    return frame


def _rows(mask: np.ndarray | pd.Series, limit: int = 5) -> str:
    """Data rows (1 = the first row after the header) where ``mask`` holds."""
    rows = (np.flatnonzero(np.asarray(mask)) + 1)[:limit].tolist()
    return ", ".join(map(str, rows)) + (", ..." if np.asarray(mask).sum() > limit else "")


def _require(frame: pd.DataFrame, columns: Sequence[str], path: Path, hint: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"{path} lacks the column(s) {', '.join(map(repr, missing))} (it has "
            f"{', '.join(map(repr, frame.columns))}); {hint}"
        )


def _numbers(values: pd.Series, what: str, path: Path) -> pd.Series:
    """``values`` as numbers; ``DataError`` naming the empty or non-numeric rows."""
    if pd.api.types.is_datetime64_any_dtype(values):
        raise DataError(f"{path}: column {values.name!r} holds dates; give {what} as "
                        f"numbers (e.g. seconds since 1970: series.astype('int64') // 10**9)")
    empty = values.isna()
    if empty.any():
        raise DataError(f"{path}: {int(empty.sum())} row(s) have no {what} (NaN or empty) "
                        f"in column {values.name!r}, at data row(s) {_rows(empty)}")
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna()
    if bad.any():
        example = values[bad].iloc[0]
        raise DataError(f"{path}: column {values.name!r} has non-numeric {what}, e.g. "
                        f"{example!r}, at data row(s) {_rows(bad)}")
    return numbers


def _ids(values: pd.Series, path: Path, encode: bool) -> tuple[pd.Series, np.ndarray | None]:
    """Integer ids, or (``encode=True``) 1, 2, ... in the sorted order of the raw ids."""
    empty = values.isna()
    if empty.any():
        raise DataError(f"{path}: {int(empty.sum())} row(s) have no id in column "
                        f"{values.name!r}, at data row(s) {_rows(empty)}")
    if encode:
        codes, raw = pd.factorize(values.astype(str), sort=True)
        return pd.Series(codes + 1, index=values.index, name=values.name), np.asarray(raw)
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() | (numbers != np.round(numbers))
    if bad.any():
        raise DataError(f"{path}: column {values.name!r} holds ids that are not integers, "
                        f"e.g. {values[bad].iloc[0]!r} at data row(s) {_rows(bad)}; pass "
                        f"encode_ids=True to number them 1, 2, ... (the raw ids are kept)")
    return numbers.astype("int64"), None


def _item_text(log: pd.DataFrame, items_path: Path | None, item_col: str,
               title_col: str | None, genres_col: str | None, path: Path) -> pd.DataFrame:
    """One row per item with its text (and genres, ``|``-separated) where given."""
    columns = [c for c in (title_col, genres_col) if c]
    source, where = (read_table(items_path), items_path) if items_path else (log, path)
    if not columns:
        return pd.DataFrame(columns=[item_col])
    _require(source, [item_col, *columns], where,
             "name the item text with title_col=... (and genres with genres_col=...)")
    table = source[[item_col, *columns]].drop_duplicates()
    clash = table[item_col].duplicated(keep=False)
    if clash.any():
        example = table.loc[clash, item_col].iloc[0]
        raise DataError(f"{where}: item {example!r} has more than one {' or '.join(columns)}")
    return table


def load_log(
    path: str | os.PathLike[str], *, user_col: str = "user_id", item_col: str = "item_id",
    time_col: str = "timestamp", rating_col: str | None = None, title_col: str | None = None,
    genres_col: str | None = None, items: str | os.PathLike[str] | None = None,
    encode_ids: bool = False, drop_duplicates: bool = False, drop_short_users: bool = False,
) -> MovieLens:
    """Read an interactions log (CSV or Parquet) into the frames every chapter uses.

    Columns are named by ``user_col``, ``item_col``, ``time_col`` and optionally
    ``rating_col``; item text (``title_col``) and genres (``genres_col``, ``|``-separated)
    come from the log itself or from a separate ``items`` file keyed by ``item_col``.
    Items without text are titled ``"item <id>"`` (and ``items.attrs["has_text"]`` is
    false); interactions without ratings have ``rating`` NaN; ``users`` has no columns.
    Every problem raises :class:`~recsys_tutorial.datafiles.DataError` naming the file. Explained in
    :doc:`/book/own_data`.
    """
    path = Path(path)
    log = read_table(path)
    needed = [user_col, item_col, time_col, *([rating_col] if rating_col else [])]
    _require(log, needed, path, "name yours with user_col=..., item_col=..., time_col=...")
    users, raw_users = _ids(log[user_col], path, encode_ids)
    item_ids, raw_items = _ids(log[item_col], path, encode_ids)
    frame = pd.DataFrame({
        "user_id": users,
        "item_id": item_ids,
        "rating": (_numbers(log[rating_col], "rating", path).astype("float64")
                   if rating_col else np.full(len(log), np.nan)),
        "timestamp": _numbers(log[time_col], "timestamp", path),
    })
    if not pd.api.types.is_integer_dtype(frame["timestamp"]):
        whole = frame["timestamp"] == np.round(frame["timestamp"])
        if whole.all():  # "1700000000" read as text, or floats that are whole
            frame["timestamp"] = frame["timestamp"].astype("int64")
    duplicated = frame.duplicated(["user_id", "item_id", "timestamp"], keep="first")
    if duplicated.any():
        if not drop_duplicates:
            raise DataError(
                f"{path}: {int(duplicated.sum())} duplicate row(s) (the same user, item and "
                f"timestamp as an earlier row) at data row(s) {_rows(duplicated)}; remove "
                f"them, or pass drop_duplicates=True to keep the first of each")
        frame = frame[~duplicated]
    sizes = frame.groupby("user_id")["item_id"].transform("size")
    short = sizes < MIN_EVENTS
    if short.any():
        if not drop_short_users:
            counts = frame[short].groupby("user_id").size()
            raise DataError(
                f"{path}: {len(counts)} user(s) have fewer than {MIN_EVENTS} events, e.g. "
                f"user {counts.index.tolist()[0]!r} with {int(counts.iloc[0])}; the leave-one-out "
                f"split needs a training, a validation and a test event per user: remove "
                f"them, or pass drop_short_users=True")
        frame = frame[~short]
        if frame.empty:
            raise DataError(f"{path}: no user has {MIN_EVENTS} events or more")
    frame = frame.reset_index(drop=True)

    text = _item_text(log, Path(items) if items else None, item_col, title_col, genres_col, path)
    if encode_ids and len(text):
        lookup = {raw: code + 1 for code, raw in enumerate(raw_items)}
        text = text[text[item_col].astype(str).isin(lookup)]
        text = text.assign(**{item_col: text[item_col].astype(str).map(lookup)})
    elif len(text):
        text = text.assign(**{item_col: _ids(text[item_col], Path(items or path), False)[0]})
    catalogue = np.unique(frame["item_id"])
    text = text.set_index(item_col).reindex(catalogue) if len(text) else None
    titles = [f"item {i}" for i in catalogue]
    if text is not None and title_col:
        titles = [t if isinstance(t, str) else d for t, d in zip(text[title_col], titles)]
    genres = ([g.split("|") if isinstance(g, str) and g else [] for g in text[genres_col]]
              if text is not None and genres_col else [[] for _ in catalogue])
    item_frame = pd.DataFrame({
        "title": titles,
        "year": pd.array([None] * len(catalogue), dtype="Int64"),
        "genres": genres,
    }, index=pd.Index(catalogue, name="item_id"))
    if raw_items is not None:
        item_frame["raw_id"] = raw_items[catalogue - 1]
    item_frame.attrs["has_text"] = bool(title_col)
    user_index = pd.Index(np.unique(frame["user_id"]), name="user_id")
    user_frame = pd.DataFrame(index=user_index)
    if raw_users is not None:
        user_frame["raw_id"] = raw_users[user_index.to_numpy() - 1]
    return MovieLens(interactions=frame, items=item_frame, users=user_frame, path=path)
