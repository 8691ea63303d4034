"""A guard for the student site: no exercise solution may reach its pages.

The student site is built from notebooks whose solutions were already removed
(``scripts/student_edition.py source``), so that its pages, ``_sources``, downloads and
search index never held them. When ``student_edition`` is true this extension checks
every page after reading: a solution node that is still there (sphinx-exercise makes one
of each ``{solution}`` or ``solution-start`` ... ``solution-end`` block) means the
stripping missed it. It is reported as a warning, which fails the ``-W`` build, and
removed from the page.

Its execution-statistics table would be empty, as nothing executes there; the records of
the main build (``student_execution_data``, written by the script from the execution
cache) are handed to myst-nb instead, so the table shows the times the outputs came from.
Used by ``make student``.
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


def _main_build_execution(app, env) -> None:
    from myst_nb.sphinx_ import NbMetadataCollector

    for docname, data in (app.config.student_execution_data or {}).items():
        if docname in env.found_docs:
            NbMetadataCollector.set_exec_data(env, docname, data)


def setup(app) -> dict[str, Any]:
    app.add_config_value("student_edition", False, "env")
    app.add_config_value("student_execution_data", {}, "env")
    app.connect("doctree-read", _drop_solutions, priority=900)
    app.connect("env-updated", _main_build_execution, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
