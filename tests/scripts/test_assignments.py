"""The graded assignments' sources: chapters, grading/assignments.yml, hidden tests, wrong submissions.

Fast checks only; the end-to-end grading runs in ``scripts/assignments.py selftest``.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from collections import Counter
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("assignments", ROOT / "scripts" / "assignments.py")
assignments = importlib.util.module_from_spec(spec)
sys.modules["assignments"] = assignments
spec.loader.exec_module(assignments)

EXERCISES = assignments.load_exercises()
ALL = [e for chapter in EXERCISES.values() for e in chapter]


def test_coverage_two_per_chapter():
    per_chapter = Counter(e.chapter for e in ALL)
    chapters = sorted(p.name[:2] for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert sorted(per_chapter) == chapters, "every chapter has graded exercises"
    assert min(per_chapter.values()) >= 2
    assert len({e.label for e in ALL}) == len(ALL), "a label is graded twice"
    assert "ex-02-sessions" not in {e.label for e in ALL}


@pytest.mark.parametrize("exercise", ALL, ids=lambda e: e.label)
def test_prompt_and_answer_come_from_the_chapter(exercise):
    assert exercise.prompt and "check(" not in exercise.prompt and "}`" not in exercise.prompt
    config = yaml.safe_load((ROOT / "grading" / "assignments.yml").read_text())
    notebook = ROOT / config[exercise.chapter]["notebook"]
    cells = [c for c in nbformat.read(notebook, as_version=4).cells if c.source == exercise.answer_code]
    assert len(cells) == 1
    tags = set(cells[0].metadata["tags"])
    assert {"solution", "answer"} <= tags, "the student edition must drop the answer"
    ast.parse(exercise.answer_code)


@pytest.mark.parametrize("exercise", ALL, ids=lambda e: e.label)
def test_hidden_tests_are_single_functions_with_points(exercise):
    assert len(exercise.tests) >= 2, "give partial credit: at least two hidden tests"
    for name, points, source in exercise.tests:
        body = ast.parse(source).body
        assert len(body) == 2 and isinstance(body[1], ast.FunctionDef) and body[1].name == name
        assert points > 0


def test_wrong_submissions_name_real_exercises_and_possible_points():
    points = {e.label: e.points for e in ALL}
    chapters = {e.label: e.chapter for e in ALL}
    files = sorted((ROOT / "grading" / "wrong").glob("*.yml"))
    assert len(files) >= 10
    for path in files:
        spec = yaml.safe_load(path.read_text())
        assert spec["answers"], path.name
        for label, answer in spec["answers"].items():
            assert chapters[label] == str(spec["chapter"]), f"{path.name}: {label} is not in that chapter"
            assert 0 <= answer["points"] < points[label], f"{path.name}: a wrong answer must lose points"
            ast.parse(answer["code"])


def test_exercise_text_drops_the_check_sentence_and_roles():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(
        "```{exercise} A title\n:label: ex-99-x\n\nCount the {term}`items <item>` here.\n"
        "Check it with `check(\"ex-99-x\", n)`. Why?\n```")]
    title, prompt = assignments.exercise_text(nb, "ex-99-x")
    assert title == "A title" and prompt == "Count the items here. Why?"
    with pytest.raises(KeyError, match="ex-99-y"):
        assignments.exercise_text(nb, "ex-99-y")


def test_score_table_rows_and_percent(tmp_path, capsys):
    scores = {tmp_path / "a.ipynb": {"ex-00-ties": 3.0, "ex-00-by-hand": 1.0}}
    (row,) = assignments.score_table(scores, EXERCISES, tmp_path / "grades.csv")
    assert row["total"] == "4" and row["possible"] == 8 and row["percent"] == "50.0"
    header = (tmp_path / "grades.csv").read_text().splitlines()[0].split(",")
    assert header[0] == "submission" and header[-3:] == ["total", "possible", "percent"]
    assert set(header[1:-3]) == {e.label for e in ALL}
    assert "ex-00-ties" in capsys.readouterr().out


def test_the_instructors_page_lists_every_graded_exercise_and_its_points():
    rows = re.findall(r"^\| (\d\d) \| `(ex-[\w-]+)` \| [^|]+ \| (\d+) \|$",
                      (ROOT / "book" / "assignments.md").read_text(), re.M)
    assert sorted(rows) == sorted((e.chapter, e.label, str(e.points)) for e in ALL)


def test_a_submission_that_outlives_its_time_is_stopped_with_zero_points(tmp_path, capsys):
    notebook = tmp_path / "slow.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), notebook)
    scores = assignments._grade_isolated(notebook, tmp_path / "missing.zip", ["ex-00-ties"], 0.2,
                                         tmp_path / "log")
    assert scores == {"ex-00-ties": 0.0}
    assert "stopped; 0 points" in capsys.readouterr().err
