"""Remove every exercise solution from the pages when ``student_edition`` is true.

sphinx-exercise merges gated solutions (``solution-start`` ... ``solution-end``, code
cells included) into solution nodes while reading a page; this drops those nodes
afterwards, so the student site keeps the exercises, the executed chapter and nothing of
the solutions. Used by ``make student``.
"""

from __future__ import annotations

from typing import Any

from sphinx_exercise.nodes import solution_node


def _drop_solutions(app, doctree) -> None:
    if not app.config.student_edition:
        return
    for node in list(doctree.findall(solution_node)):
        node.parent.remove(node)


def setup(app) -> dict[str, Any]:
    app.add_config_value("student_edition", False, "env")
    app.connect("doctree-read", _drop_solutions, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
