"""Fail if a built site shows an error: a build that succeeded must not lie.

myst-nb renders a cell's error output as a block with the classes ``output traceback``;
a notebook whose execution failed is still rendered, its pages showing the traceback. This
scans every HTML page of a site for such blocks (unless the cell is tagged
``raises-exception``, an error the chapter means to show), for Python tracebacks printed to
a cell's output, and for docutils error messages rendered in a page. On any finding it
prints ``page:line: ...`` messages, removes the site and the paths given with ``--remove``
(the Sphinx environment, so that the next build reads every page again), and exits 1.

    python scripts/check_site.py _build/html --remove _build/.doctrees _build/jupyter_execute
"""

from __future__ import annotations

import argparse
import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path

_VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "param",
    "source",
    "track",
    "wbr",
}
_TRACEBACK = "Traceback (most recent call last)"


class _Errors(HTMLParser):
    """Collect the error outputs of one page, with the line each starts on."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, set[str], int]] = []
        self.open: list[list] = []  # [kind, line, text pieces, depth] of errors being read
        self.found: list[tuple[int, str]] = []

    def _classes(self) -> set[str]:
        return set().union(*(classes for _, classes, _ in self.stack)) if self.stack else set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = set((dict(attrs).get("class") or "").split())
        if tag in _VOID:
            return
        line = self.getpos()[0]
        above = self._classes()
        self.stack.append((tag, classes, line))
        intended = "tag_raises-exception" in above | classes
        if "system-message" in classes:
            self.open.append(["a docutils error message", line, [], len(self.stack)])
        elif "traceback" in classes and not intended:
            self.open.append(["an error output", line, [], len(self.stack)])
        elif "output" in classes and not intended and not any(o[0] == "output" for o in self.open):
            self.open.append(["output", line, [], len(self.stack)])

    def handle_endtag(self, tag: str) -> None:
        if tag not in (name for name, _, _ in self.stack):
            return  # a stray end tag closes nothing
        while self.stack:
            name, _, _ = self.stack.pop()
            depth = len(self.stack) + 1
            for item in [o for o in self.open if o[3] == depth]:
                self.open.remove(item)
                self._close(*item[:3])
            if name == tag:
                break

    def handle_data(self, data: str) -> None:
        for item in self.open:
            item[2].append(data)

    def _close(self, kind: str, line: int, pieces: list[str]) -> None:
        text = "".join(pieces)
        if kind == "output":
            if _TRACEBACK not in text:
                return
            kind = "a traceback printed in an output"
        last = [row.strip() for row in text.strip().splitlines() if row.strip()]
        self.found.append((line, f"{kind}: {last[-1][:160] if last else ''}"))

    def close(self) -> None:
        super().close()
        while self.stack:
            self.handle_endtag(self.stack[-1][0])


def page_errors(text: str) -> list[tuple[int, str]]:
    """The errors a page shows, as (line, message)."""
    parser = _Errors()
    parser.feed(text)
    parser.close()
    return sorted(parser.found)


def site_errors(site: Path) -> tuple[list[str], int]:
    """``page:line: message`` for every error shown under ``site``, and the pages read.

    myst-nb also leaves ``reports/<page>.err.log`` in the site for each notebook whose
    execution failed; each is an error too.
    """
    problems = [
        f"{log}:1: the execution of this page failed" for log in sorted((site / "reports").rglob("*.err.log"))
    ]
    pages = sorted(site.rglob("*.html"))
    for page in pages:
        for line, message in page_errors(page.read_text(encoding="utf-8", errors="replace")):
            problems.append(f"{page}:{line}: {message}")
    return problems, len(pages)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("site", type=Path, help="the built HTML, e.g. _build/html")
    parser.add_argument(
        "--remove",
        type=Path,
        nargs="*",
        default=[],
        help="also remove these on failure (the Sphinx environment)",
    )
    args = parser.parse_args(argv)
    if not (args.site / "index.html").exists():
        print(f"{args.site}: no site (index.html missing)", file=sys.stderr)
        return 1
    problems, pages = site_errors(args.site)
    if not problems:
        print(f"{pages} pages of {args.site} show no error output")
        return 0
    for problem in problems:
        print(problem, file=sys.stderr)
    for path in [args.site, *args.remove]:
        shutil.rmtree(path, ignore_errors=True)
    removed = ", ".join(str(p) for p in [args.site, *args.remove])
    print(
        f"{len(problems)} errors shown in the site; removed {removed} so that the next "
        "build renders every page again",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
