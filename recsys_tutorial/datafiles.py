"""Where MovieLens-100k lives and how to tell whether it is there (standard library only).

The loader (:mod:`recsys_tutorial.data`) and the build's first step
(``scripts/check_data.py``, run by ``make book`` and ``make test`` before anything is
installed) share these names, so that both say the same thing when the data is missing.
Explained in :doc:`/notebooks/00_language_of_a_platform`.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

ENV_VAR = "RECSYS_TUTORIAL_DATA"
ARCHIVE_URL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
# GroupLens publishes the archive's MD5 beside it (ml-100k.zip.md5); every member
# the course reads is then checked by SHA-256 below, before it is moved into place.
ARCHIVE_HASH = "md5:0e33842e24a9c977be4e0107933c0723"
FOLDER = "ml-100k"
FILE_SHA256 = {
    "u.data": "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490",
    "u.item": "553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701",
    "u.user": "f120e114da2e8cf314fd28f99417c94ae9ddf1cb6db8ce0e4b5995d40e90e62c",
    "u.genre": "9757e0d3e6b298159a80dd48eaf938114690e911e39af97a76949ef1663610bb",
}


class DataError(RuntimeError):
    """The data files are missing, corrupted, malformed or cannot be downloaded."""


def default_data_dir() -> Path:
    """Where the data lives: ``$RECSYS_TUTORIAL_DATA`` or the user's cache directory."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    try:
        import platformdirs
    except ImportError:  # before the course is installed: platformdirs' rule on each OS
        if sys.platform == "darwin":
            return Path.home() / "Library" / "Caches" / "recsys_tutorial"
        if sys.platform == "win32":
            local = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
            return local / "recsys_tutorial" / "recsys_tutorial" / "Cache"
        return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "recsys_tutorial"
    return Path(platformdirs.user_cache_dir("recsys_tutorial"))


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(path: Path) -> None:
    """Raise :class:`DataError` unless ``path`` has the SHA-256 GroupLens shipped."""
    expected = FILE_SHA256[path.name]
    actual = sha256_file(path)
    if actual != expected:
        raise DataError(
            f"{path} is corrupted or truncated: SHA-256 {actual}, expected {expected}. "
            f"Delete the folder {path.parent} and load again to download a fresh copy, "
            f"or point {ENV_VAR} at a directory holding an intact '{FOLDER}/'."
        )


def find_folder(data_dir: Path) -> Path | None:
    """Accept either ``data_dir/ml-100k/`` or ``data_dir`` itself being that folder."""
    for candidate in (data_dir / FOLDER, data_dir):
        if (candidate / "u.data").exists():
            return candidate
    return None


def missing_message(data_dir: Path, reason: str) -> str:
    """What is missing, where it was looked for, and the two ways to provide it."""
    files = ", ".join(sorted(FILE_SHA256))
    return (
        f"MovieLens-100k not found in {data_dir} ({reason}). Expected the folder "
        f"{data_dir / FOLDER} with the files {files} as shipped by GroupLens. "
        f"Either allow the download (download=True, needs network access to "
        f"files.grouplens.org), or download {ARCHIVE_URL} yourself, unzip it, and "
        f"point the loader at the directory containing '{FOLDER}/' with "
        f"data_dir=... or the environment variable {ENV_VAR}."
    )


def check_local(data_dir: Path) -> Path:
    """The verified local folder under ``data_dir``; :class:`DataError` if absent or damaged."""
    folder = find_folder(data_dir)
    if folder is None:
        raise DataError(missing_message(data_dir, "no local copy"))
    missing = [name for name in FILE_SHA256 if not (folder / name).exists()]
    if missing:
        raise DataError(missing_message(data_dir, f"missing files: {', '.join(missing)}"))
    for name in FILE_SHA256:
        verify_file(folder / name)
    return folder


def archive_reachable(timeout: float = 10.0) -> str | None:
    """``None`` if GroupLens answers for the archive within ``timeout`` s, else why not."""
    from urllib.error import URLError
    from urllib.request import Request, urlopen

    try:
        with urlopen(Request(ARCHIVE_URL, method="HEAD"), timeout=timeout):
            return None
    except (URLError, OSError) as err:
        return f"download not possible: {type(err).__name__}: {err}"
