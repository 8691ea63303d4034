"""The other MovieLens releases: download, verify, parse into the tidy frames of ML-100k.

ML-1M (``::``-separated ``.dat`` files in latin-1, with users), ML-10M (``.dat`` in
UTF-8), ML-20M, ML-25M, ML-32M and ml-latest-small (CSV with quoted titles): each is
read in its own format into the frames of :class:`~recsys_tutorial.data.MovieLens`.
Explained in :doc:`/book/own_data`.
"""

from __future__ import annotations

import os
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .data import MovieLens
from .datafiles import ENV_VAR, DataError, default_data_dir, sha256_file

__all__ = ["RELEASES", "Release", "download_release", "load_release", "published_md5"]

BASE_URL = "https://files.grouplens.org/datasets/movielens"
MANIFEST = "SHA256SUMS"  # written beside the files at download; checked at every load
# ML-1M codes its users' occupations (its README); ML-100k names them.
OCCUPATIONS = (
    "other", "academic/educator", "artist", "clerical/admin", "college/grad student",
    "customer service", "doctor/health care", "executive/managerial", "farmer", "homemaker",
    "K-12 student", "lawyer", "programmer", "retired", "sales/marketing", "scientist",
    "self-employed", "technician/engineer", "tradesman/craftsman", "unemployed", "writer",
)
_YEAR = re.compile(r"\((\d{4})(?:[-–]\d{0,4})?\)\s*$")


@dataclass(frozen=True)
class Release:
    """One MovieLens archive: where it is, the folder it unzips to, its format.

    ``md5`` is the checksum GroupLens publishes beside the archive (``<name>.zip.md5``),
    recorded here; ``None`` where the archive changes over time (``ml-latest-small``):
    then the published file is fetched and compared at download time. Explained in
    :doc:`/book/own_data`.
    """

    name: str
    folder: str
    kind: str  # "dat" (ML-1M latin-1, ML-10M utf-8) or "csv"
    md5: str | None
    encoding: str = "utf-8"

    @property
    def url(self) -> str:
        return f"{BASE_URL}/{self.name}.zip"

    @property
    def files(self) -> tuple[str, ...]:
        """The files the loader reads (ML-1M alone describes its users)."""
        users = ("users.dat",) if self.name == "ml-1m" else ()
        return ("ratings.csv", "movies.csv") if self.kind == "csv" else ("ratings.dat", "movies.dat", *users)


#: Every release besides ML-100k, by name, with its archive's published MD5.
RELEASES = {
    r.name: r for r in (
        Release("ml-1m", "ml-1m", "dat", "c4d9eecfca2ab87c1945afe126590906", "latin-1"),
        Release("ml-10m", "ml-10M100K", "dat", "ce571fd55effeba0271552578f2648bd"),
        Release("ml-20m", "ml-20m", "csv", "cd245b17a1ae2cc31bb14903e1204af3"),
        Release("ml-25m", "ml-25m", "csv", "6b51fb2759a8657d3bfcbfc42b592ada"),
        Release("ml-32m", "ml-32m", "csv", "d472be332d4daa821edc399621853b57"),
        Release("ml-latest-small", "ml-latest-small", "csv", None),
    )
}


def _missing(release: Release, data_dir: Path, reason: str) -> str:
    return (
        f"MovieLens {release.name} not found in {data_dir} ({reason}). Expected the folder "
        f"{data_dir / release.folder} with the files {', '.join(release.files)} as shipped "
        f"by GroupLens. Either allow the download (download=True, needs network access to "
        f"files.grouplens.org), or download {release.url} yourself, unzip it, and point the "
        f"loader at the directory containing '{release.folder}/' with data_dir=... or the "
        f"environment variable {ENV_VAR}."
    )


def published_md5(release: Release) -> str:
    """The MD5 GroupLens publishes beside the archive: recorded, else fetched.

    Explained in :doc:`/book/own_data`.
    """
    if release.md5 is not None:
        return release.md5
    from urllib.request import urlopen

    url = release.url + ".md5"
    try:
        with urlopen(url, timeout=30) as answer:
            text = answer.read().decode("ascii", errors="replace")
    except Exception as err:  # network errors come in many types
        raise DataError(
            f"Cannot verify {release.url}: its published checksum {url} could not be read "
            f"({type(err).__name__}: {err})."
        ) from err
    match = re.search(r"\b[0-9a-fA-F]{32}\b", text)
    if match is None:
        raise DataError(f"{url} holds no MD5 checksum: {text[:80]!r}")
    return match.group(0).lower()


