"""Drop repeated inline scripts from each page.

sphinx-thebe registers its inline configuration script each time the environment is
read, and a page that declares ``const THEBE_JS_URL`` twice fails in the browser
("Identifier has already been declared"). This keeps the first copy of each script.
"""

from __future__ import annotations

from typing import Any


def _dedupe(app, pagename: str, templatename: str, context: dict[str, Any], doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple[str, str]] = set()
    unique = []
    for script in scripts:
        filename = getattr(script, "filename", None) or ""
        key = (str(filename), str(getattr(script, "attributes", {}).get("body", "")))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app) -> dict[str, Any]:
    app.connect("html-page-context", _dedupe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
