"""Links both ways, checked without a build: modules link their chapters, the book links the code.

Every module's docstring links a page of the book with ``:doc:``; every file of the package
is documented on a page of the library reference (``book/api/``), in the reading order of
its sub-package's docstring; every chapter opens with a "Code for this chapter" box whose
links reach that reference. The exercises' checks show only what a student calls.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "recsys_tutorial"
API = ROOT / "book" / "api"
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
# Modules not documented on their own: the command-line entry point (importing it runs the
# bench) and the exercises' internals (the student edition must not show how answers are
# judged; the page shows ``check``, ``Feedback`` and ``CHECKS``).
UNDOCUMENTED = re.compile(r"recsys_tutorial\.(__main__|exercises\..+)")
_DIRECTIVE = re.compile(r"^\.\. (auto\w+):: (\S+)\n((?:   :.*\n)*)", re.M)
_DOC = re.compile(r":doc:`(?:[^`<]*<)?([^`>]+)>?`")


def _name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "__pycache__" not in p.parts}
SUBPACKAGES = sorted(n for n, p in MODULES.items() if p.name == "__init__.py" and n.count(".") == 1)


def _docstring(name: str) -> str:
    return ast.get_docstring(ast.parse(MODULES[name].read_text())) or ""


def _toc_files() -> set[str]:
    def files(entries):
        for entry in entries or []:
            if "file" in entry:
                yield entry["file"]
            yield from files(entry.get("sections"))
            yield from files(entry.get("chapters"))

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return {toc["root"], *files(toc.get("parts")), *files(toc.get("chapters"))}


def _page_exists(docname: str) -> bool:
    """A page of the book: a source file for ``docname`` that the table of contents lists."""
    relative = docname.removeprefix("/")
    found = any((ROOT / f"{relative}{suffix}").exists() for suffix in (".md", ".ipynb"))
    return found and relative in _toc_files()


def _family_files(package: str) -> list[str]:
    """The files a sub-package's docstring lists, in its order (as book/_ext/api_pages.py reads it)."""
    listed = re.findall(r":mod:`~?([\w.]+)`", _docstring(package))
    return [name for name in dict.fromkeys(listed) if name.startswith(package + ".")]


def _directives() -> dict[str, list[tuple[str, str, str]]]:
    """Per API page (``book/api/<stem>``), its autodoc directives: (kind, target, options).

    ``autofamily`` stands for the automodule directives it makes: the package, then its files.
    """
    pages = {}
    for page in sorted(API.glob("*.md")):
        blocks = re.findall(r"```\{eval-rst\}\n(.*?)```", page.read_text(), re.S)
        directives = []
        for kind, target, options in (m for block in blocks for m in _DIRECTIVE.findall(block)):
            if kind == "autofamily":
                directives.append(("automodule", target, ""))
                directives += [("automodule", name, "   :members:\n") for name in _family_files(target)]
            else:
                directives.append((kind, target, options))
        pages[f"book/api/{page.stem}"] = directives
    return pages


def _documented_modules() -> dict[str, str]:
    """Module documented with its members -> the API page it is on."""
    found = {}
    for page, directives in _directives().items():
        for kind, target, options in directives:
            if kind == "automodule" and (":members:" in options or target in SUBPACKAGES
                                         or target == "recsys_tutorial"):
                assert target not in found, f"{target} documented twice ({found[target]}, {page})"
                found[target] = page
    return found


def test_the_reference_is_in_the_table_of_contents():
    pages = {f"book/api/{p.stem}" for p in API.glob("*.md")}
    assert "book/api/index" in pages
    assert pages <= _toc_files(), f"API pages missing from _toc.yml: {sorted(pages - _toc_files())}"


# The package's own docstring links the families instead (next test); __main__ is the CLI.
@pytest.mark.parametrize("name", sorted(set(MODULES) - {"recsys_tutorial", "recsys_tutorial.__main__"}))
def test_module_docstring_links_a_page_of_the_book(name):
    links = _DOC.findall(_docstring(name))
    assert links, f"{name}: its docstring has no :doc: link to the chapter that explains it"
    for link in links:
        assert link.startswith("/"), f"{name}: write the :doc: link from the book's root: {link}"
        assert _page_exists(link), f"{name}: :doc:`{link}` is not a page of the book"


def test_package_docstring_names_every_family_and_top_module():
    named = set(re.findall(r":mod:`~?([\w.]+)`", _docstring("recsys_tutorial")))
    assert set(SUBPACKAGES) <= named, sorted(set(SUBPACKAGES) - named)


@pytest.mark.parametrize("package", SUBPACKAGES)
def test_subpackage_docstring_lists_its_files_and_its_page_follows_it(package):
    if package == "recsys_tutorial.exercises":
        pytest.skip("its files are internals, left out of the reference")
    listed = re.findall(r":mod:`~?([\w.]+)`", _docstring(package))
    listed = [name for name in listed if name.startswith(package + ".")]
    files = sorted(n for n in MODULES if n.startswith(package + ".") and n.count(".") == 2)
    assert sorted(listed) == files, f"{package}: its docstring should list each of its files once"
    page = _documented_modules().get(package)
    assert page == f"book/api/{package.split('.')[-1]}", f"{package}: no API page of its own"
    on_page = [t for kind, t, _ in _directives()[page] if kind == "automodule" and t != package]
    assert on_page == listed, f"{page}: the files should follow the docstring's reading order"


def test_every_module_is_documented_once():
    documented = _documented_modules()
    wanted = {n for n in MODULES if not UNDOCUMENTED.fullmatch(n)}
    assert wanted <= set(documented), f"not on any API page: {sorted(wanted - set(documented))}"
    assert set(documented) <= set(MODULES), f"no such module: {sorted(set(documented) - set(MODULES))}"


def test_the_exercises_show_only_what_a_student_calls():
    shown = [(kind, target, options) for directives in _directives().values()
             for kind, target, options in directives if target.startswith("recsys_tutorial.exercises")]
    assert ("automodule", "recsys_tutorial.exercises", "") in shown  # the docstring, no members
    allowed = {"recsys_tutorial.exercises", *(f"recsys_tutorial.exercises.{n}"
                                              for n in ("check", "Feedback", "CHECKS"))}
    for kind, target, options in shown:
        assert target in allowed and ":members:" not in options, (kind, target, options)
        assert ":private-members:" not in options and ":undoc-members:" not in options


def _box(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    boxes = [i for i, c in enumerate(cells) if c["cell_type"] == "markdown"
             and "{admonition} Code for this chapter" in "".join(c["source"])]
    assert len(boxes) == 1, f"{path.name}: one 'Code for this chapter' box"
    assert boxes[0] == 1, f"{path.name}: the box comes right after the title cell"
    return "".join(cells[boxes[0]]["source"])


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_opens_with_links_to_its_code(path):
    box = _box(path)
    documented = _documented_modules()
    pages = re.findall(r"\{doc\}`(?:[^`<]*<)?(/book/api/[^`>]+)>?`", box)
    modules = re.findall(r"\{mod\}`~?([\w.]+)`", box)
    assert pages or modules, f"{path.name}: its box links no API page"
    for page in pages:
        assert page.removeprefix("/") in _directives(), f"{path.name}: no API page {page}"
    for module in modules:
        assert module in documented, f"{path.name}: {module} is not documented on an API page"
    # the chapter's own modules link back to it
    backlinks = {n for n in modules if f"/notebooks/{path.stem}" in _DOC.findall(_docstring(n))}
    assert backlinks, f"{path.name}: none of the modules in its box links back to it"
