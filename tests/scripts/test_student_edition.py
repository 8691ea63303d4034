"""The student edition removes solutions, and only solutions; its check finds any leak."""

from __future__ import annotations

import base64
import json
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from student_edition import StudentEditionError, notebook_text, strip_solutions  # noqa: E402
from student_leaks import LinkRules, check_links, fingerprints, scan  # noqa: E402

SECRET = "gated_solution_code_that_must_go = 2 * answer_of_everything"
SECRET_OUTPUT = "the secret answer is 0.4242, printed by the solution"
SECRET_PROSE = "The reasoning behind the *solution*, hidden from students."
IMAGE = bytes(range(100))  # a solution's figure, as the bytes of its file
HIDDEN_TEST = "assert abs(hidden_expected_value - 0.4242) < 1e-9, 'hidden'\n"
FULL = "https://github.com/course-org/course"


def _notebook() -> nbformat.NotebookNode:
    nb = new_notebook()
    tagged = new_code_cell("answer_with_a_tagged_solution_cell = 42")
    tagged.metadata["tags"] = ["solution"]
    graded = new_code_cell("reference_answer_cell_that_is_graded = 3")
    graded.metadata["tags"] = ["answer"]
    gated = new_code_cell(SECRET)
    gated.outputs = [
        new_output("stream", name="stdout", text=SECRET_OUTPUT + "\n"),
        new_output("display_data", data={"image/png": base64.b64encode(IMAGE).decode()}),
    ]
    visible = new_code_cell("visible_code_that_students_keep = 1")
    visible.outputs = [new_output("stream", name="stdout", text="a visible output line, kept\n")]
    nb.cells = [
        new_markdown_cell("# Chapter\n\n```{exercise} Try\n:label: ex-a\n\nCompute the answer.\n```"),
        visible,
        new_markdown_cell("```{solution-start} ex-a\n:class: dropdown\n```"),
        new_markdown_cell(SECRET_PROSE),
        gated,
        new_markdown_cell("```{solution-end}\n```\n\n## After the solution\n\nStill here."),
        tagged,
        graded,
        new_markdown_cell(
            "```{solution} ex-a\n:class: dropdown\n\nAn inline solution directive.\n```\n\nKept text."
        ),
    ]
    return nb


def test_solutions_removed_and_the_rest_kept():
    student, removed = strip_solutions(_notebook())
    text = "\n".join(c.source for c in student.cells)
    for gone in ["gated_solution_code_that_must_go", "reasoning behind the", "solution-start",
                 "answer_with_a_tagged_solution_cell", "inline solution directive",
                 "reference_answer_cell_that_is_graded"]:
        assert gone not in text
    for kept in ["Compute the answer.", "visible_code_that_students_keep", "After the solution",
                 "Still here.", "Kept text."]:
        assert kept in text
    assert any(SECRET in r for r in removed.texts)
    assert any(SECRET_OUTPUT in r for r in removed.texts), "solution outputs are fingerprinted"
    assert removed.images == [IMAGE]
    assert all(not c.get("outputs") for c in student.cells if c.cell_type == "code")


def test_the_site_source_keeps_the_outputs_of_the_cells_kept():
    student, _ = strip_solutions(_notebook(), keep_outputs=True)
    text = notebook_text(student)
    assert "a visible output line, kept" in text
    assert SECRET_OUTPUT not in text and SECRET not in text


def test_an_unclosed_solution_is_an_error():
    nb = new_notebook(cells=[new_markdown_cell("```{solution-start} ex-a\n```"), new_code_cell("x = 1")])
    with pytest.raises(StudentEditionError, match="solution-end"):
        strip_solutions(nb)


# A tiny student tree: what `make student` writes, made by hand.


def _student_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "student"
    student, _ = strip_solutions(_notebook(), keep_outputs=True)
    (tree / "notebooks").mkdir(parents=True)
    nbformat.write(strip_solutions(_notebook())[0], tree / "notebooks" / "01_x.ipynb")
    site = tree / "_build" / "html"
    (site / "_sources" / "notebooks").mkdir(parents=True)
    (site / "_images").mkdir()
    nbformat.write(student, site / "_sources" / "notebooks" / "01_x.ipynb")
    (site / "index.html").write_text('<a href="notebooks/01_x.html#kept">chapter</a>')
    (site / "notebooks").mkdir()
    (site / "notebooks" / "01_x.html").write_text(
        '<html><body><section id="kept"><h1>Chapter</h1>\n'
        "<pre><span>visible_code_that_students_keep</span> = 1</pre>\n"
        '<a href="../_sources/notebooks/01_x.ipynb" class="btn">.ipynb</a>\n'
        '<a href="#kept">back</a> <a href="https://github.com/course-org/course">repository</a>\n'
        "</section></body></html>\n"
    )
    (site / "searchindex.js").write_text(
        'Search.setIndex({"terms": {"visible_code_that_students_keep": 0, "chapter": 0}, '
        '"titles": ["Chapter"]})'
    )
    return tree


