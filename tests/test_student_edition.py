"""The student edition removes solutions, and only solutions."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from student_edition import strip_solutions  # noqa: E402


def _notebook() -> nbformat.NotebookNode:
    nb = new_notebook()
    tagged = new_code_cell("answer_with_a_tagged_solution_cell = 42")
    tagged.metadata["tags"] = ["solution"]
    nb.cells = [
        new_markdown_cell("# Chapter\n\n```{exercise} Try\n:label: ex-a\n\nCompute the answer.\n```"),
        new_code_cell("visible_code_that_students_keep = 1"),
        new_markdown_cell("```{solution-start} ex-a\n:class: dropdown\n```"),
        new_markdown_cell("The reasoning behind the solution, hidden from students."),
        new_code_cell("gated_solution_code_that_must_go = 2"),
        new_markdown_cell("```{solution-end}\n```\n\n## After the solution\n\nStill here."),
        tagged,
        new_markdown_cell(
            "```{solution} ex-a\n:class: dropdown\n\nAn inline solution directive.\n```\n\nKept text."
        ),
    ]
    return nb


def test_solutions_removed_and_the_rest_kept():
    student, removed = strip_solutions(_notebook())
    text = "\n".join(c.source for c in student.cells)
    for gone in ["gated_solution_code_that_must_go", "reasoning behind the solution",
                 "answer_with_a_tagged_solution_cell", "inline solution directive", "solution-start"]:
        assert gone not in text
    for kept in ["Compute the answer.", "visible_code_that_students_keep", "After the solution",
                 "Still here.", "Kept text."]:
        assert kept in text
    assert any("gated_solution_code_that_must_go" in r for r in removed)
    assert all(not c.get("outputs") for c in student.cells if c.cell_type == "code")
