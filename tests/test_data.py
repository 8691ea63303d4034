"""The MovieLens loader: parsing, checksums, clear errors, atomic downloads."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from recsys_tutorial import data as data_module
from recsys_tutorial.data import DataError, load_movielens_100k


def test_loads_tidy_frames(movielens_dir):
    ml = load_movielens_100k(movielens_dir)
    assert ml.interactions.shape == (100_000, 4)
    assert list(ml.interactions.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert len(ml.items) == 1682 and len(ml.users) == 943
    assert ml.items.loc[1, "title"] == "Toy Story (1995)"
    assert ml.items.loc[1, "year"] == 1995
    assert ml.items.loc[1, "genres"] == ["Animation", "Children's", "Comedy"]
    assert any("é" in t for t in ml.items["title"]), "u.item must be read as latin-1"
    assert set(ml.users.columns) == {"age", "gender", "occupation", "zip"}
    assert ml.users["zip"].map(type).eq(str).all()


def _copy(movielens_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "ml-100k"
    shutil.copytree(movielens_dir / "ml-100k", target)
    for f in target.iterdir():
        f.chmod(0o644)
    target.chmod(0o755)
    return target


def test_reads_the_folder_itself(movielens_dir, tmp_path):
    folder = _copy(movielens_dir, tmp_path)
    assert len(load_movielens_100k(folder).items) == 1682


def test_truncated_file_names_file_and_hashes(movielens_dir, tmp_path):
    folder = _copy(movielens_dir, tmp_path)
    content = (folder / "u.data").read_bytes()
    (folder / "u.data").write_bytes(content[: len(content) // 2])
    with pytest.raises(DataError) as err:
        load_movielens_100k(tmp_path)
    message = str(err.value)
    assert "u.data" in message and data_module.FILE_SHA256["u.data"] in message
    assert "corrupted or truncated" in message


def test_missing_directory_lists_expected_files(tmp_path):
    with pytest.raises(DataError) as err:
        load_movielens_100k(tmp_path / "nowhere", download=False)
    message = str(err.value)
    for name in ("u.data", "u.item", "u.user"):
        assert name in message
    assert "RECSYS_TUTORIAL_DATA" in message and "grouplens" in message


def test_environment_variable_sets_the_directory(movielens_dir, monkeypatch):
    monkeypatch.setenv("RECSYS_TUTORIAL_DATA", str(movielens_dir))
    assert data_module.default_data_dir() == movielens_dir


def test_no_network_explains_local_copy_and_leaves_nothing(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise ConnectionError("network unreachable")

    monkeypatch.setattr("pooch.retrieve", offline)
    with pytest.raises(DataError) as err:
        load_movielens_100k(tmp_path)
    assert "RECSYS_TUTORIAL_DATA" in str(err.value) and "download failed" in str(err.value)
    assert list(tmp_path.iterdir()) == []


def _fake_archive(movielens_dir: Path, corrupt: bool = False):
    def retrieve(url, known_hash, fname, path, progressbar):
        archive = Path(path) / fname
        with zipfile.ZipFile(archive, "w") as zf:
            for f in sorted((movielens_dir / "ml-100k").iterdir()):
                payload = f.read_bytes()
                if corrupt and f.name == "u.item":
                    payload = payload[:-10]
                zf.writestr(f"ml-100k/{f.name}", payload)
        return str(archive)

    return retrieve


def test_download_extracts_and_verifies(movielens_dir, tmp_path, monkeypatch):
    monkeypatch.setattr("pooch.retrieve", _fake_archive(movielens_dir))
    ml = load_movielens_100k(tmp_path / "cache")
    assert len(ml.interactions) == 100_000
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["ml-100k"]


def test_corrupt_archive_member_leaves_nothing(movielens_dir, tmp_path, monkeypatch):
    monkeypatch.setattr("pooch.retrieve", _fake_archive(movielens_dir, corrupt=True))
    with pytest.raises(DataError, match="u.item"):
        load_movielens_100k(tmp_path)
    assert list(tmp_path.iterdir()) == []


def _run_data_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = Path(__file__).resolve().parents[1] / "scripts" / "check_data.py"
    return subprocess.run([sys.executable, str(script)], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=60)


def test_data_check_accepts_an_intact_copy(movielens_dir):
    result = _run_data_check({"RECSYS_TUTORIAL_DATA": str(movielens_dir)})
    assert result.returncode == 0, result.stderr
    assert "verified copy" in result.stdout


def test_data_check_names_a_damaged_file(movielens_dir, tmp_path):
    folder = _copy(movielens_dir, tmp_path)
    (folder / "u.item").write_bytes(b"truncated")
    result = _run_data_check({"RECSYS_TUTORIAL_DATA": str(tmp_path)})
    assert result.returncode == 1
    assert "u.item is corrupted or truncated" in result.stderr


def test_data_check_without_data_or_network_says_what_to_do(tmp_path):
    # An unroutable proxy stands in for "no network", whatever this machine has.
    env = {"RECSYS_TUTORIAL_DATA": str(tmp_path / "empty"),
           "https_proxy": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}
    started = time.monotonic()
    result = _run_data_check(env)
    assert result.returncode == 1
    assert time.monotonic() - started < 30
    for needed in ("MovieLens-100k not found", data_module.ENV_VAR, data_module.ARCHIVE_URL):
        assert needed in result.stderr
