"""Small helpers the families share: device, cache folders, atomic writes, titles, vectors.

Each is written once here, so that a fix reaches every chapter. Explained where first
used: devices and caches in :doc:`/notebooks/04_next_item_transformers`, titles and
unit vectors in :doc:`/notebooks/05_zero_shot_text_encoders`.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

# MovieLens files a title library-style, "Godfather, The (1972)"; the articles it moves.
ARTICLES = ("The", "A", "An", "Les", "La", "Le", "L'", "Il", "Das", "Der", "Die", "El")
_ARTICLE = re.compile(r"^(?P<name>.*), (?P<article>" + "|".join(ARTICLES) + r")(?P<rest> \(.*\))?$")
_ALTERNATIVE = re.compile(r"\s+\((?!\d{4}\))[^()]*\)")  # "(a.k.a. ...)", "(Life is Rosey)"


def select_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"``: CUDA when available, else CPU; anything else is passed to torch."""
    import torch

    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def cache_dir(kind: str, env_var: str | None = None) -> Path:
    """``$env_var`` when set, else ``<user cache>/recsys_tutorial/<kind>``."""
    if env_var and os.environ.get(env_var):
        return Path(os.environ[env_var]).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("recsys_tutorial")) / kind


@contextmanager
def atomic_path(target: str | os.PathLike[str], directory: bool = False) -> Iterator[Path]:
    """Write to a temporary path beside ``target``; it becomes ``target`` only on success.

    ``with atomic_path(out) as tmp: tmp.write_text(...)``. A reader never sees a half-written
    file (or folder, with ``directory=True``), and a failure leaves nothing behind. An
    existing ``target`` is replaced (a folder: removed first).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if directory:
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-"))
    else:
        handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        os.close(handle)
        tmp = Path(name)
    try:
        yield tmp
        if directory and target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


def clean_title(title: str, drop_alternatives: bool = False) -> str:
    """A MovieLens title as people write it: ``"Godfather, The (1972)"`` becomes
    ``"The Godfather (1972)"`` (and ``"Enfer, L' (1994)"`` ``"L'Enfer (1994)"``).

    ``drop_alternatives=True`` also drops alternative titles in parentheses, keeping the
    year (shorter prompts).
    """
    title = title.strip()
    if drop_alternatives:
        title = _ALTERNATIVE.sub("", title)
    match = _ARTICLE.match(title)
    if match is None:
        return title
    space = "" if match["article"].endswith("'") else " "
    return f"{match['article']}{space}{match['name']}{match['rest'] or ''}"


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; zero rows (items never trained) stay zero."""
    vectors = np.asarray(vectors)
    if not np.issubdtype(vectors.dtype, np.floating):
        vectors = vectors.astype(np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
