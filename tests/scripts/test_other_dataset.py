"""A chapter runs on another dataset: chapters 00 and 01 executed with ``DATASET`` set
to a synthetic log, read by the generic loader (:func:`recsys_tutorial.logs.load_log`).

The parameter is injected as papermill does, in a cell after the parameters cell. The
chapter must run top to bottom without an error, its assertions included: the claims
about MovieLens-100k's numbers are checked only when ``ML100K`` holds, and the general
properties (a sampled metric is never below the full one, the by-hand ranks equal the
package's) are checked on the synthetic log too. Any error fails the test.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from recsys_tutorial import make_platform

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = {
    "00": ROOT / "notebooks" / "00_language_of_a_platform.ipynb",
    "01": ROOT / "notebooks" / "01_next_item_as_language_modelling.ipynb",
}
CHAPTER = CHAPTERS["00"]

def write_log(folder: Path) -> tuple[Path, int]:
    """A synthetic platform's log, in the columns the loader expects by default."""
    platform = make_platform(n_users=150, n_items=120, n_topics=6, length=(8, 40), seed=3)
    log = platform.interactions[["user_id", "item_id", "timestamp"]]
    path = folder / "synthetic_log.csv"
    log.to_csv(path, index=False)
    return path, len(log)


def with_dataset(notebook: nbformat.NotebookNode, dataset: str) -> nbformat.NotebookNode:
    cells = notebook.cells
    where = next(i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", []))
    injected = nbformat.v4.new_code_cell(f"DATASET = {dataset!r}")
    injected.metadata["tags"] = ["injected-parameters"]
    cells.insert(where + 1, injected)
    return notebook


def execute(notebook: nbformat.NotebookNode, monkeypatch) -> None:
    from nbclient import NotebookClient

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("MPLBACKEND", "agg")
    client = NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(CHAPTER.parent)}})
    client.execute()  # raises CellExecutionError on any error, a failed assert too


@pytest.mark.parametrize("chapter", sorted(CHAPTERS))
def test_a_chapter_runs_on_a_synthetic_log(tmp_path, monkeypatch, chapter):
    from recsys_tutorial import leave_one_out_split
    from recsys_tutorial.datasets import load_dataset

    path, _ = write_log(tmp_path)
    notebook = with_dataset(nbformat.read(CHAPTERS[chapter], as_version=4), str(path))
    execute(notebook, monkeypatch)

    printed = "".join(o.get("text", "") for c in notebook.cells
                      for o in c.get("outputs", []))
    split = leave_one_out_split(load_dataset(str(path)).interactions)
    assert split.fingerprint in printed, "the chapter must have read and split the log"


def test_a_claim_that_fails_fails_the_run(tmp_path, monkeypatch):
    from nbclient.exceptions import CellExecutionError

    path, _ = write_log(tmp_path)
    notebook = with_dataset(nbformat.read(CHAPTER, as_version=4), str(path))
    where = next(i for i, c in enumerate(notebook.cells)
                 if "load_dataset(DATASET" in c.source)
    planted = "assert not ML100K and ML100K, 'a planted claim'"
    notebook.cells.insert(where + 1, nbformat.v4.new_code_cell(planted))
    with pytest.raises(CellExecutionError, match="a planted claim"):
        execute(notebook, monkeypatch)


@pytest.mark.parametrize("needs", [("titles",), ("demographics",)])
def test_a_chapter_that_needs_more_stops_at_once(tmp_path, needs):
    from recsys_tutorial.datafiles import DataError
    from recsys_tutorial.datasets import load_dataset

    path, _ = write_log(tmp_path)
    with pytest.raises(DataError, match="This chapter needs .* which the dataset .* lacks"):
        load_dataset(str(path), needs=needs)
