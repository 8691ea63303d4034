"""One entry point for every dataset of the course: a MovieLens release, or your own log.

``load_dataset("ml-100k")`` is :func:`~recsys_tutorial.data.load_movielens_100k`;
``"ml-1m"``, ``"ml-10m"``, ``"ml-20m"``, ``"ml-25m"``, ``"ml-32m"`` and
``"ml-latest-small"`` are read from GroupLens's archives by
:mod:`~recsys_tutorial.releases`, each in its own format; a path to a CSV or Parquet file
is read as your own log by :func:`~recsys_tutorial.logs.load_log`. Every one returns the
same :class:`~recsys_tutorial.data.MovieLens` frames, and a chapter that needs more than
interactions says so at once. Explained in :doc:`/book/own_data`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from .data import MovieLens, load_movielens_100k
from .datafiles import DataError
from .logs import load_log
from .releases import RELEASES, load_release

__all__ = ["NEEDS", "check_needs", "load_dataset"]

NEEDS = {
    "demographics": "user demographics (age, gender, occupation, zip)",
    "genres": "item genres",
    "ratings": "ratings",
    "titles": "item titles",
}


def check_needs(data: MovieLens, needs: Sequence[str], name: str) -> None:
    """Raise :class:`~recsys_tutorial.datafiles.DataError` naming what a chapter needs and
    ``data`` lacks.

    Explained in :doc:`/book/own_data`.
    """
    has = {
        "demographics": {"age", "gender", "occupation", "zip"} <= set(data.users.columns),
        "genres": bool(data.items["genres"].map(len).sum()),
        "ratings": bool(data.interactions["rating"].notna().any()),
        "titles": bool(data.items.attrs.get("has_text", True)),
    }
    lacking = [NEEDS[n] for n in needs if not has[n]]
    if lacking:
        raise DataError(
            f"This chapter needs {' and '.join(lacking)}, which the dataset {name} lacks. "
            f"Run it with DATASET = 'ml-100k' (or 'ml-1m', which has them all)."
        )


def load_dataset(name_or_path: str | os.PathLike[str] = "ml-100k",
                 data_dir: str | os.PathLike[str] | None = None, *, download: bool = True,
                 needs: Sequence[str] = (), **log_options: object) -> MovieLens:
    """Every chapter's data: a MovieLens release by name, or your own log by path.

    ``"ml-100k"`` (the default) is :func:`~recsys_tutorial.data.load_movielens_100k`; the
    other names are in :data:`~recsys_tutorial.releases.RELEASES`; a path to a ``.csv``
    or ``.parquet`` file is read by :func:`~recsys_tutorial.logs.load_log` with
    ``log_options``. ``needs`` names what the calling chapter uses beyond interactions
    (``"demographics"``, ``"genres"``, ``"ratings"``, ``"titles"``): a dataset without it
    raises :class:`~recsys_tutorial.datafiles.DataError` at once.
    Explained in :doc:`/book/own_data`.
    """
    name = str(name_or_path)
    if name == "ml-100k":
        data = load_movielens_100k(data_dir, download=download)
    elif name in RELEASES:
        data = load_release(name, data_dir, download=download)
    elif name.lower().endswith((".csv", ".parquet", ".pq")) or Path(name).is_file():
        data = load_log(name, **log_options)  # type: ignore[arg-type]
    else:
        raise DataError(
            f"Unknown dataset {name!r}: choose ml-100k, {', '.join(RELEASES)}, or give the "
            f"path of a .csv or .parquet file of interactions."
        )
    check_needs(data, needs, name)
    return data

