"""A guard for the student site: no exercise solution may reach its pages.

The student site is built from notebooks whose solutions were already removed
(``scripts/student_edition.py source``), so that its pages, ``_sources``, downloads and
search index never held them. When ``student_edition`` is true this extension checks
every page after reading: a solution node that is still there (sphinx-exercise makes one
of each ``{solution}`` or ``solution-start`` ... ``solution-end`` block) means the
stripping missed it. It is reported as a warning, which fails the ``-W`` build, and
removed from the page. Used by ``make student``.
"""

from __future__ import annotations

from typing import Any

from sphinx.util import logging
from sphinx_exercise.nodes import solution_node

logger = logging.getLogger(__name__)


def _drop_solutions(app, doctree) -> None:
    if not app.config.student_edition:
        return
    for node in list(doctree.findall(solution_node)):
        logger.warning(
            "a solution is still in the student edition's source; "
            "scripts/student_edition.py did not remove it",
            location=node,
        )
        node.parent.remove(node)


def setup(app) -> dict[str, Any]:
    app.add_config_value("student_edition", False, "env")
    app.connect("doctree-read", _drop_solutions, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
