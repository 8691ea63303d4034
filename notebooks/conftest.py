"""Execute each notebook once: nbval runs it, and its outputs feed the book.

nbval executes every code cell and fails on errors (the chapters' assertion
cells make a broken claim an error). This plugin keeps the outputs nbval
collected; when every cell of a notebook passed, the executed notebook is
stored in the book's jupyter-cache, so ``jupyter-book build`` renders it
without running it again.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXECUTED = ROOT / "_build" / "executed"
CACHE = ROOT / "_build" / ".jupyter_cache"
_failed: set[str] = set()
_started: dict[str, float] = {}


def _is_cell(item: pytest.Item) -> bool:
    return type(item).__name__ == "IPyNbCell"


# The longest chapters first, so that two workers finish together (cells keep
# their order).
LONGEST_FIRST = ["04", "07", "06", "08", "05", "02", "03", "01", "00"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        prefix = Path(str(item.fspath)).name[:2]
        return (
            LONGEST_FIRST.index(prefix)
            if prefix in LONGEST_FIRST
            else len(LONGEST_FIRST)
        )

    items.sort(key=rank)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    if not _is_cell(item) or call.when != "call":
        return
    report = outcome.get_result()
    path = str(item.parent.fspath)
    _started.setdefault(path, call.start)
    if report.failed:
        _failed.add(path)
    outputs = getattr(item, "test_outputs", None) or []
    item.cell.outputs = [nbformat.from_dict(dict(o)) for o in outputs]
    item.cell.execution_count = item.cell_num + 1
    for out in item.cell.outputs:
        if out.get("output_type") == "execute_result":
            out["execution_count"] = item.cell_num + 1


def pytest_runtest_teardown(
    item: pytest.Item, nextitem: pytest.Item | None
) -> None:
    if not _is_cell(item) or (
        nextitem is not None and nextitem.parent is item.parent
    ):
        return
    path = str(item.parent.fspath)
    if path in _failed:
        return
    notebook = item.parent.nb
    notebook.metadata["execution_seconds"] = time.time() - _started.get(
        path, time.time()
    )
    EXECUTED.mkdir(parents=True, exist_ok=True)
    target = EXECUTED / Path(path).name
    tmp = target.with_suffix(".tmp")
    nbformat.write(notebook, str(tmp))
    os.replace(tmp, target)
    (EXECUTED / (Path(path).name + ".source")).write_text(path)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if hasattr(session.config, "workerinput") or not EXECUTED.exists():
        return  # only the controlling process writes the cache
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(str(CACHE))
    for executed in sorted(EXECUTED.glob("*.ipynb")):
        pointer = EXECUTED / (executed.name + ".source")
        source = Path(pointer.read_text())
        notebook = nbformat.read(str(executed), as_version=4)
        seconds = notebook.metadata.pop("execution_seconds", None)
        cache.cache_notebook_bundle(
            CacheBundleIn(
                notebook, str(source), data={"execution_seconds": seconds}
            ),
            check_validity=False,
            overwrite=True,
        )
        executed.unlink()
        pointer.unlink()
