"""The MovieLens releases beyond 100k: each official format parses into the same frames;
downloads are checked against the published MD5 and land atomically (no network here)."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from recsys_tutorial import releases
from recsys_tutorial.datafiles import DataError
from recsys_tutorial.datasets import load_dataset
from recsys_tutorial.releases import RELEASES, load_release

# Titles that trip naive parsers: commas and quotes (CSV), "::" (the .dat separator),
# latin-1 letters, a film without genres.
MOVIES = [
    (1, "Toy Story (1995)", "Animation|Children's|Comedy"),
    (2, "Bienvenue chez les Ch'tis (2008)", "Comedy"),
    (3, "Café au lait (Métisse) (1993)", "Comedy|Romance"),
    (4, "Godfather, The (1972)", "Crime|Drama"),
    (5, '"Great Performances" Cats (1998)', "Musical"),
    (6, 'Star Trek::Voyager, "Caretaker" (1995)', "Sci-Fi"),
    (7, "Nothing (2003)", "(no genres listed)"),
]
RATINGS = [  # user, item, rating, timestamp
    (u, i, (u + i) % 5 + 1, 978_300_000 + 60 * u + i)
    for u in (1, 2, 3) for i in range(1, 8) if (u + i) % 3
]
USERS = [(1, "F", 1, 10, "48067"), (2, "M", 56, 16, "70072"), (3, "M", 25, 15, "55117")]


def write_dat(folder: Path, encoding: str, users: bool) -> None:
    folder.mkdir(parents=True)
    lines = [f"{u}::{i}::{r}::{t}" for u, i, r, t in RATINGS]
    (folder / "ratings.dat").write_bytes(("\n".join(lines) + "\n").encode(encoding))
    movies = [f"{i}::{title}::{genres}" for i, title, genres in MOVIES]
    (folder / "movies.dat").write_bytes(("\n".join(movies) + "\n").encode(encoding))
    if users:
        rows = [f"{u}::{g}::{a}::{o}::{z}" for u, g, a, o, z in USERS]
        (folder / "users.dat").write_bytes(("\n".join(rows) + "\n").encode(encoding))
    else:
        (folder / "tags.dat").write_text("1::6::space::978300000\n", encoding=encoding)


def write_csv(folder: Path) -> None:
    folder.mkdir(parents=True)
    with open(folder / "ratings.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["userId", "movieId", "rating", "timestamp"])
        writer.writerows((u, i, f"{r:.1f}", t) for u, i, r, t in RATINGS)
    with open(folder / "movies.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")  # quotes as GroupLens does
        writer.writerow(["movieId", "title", "genres"])
        writer.writerows(MOVIES)


def write_release(name: str, root: Path) -> Path:
    release = RELEASES[name]
    folder = root / release.folder
    if release.kind == "csv":
        write_csv(folder)
    else:
        write_dat(folder, release.encoding, users=name == "ml-1m")
    return folder


@pytest.mark.parametrize("name", list(RELEASES))
def test_every_format_parses_into_the_same_frames(name, tmp_path):
    write_release(name, tmp_path)
    data = load_release(name, tmp_path, download=False)
    reference = write_release("ml-25m", tmp_path / "ref")
    expected = load_release("ml-25m", reference.parent, download=False)
    pd.testing.assert_frame_equal(data.interactions, expected.interactions)
    pd.testing.assert_frame_equal(data.items, expected.items)
    assert list(data.interactions.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert data.items.loc[3, "title"] == "Café au lait (Métisse) (1993)"
    assert data.items.loc[5, "title"] == '"Great Performances" Cats (1998)'
    assert data.items.loc[6, "title"] == 'Star Trek::Voyager, "Caretaker" (1995)'
    assert data.items.loc[1, "genres"] == ["Animation", "Children's", "Comedy"]
    assert data.items.loc[7, "genres"] == [] and data.items.loc[4, "year"] == 1972
    assert data.titles([2])[0] == "Bienvenue chez les Ch'tis (2008)"


def test_ml1m_users_and_latin1(tmp_path):
    folder = write_release("ml-1m", tmp_path)
    assert "é".encode("latin-1") in (folder / "movies.dat").read_bytes()
    users = load_dataset("ml-1m", tmp_path, download=False).users
    assert list(users.columns) == ["age", "gender", "occupation", "zip"]
    assert users.loc[2].tolist() == [56, "M", "self-employed", "70072"]
    assert users["zip"].map(type).eq(str).all()


def test_releases_without_users_have_an_index_only(tmp_path):
    write_release("ml-10m", tmp_path)
    users = load_release("ml-10m", tmp_path, download=False).users
    assert users.columns.empty and users.index.tolist() == [1, 2, 3]


def test_missing_release_says_what_where_and_how(tmp_path):
    with pytest.raises(DataError) as err:
        load_dataset("ml-1m", tmp_path / "nowhere", download=False)
    message = str(err.value)
    for needed in ("ratings.dat", "movies.dat", "users.dat", "RECSYS_TUTORIAL_DATA",
                   "https://files.grouplens.org/datasets/movielens/ml-1m.zip"):
        assert needed in message


def test_missing_member_is_named(tmp_path):
    folder = write_release("ml-20m", tmp_path)
    (folder / "movies.csv").unlink()
    with pytest.raises(DataError, match="missing files: movies.csv"):
        load_release("ml-20m", tmp_path, download=False)


def _zipped(name: str, tmp_path: Path, drop: str | None = None) -> bytes:
    source = write_release(name, tmp_path / "source")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for f in sorted(source.iterdir()):
            if f.name != drop:
                zf.writestr(f"{source.name}/{f.name}", f.read_bytes())
    return buffer.getvalue()


def _fake_pooch(payload: bytes, calls: list[str]):
    """pooch.retrieve writing ``payload``, and checking the hash as pooch does."""

    def retrieve(url, known_hash, fname, path, progressbar):
        calls.append(known_hash)
        archive = Path(path) / fname
        archive.write_bytes(payload)
        actual = hashlib.md5(payload).hexdigest()
        if known_hash != f"md5:{actual}":
            raise ValueError(f"MD5 hash of downloaded file ({archive}) does not match")
        return str(archive)

    return retrieve


def test_download_checks_the_recorded_md5_and_leaves_nothing(tmp_path, monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr("pooch.retrieve", _fake_pooch(_zipped("ml-1m", tmp_path), calls))
    with pytest.raises(DataError, match="failed its checksum") as err:
        load_dataset("ml-1m", tmp_path / "cache")
    assert RELEASES["ml-1m"].md5 in str(err.value)
    assert calls == [f"md5:{RELEASES['ml-1m'].md5}"]
    assert list((tmp_path / "cache").iterdir()) == []


def _published(monkeypatch, text: str | None) -> None:
    def urlopen(url, timeout):
        assert url == "https://files.grouplens.org/datasets/movielens/ml-latest-small.zip.md5"
        if text is None:
            raise OSError("network unreachable")
        return io.BytesIO(text.encode())

    monkeypatch.setattr("urllib.request.urlopen", urlopen)


def test_download_fetches_the_published_md5_and_extracts_atomically(tmp_path, monkeypatch):
    payload = _zipped("ml-latest-small", tmp_path)
    calls: list[str] = []
    monkeypatch.setattr("pooch.retrieve", _fake_pooch(payload, calls))
    _published(monkeypatch, f"MD5 (ml-latest-small.zip) = {hashlib.md5(payload).hexdigest()}\n")
    cache = tmp_path / "cache"
    data = load_dataset("ml-latest-small", cache)
    assert sorted(p.name for p in cache.iterdir()) == ["ml-latest-small"]
    assert (cache / "ml-latest-small" / releases.MANIFEST).exists()
    assert len(data.interactions) == len(RATINGS)
    # the manifest catches a file damaged after the download
    ratings = cache / "ml-latest-small" / "ratings.csv"
    ratings.write_bytes(ratings.read_bytes()[:-20])
    with pytest.raises(DataError, match="ratings.csv is corrupted or truncated"):
        load_dataset("ml-latest-small", cache)


def test_published_md5_mismatch_and_unreachable(tmp_path, monkeypatch):
    monkeypatch.setattr("pooch.retrieve", _fake_pooch(_zipped("ml-latest-small", tmp_path), []))
    _published(monkeypatch, "0123456789abcdef0123456789abcdef  ml-latest-small.zip\n")
    with pytest.raises(DataError, match="0123456789abcdef0123456789abcdef"):
        load_dataset("ml-latest-small", tmp_path / "cache")
    _published(monkeypatch, None)
    with pytest.raises(DataError, match="Cannot verify .*ml-latest-small.zip.md5"):
        load_dataset("ml-latest-small", tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_archive_without_a_member_is_refused(tmp_path, monkeypatch):
    payload = _zipped("ml-10m", tmp_path, drop="movies.dat")
    monkeypatch.setattr("pooch.retrieve", _fake_pooch(payload, []))
    monkeypatch.setattr(releases, "published_md5", lambda r: hashlib.md5(payload).hexdigest())
    with pytest.raises(DataError, match="lacks movies.dat"):
        load_dataset("ml-10m", tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_no_network_names_the_url(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise ConnectionError("network unreachable")

    monkeypatch.setattr("pooch.retrieve", offline)
    with pytest.raises(DataError) as err:
        load_dataset("ml-32m", tmp_path)
    assert "download failed" in str(err.value) and RELEASES["ml-32m"].url in str(err.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "file", "damage", "problem"),
    [
        ("ml-1m", "ratings.dat", b"1::2::x::978300000\n", "rating is missing or not a number"),
        ("ml-1m", "ratings.dat", b"1::2::5\n", "timestamp is missing or not a number"),
        ("ml-1m", "movies.dat", b"8::No genres here\n", "line 8 is not MovieID::Title::Genres"),
        ("ml-1m", "users.dat", b"4::F::25::99::10001\n", "occupation codes must be 0 to 20"),
        ("ml-10m", "movies.dat", "9::Amélie (2001)::Comedy\n".encode("latin-1"), "is not utf-8"),
        ("ml-20m", "ratings.csv", b"1,2,4.0,\n", "timestamp is missing or not a number"),
        ("ml-25m", "movies.csv", b"x,Title (2000),Drama\n", "movieId is missing or not a number"),
    ],
)
def test_bad_files_name_the_file_and_the_problem(name, file, damage, problem, tmp_path):
    folder = write_release(name, tmp_path)
    with open(folder / file, "ab") as handle:
        handle.write(damage)
    with pytest.raises(DataError) as err:
        load_release(name, tmp_path, download=False)
    assert str(folder / file) in str(err.value) and problem in str(err.value)


def test_csv_without_a_column_is_named(tmp_path):
    folder = write_release("ml-32m", tmp_path)
    (folder / "movies.csv").write_text("movieId,title\n1,Toy Story (1995)\n")
    with pytest.raises(DataError, match="movies.csv lacks the column 'genres'"):
        load_release("ml-32m", tmp_path, download=False)


# Any title a release could hold: latin-1 letters, commas, quotes, "::"; never a line
# break, and not starting or ending with a space (the loader strips those).
TITLES = st.text(
    st.characters(min_codepoint=32, max_codepoint=255, blacklist_characters="\x7f"),
    min_size=1, max_size=30,
).map(str.strip).filter(bool)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(titles=st.lists(TITLES, min_size=1, max_size=5))
@example(titles=["Caf\x85 (1990)", "a::", ":b", "NA", '"'])
def test_any_title_survives_every_format(titles, tmp_path_factory):
    root = tmp_path_factory.mktemp("titles")
    movies = [(i + 1, t, "Drama") for i, t in enumerate(titles)]
    for name in ("ml-1m", "ml-10m", "ml-20m"):
        folder = root / RELEASES[name].folder
        write_release(name, root)
        if RELEASES[name].kind == "csv":
            with open(folder / "movies.csv", "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(["movieId", "title", "genres"])
                writer.writerows(movies)
        else:
            text = "".join(f"{i}::{t}::{g}\n" for i, t, g in movies)
            (folder / "movies.dat").write_bytes(text.encode(RELEASES[name].encoding))
        items = load_release(name, root, download=False).items
        assert items["title"].tolist() == titles, name
