"""MovieLens-100k: download, verify, parse into tidy frames.

The files may not be redistributed, so the course never ships them: the loader fetches
the official archive from GroupLens, checks it, and checks every file it reads.
Explained in :doc:`/notebooks/00_language_of_a_platform`.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .datafiles import (
    ARCHIVE_HASH,
    ARCHIVE_URL,
    ENV_VAR,
    FILE_SHA256,
    FOLDER,
    DataError,
    default_data_dir,
    find_folder,
    missing_message,
    sha256_file,
    verify_file,
)

__all__ = [
    "ARCHIVE_HASH", "ARCHIVE_URL", "ENV_VAR", "FILE_SHA256", "FOLDER", "GENRES", "DataError",
    "MovieLens", "default_data_dir", "download_movielens_100k", "load_movielens_100k",
    "sha256_file", "verify_file",
]

GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
)


@dataclass(frozen=True)
class MovieLens:
    """A dataset as three tidy frames (MovieLens-100k's, and every other the course loads).

    - ``interactions``: ``user_id, item_id, rating, timestamp`` (one row per rating)
    - ``items``: indexed by ``item_id``; ``title, year, genres`` (a list of names)
    - ``users``: indexed by ``user_id``; ``age, gender, occupation, zip``

    Ids are the raw MovieLens ids. Other releases and your own logs
    (:func:`recsys_tutorial.datasets.load_dataset`) fill the same frames with what they
    have: see :doc:`/book/own_data`. Explained in chapter 00.
    """

    interactions: pd.DataFrame
    items: pd.DataFrame
    users: pd.DataFrame
    path: Path

    def titles(self, item_ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """The films' titles in the order of ``item_ids``: ``data.titles(split.item_ids)[i]``
        is the title of item index ``i``. Raises ``KeyError`` naming any unknown id."""
        item_ids = np.asarray(item_ids)
        unknown = np.setdiff1d(item_ids, self.items.index.to_numpy())
        if len(unknown):
            raise KeyError(f"no film with item_id {unknown[:5].tolist()} in this catalogue")
        return self.items["title"].loc[item_ids].to_numpy()


def download_movielens_100k(data_dir: Path) -> Path:
    """Download, check and extract the archive into ``data_dir/ml-100k`` atomically.

    Everything happens in a temporary folder next to the target; the folder is moved
    into place only after the archive and every member file passed their checksums,
    so a failure leaves nothing half-written behind.
    """
    import pooch

    data_dir.mkdir(parents=True, exist_ok=True)
    target = data_dir / FOLDER
    with tempfile.TemporaryDirectory(dir=data_dir, prefix=".ml-100k-") as tmp:
        tmp_path = Path(tmp)
        try:
            archive = pooch.retrieve(
                ARCHIVE_URL, known_hash=ARCHIVE_HASH, fname="ml-100k.zip",
                path=tmp_path, progressbar=False,
            )
        except ValueError as err:  # pooch: hash mismatch
            raise DataError(f"The downloaded archive failed its checksum: {err}") from err
        except Exception as err:  # network errors come in many types
            raise DataError(
                missing_message(data_dir, f"download failed: {type(err).__name__}: {err}")
            ) from err
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(tmp_path / "extract")
        extracted = tmp_path / "extract" / FOLDER
        for name in FILE_SHA256:
            verify_file(extracted / name)
        if target.exists():  # another process finished first
            return target
        os.replace(extracted, target)
    return target


def _read_items(folder: Path) -> pd.DataFrame:
    names = ["item_id", "title", "release_date", "video_release_date", "imdb_url"]
    raw = pd.read_csv(
        folder / "u.item", sep="|", header=None, names=[*names, *GENRES],
        encoding="latin-1", dtype={"title": str, "release_date": str},
    )
    flags = raw[list(GENRES)].to_numpy(dtype=bool)
    release = pd.to_datetime(raw["release_date"], format="%d-%b-%Y", errors="coerce")
    items = pd.DataFrame(
        {
            "item_id": raw["item_id"].astype("int64"),
            "title": raw["title"].fillna("unknown"),
            "year": release.dt.year.astype("Int64"),
            "genres": [[g for g, on in zip(GENRES, row) if on] for row in flags],
        }
    )
    return items.set_index("item_id")


def _read_users(folder: Path) -> pd.DataFrame:
    users = pd.read_csv(
        folder / "u.user", sep="|", header=None,
        names=["user_id", "age", "gender", "occupation", "zip"],
        dtype={"zip": str},
    )
    return users.set_index("user_id")


def _read_interactions(folder: Path) -> pd.DataFrame:
    return pd.read_csv(
        folder / "u.data", sep="\t", header=None,
        names=["user_id", "item_id", "rating", "timestamp"], dtype="int64",
    )


def load_movielens_100k(
    data_dir: str | os.PathLike[str] | None = None, *, download: bool = True
) -> MovieLens:
    """Load MovieLens-100k, downloading it on first use.

    ``data_dir`` (default: ``$RECSYS_TUTORIAL_DATA`` or the user's cache directory) may
    hold ``ml-100k/`` or be that folder. Every file read is checked by SHA-256.
    Explained in chapter 00.
    """
    root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    folder = find_folder(root)
    if folder is None:
        if not download:
            raise DataError(missing_message(root, "download=False"))
        folder = download_movielens_100k(root)
    missing = [name for name in FILE_SHA256 if not (folder / name).exists()]
    if missing:
        raise DataError(missing_message(root, f"missing files: {', '.join(missing)}"))
    for name in FILE_SHA256:
        verify_file(folder / name)
    return MovieLens(
        interactions=_read_interactions(folder),
        items=_read_items(folder),
        users=_read_users(folder),
        path=folder,
    )

