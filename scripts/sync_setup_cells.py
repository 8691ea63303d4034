"""Write (or, with --check, verify) every chapter's Colab set-up cell.

The cell is derived from the one place that names the repository (``_config.yml``:
``repository.url`` and ``repository.branch``), so the notebooks install on Colab the
package from the branch the book is built from. IPython expands ``{NAME}`` in a ``%pip``
line, which keeps every line of the cell within the page's 79 characters.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent
TAG = "colab-setup"
WIDTH = 79  # the page width of a notebook code line (notebooks/ruff.toml)


def _string_assignment(name: str, value: str) -> list[str]:
    """``NAME = "value"``, split into implicitly joined pieces if it is too wide."""
    line = f'{name} = "{value}"'
    if len(line) <= WIDTH:
        return [line]
    step = WIDTH - 8
    pieces = [value[i : i + step] for i in range(0, len(value), step)]
    return [f"{name} = ("] + [f'    "{piece}"' for piece in pieces] + [")"]


def setup_source(root: Path = ROOT) -> str:
    """The set-up cell's source for the repository and branch configured in ``root``."""
    repository = yaml.safe_load((root / "_config.yml").read_text())["repository"]
    url = repository["url"].rstrip("/")
    branch = repository.get("branch") or "main"
    lines = [
        "# Set-up: on Google Colab, install the course's package from the branch",
        "# this book is built from.",
        "import sys",
        "",
        *_string_assignment("REPOSITORY", url),
        *_string_assignment("BRANCH", branch),
        'if "google.colab" in sys.modules:',
        '    %pip install -q "recsys_tutorial[text] @ git+{REPOSITORY}@{BRANCH}"',
    ]
    return "\n".join(lines)


def setup_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The cells of ``notebook`` tagged as its Colab set-up cell."""
    return [c for c in notebook.cells if TAG in c.get("metadata", {}).get("tags", [])]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if a cell is out of date")
    args = parser.parse_args(argv)
    source = setup_source()
    problems = []
    for path in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        cells = setup_cells(notebook)
        if len(cells) != 1:
            problems.append(f"{path.name}: expected one cell tagged '{TAG}', found {len(cells)}")
            continue
        if cells[0].source != source:
            if args.check:
                problems.append(f"{path.name}: set-up cell is out of date")
            else:
                cells[0].source = source
                nbformat.write(notebook, path)
                print(f"updated {path.name}")
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems and args.check:
        print("run: python scripts/sync_setup_cells.py", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
