"""The student edition: notebooks and a site without solutions, and a check that nothing leaks.

``source`` takes the chapters with the outputs the main build rendered (from its execution
cache, ``_build/.jupyter_cache``, filled by ``make book`` or ``make test``), removes
the solutions (cells tagged ``solution`` or ``answer`` with their outputs, gated ``solution-start`` ...
``solution-end`` blocks, ``{solution}`` directives) and writes

- ``_build/student/notebooks/``: the notebooks to hand out, outputs cleared;
- ``_build/student/src/``: a book source tree (``_config.yml``, ``_toc.yml``, ``book/``, the
  stripped chapters with their outputs), which ``jupyter-book`` builds with execution off
  into ``_build/student/_build/html``. Its pages, ``_sources``, downloads and search index
  are therefore made from solution-free notebooks only.

The site's launch buttons open the student notebooks in the repository given by
``--repository`` (``make student STUDENT_REPOSITORY=...``); without one there are none.

``check`` scans every file under ``_build/student/`` (any type; HTML entities and JSON
escapes decoded) for lines of the removed solutions (their sources and outputs, images by
hash, solution-only identifiers in the search index) and of every file under
``grading/hidden/``, and checks every link of the student HTML: none may point at the full
notebooks, outside the site, or at a missing file or anchor (``scripts/student_leaks.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import yaml
from student_leaks import LinkRules, check_links, decode_base64, fingerprints, scan

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "_build" / "student"
SRC = OUT / "src"
HANDOUT = OUT / "notebooks"
SITE = OUT / "_build" / "html"
EXECUTED = ROOT / "_build" / "jupyter_execute" / "notebooks"
MAIN_SITE = ROOT / "_build" / "html"
CACHE = ROOT / "_build" / ".jupyter_cache"
HIDDEN = ROOT / "grading" / "hidden"
# A cell with either tag is a solution (``answer`` marks the reference answers graded in
# grading/assignments.yml, which sit inside solutions).
SOLUTION_TAGS = {"solution", "answer"}
_DIRECTIVE = re.compile(r"(`{3,}|:{3,})\{solution\}.*?\n\1[ \t]*(?:\n|$)", re.S)
_START = re.compile(r"^(`{3,}|:{3,})\{solution-start\}")
_END = re.compile(r"^(`{3,}|:{3,})\{solution-end\}")
_FENCE = re.compile(r"^(`{3,}|:{3,})")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class StudentEditionError(RuntimeError):
    """The student edition cannot be made; the message says what to do."""


# ---------------------------------------------------------------------------- stripping


@dataclass
class Removed:
    """What ``strip_solutions`` took out: texts (sources and outputs) and images."""

    texts: list[str] = field(default_factory=list)
    images: list[bytes] = field(default_factory=list)
    cells: int = 0


def _split_markdown(source: str) -> list[str]:
    """Split a markdown cell at gated-directive boundaries, keeping each directive whole."""
    parts: list[str] = []
    current: list[str] = []
    lines = source.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        line = lines[i]
        if _START.match(line) or _END.match(line):
            if current:
                parts.append("".join(current))
                current = []
            fence = _FENCE.match(line).group(1)
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


def _output_texts(output: dict) -> Iterable[str]:
    if output.get("output_type") == "stream":
        yield output.get("text", "")
    elif output.get("output_type") == "error":
        yield output.get("evalue", "")
        yield _ANSI.sub("", "\n".join(output.get("traceback", [])))
    for mime, value in output.get("data", {}).items():
        if not mime.startswith("image/") or mime == "image/svg+xml":
            yield value if isinstance(value, str) else json.dumps(value)


def _output_images(output: dict) -> Iterable[bytes]:
    for mime, value in output.get("data", {}).items():
        if mime.startswith("image/") and mime != "image/svg+xml":
            yield decode_base64("".join(value) if isinstance(value, list) else str(value))


def strip_solutions(
    notebook: nbformat.NotebookNode, keep_outputs: bool = False
) -> tuple[nbformat.NotebookNode, Removed]:
    """A copy of ``notebook`` without solutions, and what was removed.

    The outputs of the cells kept are cleared unless ``keep_outputs``.
    """
    removed = Removed()
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
                    removed.texts.append(part)
                else:
                    removed.texts.extend(m.group(0) for m in _DIRECTIVE.finditer(part))
                    kept.append(_DIRECTIVE.sub("", part))
            text = "".join(kept).strip("\n")
            if text.strip():
                cells.append(nbformat.v4.new_markdown_cell(text, metadata=cell.metadata))
            else:
                removed.cells += 1
            continue
        if inside or SOLUTION_TAGS & set(cell.get("metadata", {}).get("tags", [])):
            removed.cells += 1
            removed.texts.append(cell.source)
            for output in cell.get("outputs", []):
                removed.texts.extend(_output_texts(output))
                removed.images.extend(_output_images(output))
            continue
        copy = nbformat.from_dict(dict(cell))
        if cell.cell_type == "code" and not keep_outputs:
            copy.outputs, copy.execution_count = [], None
            copy.metadata.pop("execution", None)  # the run's timestamps
        cells.append(copy)
    if inside:
        raise StudentEditionError("a solution-start without its solution-end")
    student = nbformat.from_dict(dict(notebook))
    student.cells = cells
    return student, removed


def notebook_text(notebook: nbformat.NotebookNode) -> str:
    """The sources and text outputs of ``notebook``."""
    texts = []
    for cell in notebook.cells:
        texts.append(cell.source)
        for output in cell.get("outputs", []):
            texts.extend(_output_texts(output))
    return "\n".join(texts)


# --------------------------------------------------------------------------- the commands


def _chapters() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))


def _check_executed(docname: str, executed: nbformat.NotebookNode, allow_unexecuted: bool) -> None:
    outputs = [c for c in executed.cells if c.cell_type == "code" and c.get("outputs")]
    if not outputs and not allow_unexecuted:
        raise StudentEditionError(
            f"{docname}: the execution cache ({CACHE.relative_to(ROOT)}) holds no run of it as "
            "it is now (changed since the main build, or the book was built with execution "
            "off): run `make book`"
        )
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"]
    if errors:
        raise StudentEditionError(
            f"{docname}: its outputs hold an error ({errors[0].ename}): fix it and run `make book`"
        )


def _sources() -> dict[str, nbformat.NotebookNode]:
    """The notebook pages by docname: the chapters, and prose pages with code cells.

    A prose page counts if the main build executed it (myst-nb wrote it to
    ``_build/jupyter_execute/``); it is read the way myst-nb reads it.
    """
    from myst_nb.core.read import read_myst_markdown_notebook

    sources = {f"notebooks/{p.stem}": nbformat.read(p, as_version=4) for p in _chapters()}
    for executed in sorted((EXECUTED.parent / "book").glob("**/*.ipynb")):
        docname = executed.relative_to(EXECUTED.parent).with_suffix("").as_posix()
        page = ROOT / f"{docname}.md"
        if page.exists():
            notebook = read_myst_markdown_notebook(page.read_text())
            for key in ("file_format", "source_map"):
                notebook.metadata.pop(key, None)
            sources[docname] = notebook
    return sources


def executed_documents(allow_unexecuted: bool = False) -> dict[str, nbformat.NotebookNode]:
    """Every notebook page with the outputs the main build rendered, by docname.

    The outputs come from the execution cache, as myst-nb merges them into a page when it
    renders it: ``make book`` and ``make test`` leave every successful run there (myst-nb's
    copies in ``_build/jupyter_execute/`` lack the outputs of pages taken from the cache).
    A clear error if the main build has not run, or no run matches a page as it is now.
    """
    if not (MAIN_SITE / "index.html").exists() or not EXECUTED.is_dir():
        raise StudentEditionError(
            "no main build: run `make book` first (the student edition reuses the outputs of "
            f"the chapters it executed, from {CACHE.relative_to(ROOT)})"
        )
    cache = None
    if CACHE.is_dir():
        from jupyter_cache import get_cache

        cache = get_cache(str(CACHE))
    documents = {}
    for docname, notebook in _sources().items():
        if cache is not None:
            with contextlib.suppress(KeyError):
                _, notebook = cache.merge_match_into_notebook(notebook)
        _check_executed(docname, notebook, allow_unexecuted)
        documents[docname] = notebook
    return documents


def execution_data(documents: dict[str, nbformat.NotebookNode]) -> dict[str, dict]:
    """What myst-nb recorded for each document when the main build took it from the cache.

    The student site is built with execution off; book/_ext/student_edition.py hands these
    records to its execution-statistics table, which then shows the main build's times.
    """
    if not CACHE.is_dir():
        return {}
    from jupyter_cache import get_cache

    cache = get_cache(str(CACHE))
    data = {}
    for docname, notebook in documents.items():
        try:
            record = cache.match_cache_notebook(notebook)
        except KeyError:
            continue
        data[docname] = {
            "mtime": record.created.timestamp(),
            "runtime": record.data.get("execution_seconds"),
            "method": "cache",
            "succeeded": True,
            "error": None,
            "traceback": None,
        }
    return data


def _repository_slug(url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme != "https" or len(parsed.path.strip("/").split("/")) != 2:
        raise StudentEditionError(
            f"STUDENT_REPOSITORY={url!r}: give the address of a repository, "
            "like https://github.com/your-org/course-student"
        )
    return parsed.path.strip("/").removesuffix(".git").lower()


def student_config(repository: str, branch: str) -> dict:
    """The book's configuration for the student site (execution off, student launch buttons)."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    full = config["repository"]["url"]
    config["title"] += " (student edition)"
    config["execute"]["execute_notebooks"] = "off"  # the outputs come from the main build
    config["execute"].pop("cache", None)
    sphinx = config.setdefault("sphinx", {})
    sphinx.setdefault("config", {})["student_edition"] = True
    extensions = sphinx.get("local_extensions") or {}
    sphinx["local_extensions"] = {name: str(ROOT / where) for name, where in extensions.items()}
    config.setdefault("html", {}).pop("baseurl", None)
    if repository:
        if _repository_slug(repository) == _repository_slug(full):
            raise StudentEditionError(
                "STUDENT_REPOSITORY is the repository with the full notebooks; "
                "publish the student notebooks in a repository of their own"
            )
        config["repository"] = {"url": repository, "branch": branch, "path_to_book": ""}
        config["html"]["use_repository_button"] = True
    else:
        config["repository"] = {"url": "", "branch": branch, "path_to_book": ""}
        config["launch_buttons"] = {
            key: ("" if key.endswith("_url") else value)
            for key, value in config.get("launch_buttons", {}).items()
        }
        for button in ("use_repository_button", "use_issues_button", "use_edit_page_button"):
            config["html"][button] = False
    config["student_edition"] = {"full_repository": full}
    return config


