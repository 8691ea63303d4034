"""Each chapter's first code cell installs the course on Colab only, from the book's branch."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from sync_setup_cells import TAG, setup_cells, setup_source  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))


def run_setup(source: str, in_colab: bool, monkeypatch) -> list[str]:
    """Run ``source`` in a real IPython shell; return the ``%pip`` lines as IPython expanded them."""
    from IPython.core.interactiveshell import InteractiveShell

    if in_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    shell = InteractiveShell.instance()
    lines: list[str] = []
    shell.register_magic_function(lines.append, "line", "pip")
    result = shell.run_cell(source, store_history=False)
    result.raise_error()
    return lines


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_setup_cell_is_first_code_cell_and_current(path):
    notebook = nbformat.read(path, as_version=4)
    cells = setup_cells(notebook)
    assert len(cells) == 1, f"{path.name}: one cell tagged {TAG}"
    first_code = next(c for c in notebook.cells if c.cell_type == "code")
    assert first_code is cells[0], "the set-up cell must be the first code cell"
    assert cells[0].source == setup_source(), "run: python scripts/sync_setup_cells.py"


def test_installs_only_on_colab_from_the_configured_branch(monkeypatch):
    import yaml

    source = setup_source()
    assert run_setup(source, in_colab=False, monkeypatch=monkeypatch) == []
    lines = run_setup(source, in_colab=True, monkeypatch=monkeypatch)
    repository = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
    url, branch = repository["url"].rstrip("/"), repository["branch"]
    assert lines == [f'install -q "recsys_tutorial[text] @ git+{url}@{branch}"']


def test_every_line_fits_the_page():
    for line in setup_source().splitlines():
        assert len(line) <= 79, line


def test_a_long_repository_url_is_split_and_still_installs(tmp_path, monkeypatch):
    url = "https://github.com/an-organisation-with-a-long-name/" + "r" * 60
    (tmp_path / "_config.yml").write_text(f"repository:\n  url: {url}\n  branch: course\n")
    source = setup_source(tmp_path)
    assert max(len(line) for line in source.splitlines()) <= 79
    lines = run_setup(source, in_colab=True, monkeypatch=monkeypatch)
    assert lines == [f'install -q "recsys_tutorial[text] @ git+{url}@course"']


def test_package_version_matches_pyproject():
    import tomllib

    import recsys_tutorial

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert recsys_tutorial.__version__ == version
