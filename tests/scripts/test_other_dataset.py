"""A chapter runs on another dataset: chapter 00 executed with ``DATASET`` set to a
synthetic log, read by the generic loader (:func:`recsys_tutorial.logs.load_log`).

The parameter is injected as papermill does, in a cell after the parameters cell. The
chapter's code must run top to bottom without an error. Its assertion cells state claims
about MovieLens-100k (and its exercise checks compare with ML-100k's answers): on other
data those may or may not hold, so here each ``assert`` is recorded instead of raised,
and the claims that did not hold are printed. Any other error fails the test.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from recsys_tutorial import make_platform

ROOT = Path(__file__).resolve().parents[2]
CHAPTER = ROOT / "notebooks" / "00_language_of_a_platform.ipynb"

# Runs first in the kernel: every ``assert test, message`` becomes
# ``if not test: _CLAIMS.append(message)``.
RECORD_CLAIMS = '''
import ast as _ast

_CLAIMS = []


class _RecordClaims(_ast.NodeTransformer):
    def visit_Assert(self, node):
        message = node.msg or _ast.Constant(_ast.unparse(node.test))
        record = _ast.Expr(_ast.Call(
            _ast.Attribute(_ast.Name("_CLAIMS", _ast.Load()), "append", _ast.Load()),
            [message], []))
        check = _ast.If(_ast.UnaryOp(_ast.Not(), node.test), [record], [])
        return _ast.copy_location(check, node)


get_ipython().ast_transformers.append(_RecordClaims())
'''
REPORT = 'import json as _json\nprint("CLAIMS " + _json.dumps(_CLAIMS))'


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
    cells.insert(0, nbformat.v4.new_code_cell(RECORD_CLAIMS))
    cells.append(nbformat.v4.new_code_cell(REPORT))
    return notebook


def test_chapter_00_runs_on_a_synthetic_log(tmp_path, monkeypatch):
    from nbclient import NotebookClient

    path, n_events = write_log(tmp_path)
    notebook = with_dataset(nbformat.read(CHAPTER, as_version=4), str(path))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("MPLBACKEND", "agg")
    client = NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(CHAPTER.parent)}})
    client.execute()  # raises CellExecutionError on any error but a claim

    def text(cell) -> str:
        return "".join(o.get("text", "") for o in cell.get("outputs", []))

    loading = next(c for c in notebook.cells if "load_dataset(DATASET" in c.source)
    assert f"{n_events:,} ratings" in text(loading), "the chapter must have read the log"
    report = text(notebook.cells[-1]).split("CLAIMS ", 1)[1]
    claims = json.loads(report)
    print(f"claims about MovieLens-100k that do not hold on the synthetic log: {claims}")


@pytest.mark.parametrize("needs", [("titles",), ("demographics",)])
def test_a_chapter_that_needs_more_stops_at_once(tmp_path, needs):
    from recsys_tutorial.datafiles import DataError
    from recsys_tutorial.datasets import load_dataset

    path, _ = write_log(tmp_path)
    with pytest.raises(DataError, match="This chapter needs .* which the dataset .* lacks"):
        load_dataset(str(path), needs=needs)
