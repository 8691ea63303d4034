"""Each chapter's first code cell installs the course on Colab only, at the book's version."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from sync_setup_cells import TAG, setup_cells, setup_source  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))


class FakeShell:
    def __init__(self) -> None:
        self.magics: list[tuple[str, str]] = []

    def run_line_magic(self, name: str, line: str) -> None:
        self.magics.append((name, line))


def run_setup(source: str, in_colab: bool, monkeypatch) -> FakeShell:
    shell = FakeShell()
    if in_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    code = TransformerManager().transform_cell(source)
    exec(code, {"get_ipython": lambda: shell})
    return shell


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_setup_cell_is_first_code_cell_and_current(path):
    notebook = nbformat.read(path, as_version=4)
    cells = setup_cells(notebook)
    assert len(cells) == 1, f"{path.name}: one cell tagged {TAG}"
    first_code = next(c for c in notebook.cells if c.cell_type == "code")
    assert first_code is cells[0], "the set-up cell must be the first code cell"
    assert cells[0].source == setup_source(), "run: python scripts/sync_setup_cells.py"


def test_installs_only_on_colab_and_pins_the_version(monkeypatch):
    import tomllib

    import yaml

    source = setup_source()
    assert run_setup(source, in_colab=False, monkeypatch=monkeypatch).magics == []
    magics = run_setup(source, in_colab=True, monkeypatch=monkeypatch).magics
    assert len(magics) == 1 and magics[0][0] == "pip"
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert f"git+{url}@v{version}" in magics[0][1]


def test_package_version_matches_pyproject():
    import tomllib

    import recsys_tutorial

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert recsys_tutorial.__version__ == version
