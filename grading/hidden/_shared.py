"""Helpers every hidden test may use; the build copies them into each test cell."""


def _uses(function, name):
    """Whether the function (or a function nested in it) refers to ``name``."""
    stack = [function.__code__]
    while stack:
        code = stack.pop()
        if name in code.co_names:
            return True
        stack += [c for c in code.co_consts if hasattr(c, "co_names")]
    return False