def write_source(repository: str = "", branch: str = "main", allow_unexecuted: bool = False) -> int:
    """Write the hand-out notebooks and the student book's source; return cells removed."""
    documents = executed_documents(allow_unexecuted)
    config = student_config(repository, branch)
    config["sphinx"]["config"]["student_execution_data"] = execution_data(documents)
    for stale in (SRC, HANDOUT, OUT / "_build"):
        shutil.rmtree(stale, ignore_errors=True)
    shutil.copytree(ROOT / "book", SRC / "book", ignore=shutil.ignore_patterns("_ext", "__pycache__"))
    shutil.copy(ROOT / "_toc.yml", SRC / "_toc.yml")
    HANDOUT.mkdir(parents=True)
    removed = 0
    for docname, notebook in documents.items():
        with_outputs, what = strip_solutions(notebook, keep_outputs=True)
        target = SRC / f"{docname}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.with_suffix(".md").unlink(missing_ok=True)  # a prose page, now with its outputs
        nbformat.write(with_outputs, target)
        if docname.startswith("notebooks/"):
            nbformat.write(strip_solutions(notebook)[0], HANDOUT / target.name)
        removed += what.cells
    # jupyter-book would warn about the key; the check reads it from here
    full = config.pop("student_edition")
    (OUT / "links.json").write_text(json.dumps({**full, "student_repository": repository}, indent=1))
    (SRC / "_config.yml").write_text(
        "# Written by scripts/student_edition.py from _config.yml; do not edit.\n"
        + yaml.safe_dump(config, sort_keys=False)
    )
    return removed