def _found(tmp_path: Path):
    removed = {"01_x.ipynb": strip_solutions(_notebook())[1]}
    public = notebook_text(strip_solutions(_notebook(), keep_outputs=True)[0])
    return fingerprints(removed, public, {"grading/hidden/ex-a.py": HIDDEN_TEST.encode() * 2})


def _problems(tree: Path, found, student_repository: str = "") -> list[str]:
    leaks, files = scan(tree, found)
    assert files >= 5
    links, count = check_links(tree / "_build" / "html", LinkRules(FULL, student_repository))
    assert count >= 4
    return leaks + links


def test_a_clean_tree_passes(tmp_path):
    found = _found(tmp_path)
    assert SECRET in found.lines and len(found.hashes) == 2
    assert _problems(_student_tree(tmp_path), found) == []


def _plant_in_notebook(site: Path) -> str:
    path = site.parent.parent / "notebooks" / "01_x.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(new_code_cell("# a planted solution\n" + SECRET))
    nbformat.write(nb, path)
    return "notebooks/01_x.ipynb:"


def _plant_in_html(site: Path) -> str:
    page = site / "notebooks" / "01_x.html"
    escaped = "<p>The reasoning behind the <em>solution</em>, hidden from&nbsp;students.</p>"
    page.write_text(page.read_text().replace("</section>", escaped + "\n</section>"))
    return "_build/html/notebooks/01_x.html:5:"


def _plant_output_in_js(site: Path) -> str:
    (site / "_static").mkdir()
    (site / "_static" / "data.js").write_text("var x = " + json.dumps({"t": SECRET_OUTPUT + "\n"}))
    return "_build/html/_static/data.js:1:"


def _plant_search_term(site: Path) -> str:
    index = site / "searchindex.js"
    index.write_text(index.read_text().replace('"chapter": 0', '"chapter": 0, "answer_of_everyth": 0'))
    return "search term 'answer_of_everyth'"


def _plant_image(site: Path) -> str:
    (site / "_images" / "figure.png").write_bytes(IMAGE)
    return "_build/html/_images/figure.png:1: the file is an image"


def _plant_hidden_test(site: Path) -> str:
    release = site.parent.parent / "assignments"
    release.mkdir()
    (release / "a1.py").write_text("x = 1\n" + HIDDEN_TEST)
    return "assignments/a1.py:2: text of hidden file grading/hidden/ex-a.py"