def download_release(release: Release, data_dir: Path) -> Path:
    """Download, check and extract ``release`` into ``data_dir/<folder>`` atomically.

    The archive must match the published MD5; the files the loader reads are then
    hashed (SHA-256) into a manifest, checked at every later load. Everything happens in
    a temporary folder that is moved into place only at the end. Explained in
    :doc:`/book/own_data`.
    """
    import pooch

    data_dir.mkdir(parents=True, exist_ok=True)
    md5 = published_md5(release)
    target = data_dir / release.folder
    with tempfile.TemporaryDirectory(dir=data_dir, prefix=f".{release.name}-") as tmp:
        tmp_path = Path(tmp)
        try:
            archive = pooch.retrieve(release.url, known_hash=f"md5:{md5}",
                                     fname=f"{release.name}.zip", path=tmp_path,
                                     progressbar=False)
        except ValueError as err:  # pooch: hash mismatch
            raise DataError(f"The downloaded archive {release.url} failed its checksum "
                            f"(published MD5 {md5}): {err}") from err
        except Exception as err:  # network errors come in many types
            reason = f"download failed: {type(err).__name__}: {err}"
            raise DataError(_missing(release, data_dir, reason)) from err
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(tmp_path / "extract")
        extracted = tmp_path / "extract" / release.folder
        missing = [name for name in release.files if not (extracted / name).exists()]
        if missing:
            raise DataError(f"{release.url} lacks {', '.join(missing)} in {release.folder}/")
        sums = "".join(f"{sha256_file(extracted / n)}  {n}\n" for n in release.files)
        (extracted / MANIFEST).write_text(sums)
        if target.exists():  # another process finished first
            return target
        os.replace(extracted, target)
    return target


def _verify(folder: Path) -> None:
    """Check the files against the manifest written at download (a copy unzipped by
    hand has none: its files are read as they are)."""
    manifest = folder / MANIFEST
    if not manifest.exists():
        return
    for line in manifest.read_text().splitlines():
        expected, name = line.split(maxsplit=1)
        actual = sha256_file(folder / name) if (folder / name).exists() else "missing"
        if actual != expected:
            raise DataError(
                f"{folder / name} is corrupted or truncated: SHA-256 {actual}, expected "
                f"{expected}. Delete the folder {folder} and load again to download a "
                f"fresh copy."
            )


def _text(path: Path, encoding: str) -> str:
    try:
        return path.read_bytes().decode(encoding)
    except UnicodeDecodeError as err:
        raise DataError(f"{path} is not {encoding} text as GroupLens ships it: {err}") from err


def _numeric_dat(path: Path, names: list[str], encoding: str) -> pd.DataFrame:
    """A ``::`` file of plain fields, read by the fast parser (``::`` becomes a tab)."""
    from io import StringIO

    text = _text(path, encoding).replace("::", "\t")
    try:
        return pd.read_csv(StringIO(text), sep="\t", header=None, names=names, dtype=str)
    except pd.errors.ParserError as err:
        raise DataError(f"{path} does not have {len(names)} '::'-separated fields: {err}") from err


def _numbers(frame: pd.DataFrame, column: str, dtype: str, path: Path) -> np.ndarray:
    """``frame[column]`` as numbers; :class:`DataError` naming the file and row if not."""
    if column not in frame.columns:
        raise DataError(f"{path} lacks the column {column!r} (it has {list(frame.columns)})")
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = np.flatnonzero(values.isna().to_numpy())
    if len(bad):
        raise DataError(f"{path}: {column} is missing or not a number on data row {bad[0] + 1} "
                        f"({frame[column].iloc[bad[0]]!r}; {len(bad)} such rows)")
    return values.to_numpy().astype(dtype)