def _public_text(documents: dict[str, nbformat.NotebookNode]) -> str:
    """All the student edition legitimately holds: stripped chapters, pages, the package."""
    texts = [notebook_text(strip_solutions(nb, keep_outputs=True)[0]) for nb in documents.values()]
    for pattern in ("book/**/*.md", "book/**/*.bib", "recsys_tutorial/**/*.py", "*.yml"):
        texts += [p.read_text(errors="replace") for p in sorted(ROOT.glob(pattern))]
    return "\n".join(texts)


def hidden_files(hidden: Path = HIDDEN) -> dict[str, bytes]:
    """Every file under ``grading/hidden/``, by path."""
    if not hidden.is_dir():
        return {}
    return {
        str(p.relative_to(ROOT) if p.is_relative_to(ROOT) else p): p.read_bytes()
        for p in sorted(hidden.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def check(allow_unexecuted: bool = False) -> int:
    """Scan the student edition; print every problem; return the exit status."""
    if not (SITE / "index.html").exists() or not (OUT / "links.json").exists():
        print("no student site: run `make student`", file=sys.stderr)
        return 1
    documents = executed_documents(allow_unexecuted)
    removed = {name: strip_solutions(nb)[1] for name, nb in documents.items()}
    hidden = hidden_files()
    found = fingerprints(removed, _public_text(documents), hidden)
    leaks, files = scan(OUT, found, relative_to=ROOT)
    links = json.loads((OUT / "links.json").read_text())
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    rules = LinkRules(
        links["full_repository"], links["student_repository"], config.get("html", {}).get("baseurl") or ""
    )
    bad_links, count = check_links(SITE, rules, relative_to=ROOT)
    for problem in leaks + bad_links:
        print(problem, file=sys.stderr)
    summary = (
        f"{files} files under {OUT.relative_to(ROOT)}/ scanned for {len(found.lines)} solution "
        f"and hidden-test lines, {len(found.identifiers)} solution-only identifiers and "
        f"{len(found.hashes)} image or file hashes ({sum(r.cells for r in removed.values())} "
        f"solution cells, {len(hidden)} hidden files); {count} links checked"
    )
    if leaks or bad_links:
        print(
            f"the student edition leaks: {len(leaks)} leaks, {len(bad_links)} bad links; {summary}",
            file=sys.stderr,
        )
        return 1
    print(f"nothing of the solutions in the student edition: {summary}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["source", "check"])
    parser.add_argument("--repository", default="", help="where the student notebooks are published")
    parser.add_argument("--branch", default="main", help="the branch of --repository")
    parser.add_argument(
        "--allow-unexecuted", action="store_true", help="accept a main build made with execution off"
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "source":
            count = write_source(
                args.repository.strip(), args.branch.strip() or "main", args.allow_unexecuted
            )
            where = args.repository or "no repository (no launch buttons)"
            print(
                f"{count} solution cells removed; notebooks to hand out in "
                f"{HANDOUT.relative_to(ROOT)}/, the site's source in {SRC.relative_to(ROOT)}/ "
                f"(launch buttons: {where})"
            )
            return 0
        return check(args.allow_unexecuted)
    except StudentEditionError as error:
        print(f"student edition: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
