"""The student edition: notebooks without solutions, and a check that nothing leaks.

``write`` copies every chapter to ``_build/student/notebooks/`` without the cells tagged
``solution`` and without the gated ``solution-start`` / ``solution-end`` blocks (and any
``{solution}`` directive in markdown), with outputs cleared. ``check`` verifies that no
solution text appears in those notebooks or in the student site, which is built with
``student_edition`` set (book/_ext/student_edition.py).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "_build" / "student"
SOLUTION_TAG = "solution"
_DIRECTIVE = re.compile(r"(`{3,}|:{3,})\{solution\}.*?\n\1[ \t]*(?:\n|$)", re.S)
_START = re.compile(r"^(`{3,}|:{3,})\{solution-start\}")
_END = re.compile(r"^(`{3,}|:{3,})\{solution-end\}")


def _split_markdown(source: str) -> list[str]:
    """Split a markdown cell at gated-directive boundaries, keeping each directive whole."""
    parts, current = [], []
    lines = source.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        line = lines[i]
        if _START.match(line) or _END.match(line):
            if current:
                parts.append("".join(current))
                current = []
            fence = re.match(r"^(`{3,}|:{3,})", line).group(1)
            block = [line]
            i += 1
            while i < len(lines):
                block.append(lines[i])
                if lines[i].strip() == fence:
                    break
                i += 1
            parts.append("".join(block))
        else:
            current.append(line)
        i += 1
    if current:
        parts.append("".join(current))
    return parts


def strip_solutions(notebook: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, list[str]]:
    """A copy of ``notebook`` without solutions, and the removed solution texts."""
    removed: list[str] = []
    cells = []
    inside = False
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            kept = []
            for part in _split_markdown(cell.source):
                if _START.match(part):
                    inside = True
                elif _END.match(part):
                    inside = False
                elif inside:
                    removed.append(part)
                else:
                    removed.extend(m.group(0) for m in _DIRECTIVE.finditer(part))
                    kept.append(_DIRECTIVE.sub("", part))
            text = "".join(kept).strip("\n")
            if text.strip():
                cells.append(nbformat.v4.new_markdown_cell(text, metadata=cell.metadata))
            continue
        if inside or SOLUTION_TAG in cell.get("metadata", {}).get("tags", []):
            removed.append(cell.source)
            continue
        copy = nbformat.from_dict(dict(cell))
        copy.outputs, copy.execution_count = [], None
        cells.append(copy)
    student = nbformat.from_dict(dict(notebook))
    student.cells = cells
    return student, removed


def _fingerprints(texts: list[str]) -> list[str]:
    """Distinctive lines of the solutions, to search for in the student edition."""
    lines = []
    for text in texts:
        for line in text.splitlines():
            line = line.strip()
            if len(line) >= 25 and not line.startswith(("#", "```", ":::", ":class:")):
                lines.append(line)
    return lines


def write() -> list[str]:
    """Write the student notebooks; return the fingerprints of everything removed."""
    target = OUT / "notebooks"
    target.mkdir(parents=True, exist_ok=True)
    fingerprints, kept = [], []
    for path in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb")):
        student, removed = strip_solutions(nbformat.read(path, as_version=4))
        nbformat.write(student, target / path.name)
        fingerprints += _fingerprints(removed)
        kept += [c.source for c in student.cells]
    # A line that the chapters also use outside a solution (an import, say) proves nothing.
    kept_text = "\n".join(kept)
    return [line for line in fingerprints if line not in kept_text]


def student_config() -> Path:
    """The book's configuration with solutions hidden, for the student site."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["title"] += " (student edition)"
    config.setdefault("sphinx", {}).setdefault("config", {})["student_edition"] = True
    config["execute"]["cache"] = str(ROOT / "_build" / ".jupyter_cache")
    extensions = config["sphinx"].get("local_extensions", {})
    config["sphinx"]["local_extensions"] = {name: str(ROOT / where) for name, where in extensions.items()}
    path = OUT / "_config.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def check(fingerprints: list[str]) -> list[str]:
    """Every place a solution line appears in the student notebooks or site."""
    import html

    leaks = []
    files = list((OUT / "notebooks").glob("*.ipynb"))
    site = OUT / "_build" / "html"
    files += list(site.rglob("*.html")) if site.exists() else []
    for path in files:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".html":
            text = html.unescape(re.sub(r"<[^>]+>", "", text))
        for line in fingerprints:
            if line in text:
                leaks.append(f"{path.relative_to(ROOT)}: {line[:70]}")
    return leaks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["notebooks", "config", "check"])
    args = parser.parse_args(argv)
    if args.command == "notebooks":
        count = len(write())
        print(f"student notebooks in {OUT / 'notebooks'} ({count} solution lines removed)")
    elif args.command == "config":
        print(student_config())
    else:
        fingerprints = write()
        if not (OUT / "_build" / "html" / "index.html").exists():
            print("no student site: run `make student` first", file=sys.stderr)
            return 1
        leaks = check(fingerprints)
        for leak in leaks:
            print(f"solution text leaked: {leak}", file=sys.stderr)
        if leaks:
            return 1
        print(f"no solution text in the student edition ({len(fingerprints)} solution lines checked)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