def _movies(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    titles = [str(t).strip() for t in frame["title"]]
    years = [_YEAR.search(t) for t in titles]
    items = pd.DataFrame({
        "item_id": _numbers(frame, "movieId", "int64", path),
        "title": titles,
        "year": pd.array([int(m.group(1)) if m else None for m in years], dtype="Int64"),
        "genres": [[] if g in ("(no genres listed)", "") else g.split("|") for g in frame["genres"]],
    })
    return items.set_index("item_id")


def _movies_dat(path: Path, encoding: str) -> pd.DataFrame:
    rows = []
    for number, line in enumerate(_text(path, encoding).split("\n"), 1):
        line = line.removesuffix("\r")  # only "\n" ends a line: latin-1 has "\x85"
        if line.strip():  # MovieID::Title::Genres; a title may itself hold "::"
            parts = line.split("::", 1)
            if len(parts) < 2 or "::" not in parts[1]:
                raise DataError(f"{path}: line {number} is not MovieID::Title::Genres: {line!r}")
            rows.append((parts[0], *parts[1].rsplit("::", 1)))
    return pd.DataFrame(rows, columns=["movieId", "title", "genres"])


def _read_dat(release: Release, folder: Path) -> MovieLens:
    enc, path = release.encoding, folder / "ratings.dat"
    ratings = _numeric_dat(path, ["userId", "movieId", "rating", "timestamp"], enc)
    items = _movies(_movies_dat(folder / "movies.dat", enc), folder / "movies.dat")
    users = None
    if "users.dat" in release.files:
        upath = folder / "users.dat"
        raw = _numeric_dat(upath, ["userId", "gender", "age", "occupation", "zip"], enc)
        codes = _numbers(raw, "occupation", "int64", upath)
        if codes.min() < 0 or codes.max() >= len(OCCUPATIONS):
            raise DataError(f"{upath}: occupation codes must be 0 to {len(OCCUPATIONS) - 1}")
        users = pd.DataFrame({
            "user_id": _numbers(raw, "userId", "int64", upath),
            "age": _numbers(raw, "age", "int64", upath),  # a bracket's lower bound; 1: under 18
            "gender": raw["gender"].to_numpy(),
            "occupation": [OCCUPATIONS[c] for c in codes],
            "zip": raw["zip"].to_numpy(),
        }).set_index("user_id")
    return _assemble(ratings, path, items, users, folder)


def _read_csv(folder: Path) -> MovieLens:
    frames = {}
    for name in ("ratings.csv", "movies.csv"):
        try:
            frames[name] = pd.read_csv(folder / name, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, UnicodeDecodeError) as err:
            raise DataError(f"{folder / name} is not CSV as GroupLens ships it: {err}") from err
    movies = frames["movies.csv"]
    for column in ("title", "genres"):
        if column not in movies.columns:
            raise DataError(f"{folder / 'movies.csv'} lacks the column {column!r}")
    items = _movies(movies, folder / "movies.csv")
    return _assemble(frames["ratings.csv"], folder / "ratings.csv", items, None, folder)


def _assemble(ratings: pd.DataFrame, path: Path, items: pd.DataFrame,
              users: pd.DataFrame | None, folder: Path) -> MovieLens:
    interactions = pd.DataFrame({
        "user_id": _numbers(ratings, "userId", "int64", path),
        "item_id": _numbers(ratings, "movieId", "int64", path),
        "rating": _numbers(ratings, "rating", "float64", path),  # half stars from ML-10M on
        "timestamp": _numbers(ratings, "timestamp", "int64", path),
    })
    if users is None:  # these releases describe no users: an index without columns
        users = pd.DataFrame(index=pd.Index(np.unique(interactions["user_id"]), name="user_id"))
    return MovieLens(interactions=interactions, items=items, users=users, path=folder)


def _find(release: Release, root: Path) -> Path | None:
    for candidate in (root / release.folder, root / release.name, root):
        if (candidate / release.files[0]).exists():
            return candidate
    return None


def load_release(name: str, data_dir: str | os.PathLike[str] | None = None, *,
                 download: bool = True) -> MovieLens:
    """Load a MovieLens release other than 100k (see :data:`RELEASES`), downloading it
    on first use into ``data_dir`` (default ``$RECSYS_TUTORIAL_DATA`` or the cache).

    Ratings are floats (half stars from ML-10M on); ``year`` comes from the title;
    ``users`` has ML-1M's demographics (``age`` is its bracket's lower bound, 1 meaning
    under 18) and no columns for the other releases. Explained in :doc:`/book/own_data`.
    """
    release = RELEASES[name]
    root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    folder = _find(release, root)
    if folder is None:
        if not download:
            raise DataError(_missing(release, root, "download=False"))
        folder = download_release(release, root)
    missing = [n for n in release.files if not (folder / n).exists()]
    if missing:
        raise DataError(_missing(release, root, f"missing files: {', '.join(missing)}"))
    _verify(folder)
    return _read_dat(release, folder) if release.kind == "dat" else _read_csv(folder)