def _plant_hidden_test_in_zip(site: Path) -> str:
    release = site.parent.parent / "assignments"
    release.mkdir()
    with zipfile.ZipFile(release / "a1.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("tests/q1.py", "x = 1\n" + HIDDEN_TEST)
    return "assignments/a1.zip!tests/q1.py:2: text of hidden file"


def _plant_full_colab_link(site: Path) -> str:
    page = site / "notebooks" / "01_x.html"
    colab = "https://colab.research.google.com/github/course-org/course/blob/main/notebooks/01_x.ipynb"
    page.write_text(page.read_text().replace('href="#kept"', f'href="{colab}"'))
    return "points at the full notebooks"


def _plant_hidden_test_link(site: Path) -> str:
    page = site / "notebooks" / "01_x.html"
    hidden = "https://github.com/course-org/course/blob/main/grading/hidden/ex-a.py"
    page.write_text(page.read_text().replace('href="#kept"', f'href="{hidden}"'))
    return "points at the hidden tests"


def _plant_broken_anchor(site: Path) -> str:
    page = site / "notebooks" / "01_x.html"
    page.write_text(page.read_text().replace('href="#kept"', 'href="#id8"'))
    return "01_x.html:4: #id8: no such anchor"


def _plant_link_outside(site: Path) -> str:
    page = site / "notebooks" / "01_x.html"
    full = "../../../../html/_sources/notebooks/01_x.ipynb"
    page.write_text(page.read_text().replace('href="#kept"', f'href="{full}"'))
    return "points outside the student site"


@pytest.mark.parametrize(
    "plant",
    [_plant_in_notebook, _plant_in_html, _plant_output_in_js, _plant_search_term, _plant_image,
     _plant_hidden_test, _plant_hidden_test_in_zip, _plant_full_colab_link, _plant_hidden_test_link,
     _plant_broken_anchor, _plant_link_outside],
    ids=lambda f: f.__name__.removeprefix("_plant_"),
)
def test_a_planted_leak_fails_the_check(tmp_path, plant: Callable[[Path], str]):
    tree = _student_tree(tmp_path)
    expected = plant(tree / "_build" / "html")
    problems = _problems(tree, _found(tmp_path))
    assert any(expected in p for p in problems), problems


def test_launch_buttons_open_the_student_repository_only(tmp_path):
    tree = _student_tree(tmp_path)
    page = tree / "_build" / "html" / "notebooks" / "01_x.html"
    student = "https://colab.research.google.com/github/course-org/course-student/blob/main/notebooks/01_x.ipynb"
    page.write_text(page.read_text().replace('href="#kept"', f'href="{student}"'))
    found = _found(tmp_path)
    assert _problems(tree, found, "https://github.com/course-org/course-student") == []
    problems = _problems(tree, found)
    assert any("no student repository is configured" in p for p in problems), problems


# Making the student source: clear errors, and the launch settings in one place.


def test_student_config_launch_buttons_follow_the_student_repository():
    import student_edition as se

    config = se.student_config("", "main")
    assert config["launch_buttons"]["colab_url"] == "" and config["repository"]["url"] == ""
    assert not config["html"]["use_repository_button"]
    assert config["execute"]["execute_notebooks"] == "off"
    config = se.student_config("https://github.com/a-school/course-student", "spring")
    assert config["repository"] == {
        "url": "https://github.com/a-school/course-student", "branch": "spring", "path_to_book": ""
    }
    assert config["launch_buttons"]["colab_url"].startswith("https://colab.research.google.com")
    full = config["student_edition"]["full_repository"]
    with pytest.raises(StudentEditionError, match="repository of their own"):
        se.student_config(full, "main")
    with pytest.raises(StudentEditionError, match="address of a repository"):
        se.student_config("course-student", "main")


def _fake_main_build(tmp_path: Path, monkeypatch, cached: nbformat.NotebookNode | None):
    """A chapter, a main build's site and (unless None) a run of ``cached`` in the cache."""
    import student_edition as se
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    source = tmp_path / "notebooks" / "01_x.ipynb"
    source.parent.mkdir(parents=True)
    unexecuted = _notebook()
    for cell in unexecuted.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    nbformat.write(unexecuted, source)
    monkeypatch.setattr(se, "ROOT", tmp_path)
    monkeypatch.setattr(se, "MAIN_SITE", tmp_path / "_build" / "html")
    monkeypatch.setattr(se, "EXECUTED", tmp_path / "_build" / "jupyter_execute" / "notebooks")
    monkeypatch.setattr(se, "CACHE", tmp_path / "_build" / ".jupyter_cache")
    se.EXECUTED.mkdir(parents=True)
    se.MAIN_SITE.mkdir(parents=True)
    (se.MAIN_SITE / "index.html").write_text("<html></html>")
    if cached is not None:
        cache = get_cache(str(se.CACHE))
        cache.cache_notebook_bundle(CacheBundleIn(cached, str(source)), check_validity=False)
    return se


def test_the_main_build_is_required(tmp_path, monkeypatch):
    se = _fake_main_build(tmp_path, monkeypatch, None)
    (se.MAIN_SITE / "index.html").unlink()
    with pytest.raises(StudentEditionError, match="no main build: run `make book`"):
        se.executed_documents()


def test_outputs_come_from_the_execution_cache(tmp_path, monkeypatch):
    se = _fake_main_build(tmp_path, monkeypatch, _notebook())
    [(docname, notebook)] = se.executed_documents().items()
    assert docname == "notebooks/01_x"
    assert "a visible output line, kept" in notebook_text(notebook)


def test_a_chapter_changed_since_the_main_build_or_never_run_is_refused(tmp_path, monkeypatch):
    changed = _notebook()
    changed.cells[1].source += "\nmore = 2"
    se = _fake_main_build(tmp_path / "a", monkeypatch, changed)
    with pytest.raises(StudentEditionError, match="holds no run of it as it is now"):
        se.executed_documents()
    se = _fake_main_build(tmp_path / "b", monkeypatch, None)
    with pytest.raises(StudentEditionError, match="run `make book`"):
        se.executed_documents()
    assert list(se.executed_documents(allow_unexecuted=True)) == ["notebooks/01_x"]


def test_nothing_but_a_new_section_or_exercise_follows_a_solution_in_its_cell():
    """Text after ``{solution-end}`` in the same cell is printed under the question."""
    allowed = ("#", "```{exercise", "```{solution-start", ":::{exercise")
    for path in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb")):
        for number, cell in enumerate(nbformat.read(path, as_version=4).cells):
            if cell.cell_type != "markdown" or "{solution-end}" not in cell.source:
                continue
            rest = cell.source.split("{solution-end}", 1)[1].strip().removeprefix("```").strip()
            assert not rest or rest.startswith(allowed), (
                f"{path.name}, cell {number}: text after a solution ends in its cell "
                f"(move it inside the solution): {rest[:60]!r}"
            )
