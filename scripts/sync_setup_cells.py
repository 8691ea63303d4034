"""Write (or, with --check, verify) every chapter's Colab set-up cell.

The cell is derived from the one place that names the repository (``_config.yml``:
``repository.url``) and from the package version (``pyproject.toml``), so the
notebooks install on Colab exactly the release the book was built from.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent
TAG = "colab-setup"


def setup_source(root: Path = ROOT) -> str:
    """The set-up cell's source for the repository and version configured in ``root``."""
    config = yaml.safe_load((root / "_config.yml").read_text())
    url = config["repository"]["url"].rstrip("/")
    version = tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]
    return (
        "# Set-up: on Google Colab, install the course's package at this book's version.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install -q "recsys_tutorial[text] @ git+{url}@v{version}"'
    )


def setup_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
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
