"""``autofamily``: a family's reference page, in the reading order of its docstring.

``.. autofamily:: recsys_tutorial.sequential`` (inside an ``{eval-rst}`` block of a page in
``book/api/``) documents the sub-package's docstring, then each file that docstring lists
with ``:mod:`` roles, in that order, each in a section of its own (``automodule`` with its
members). The docstring is the one place that says which files a family has and in which
order to read them; ``tests/test_api_docs.py`` checks that it lists every file.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

_MODULE = re.compile(r":mod:`~?([\w.]+)`")


def family_files(package: str) -> list[str]:
    """The modules of ``package`` that its docstring lists, in the docstring's order."""
    doc = importlib.import_module(package).__doc__ or ""
    return [name for name in dict.fromkeys(_MODULE.findall(doc)) if name.startswith(package + ".")]


class AutoFamily(SphinxDirective):
    required_arguments = 1
    has_content = False

    def _parse(self, text: str) -> list[nodes.Node]:
        holder = nodes.Element()
        lines = StringList(text.splitlines(), source=self.get_source_info()[0] or "")
        nested_parse_with_titles(self.state, lines, holder)
        return list(holder.children)

    def run(self) -> list[nodes.Node]:
        package = self.arguments[0]
        module = importlib.import_module(package)
        if module.__file__:
            self.env.note_dependency(module.__file__)
        result = self._parse(f".. automodule:: {package}\n")
        for name in family_files(package):
            section = nodes.section(ids=[nodes.make_id(f"file-{name}")])
            section += nodes.title("", "", nodes.literal(text=name.removeprefix("recsys_tutorial.")))
            section.extend(self._parse(f".. automodule:: {name}\n   :members:\n   :show-inheritance:\n"))
            result.append(section)
        return result


def setup(app) -> dict[str, Any]:
    app.add_directive("autofamily", AutoFamily)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
