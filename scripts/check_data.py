"""The build's first step: is MovieLens-100k here, or can it be downloaded?

Runs with the standard library alone (before the course is installed), so that
``make book`` and ``make test`` stop within seconds, with the loader's own message,
instead of failing minutes later inside every chapter. It reads the names the loader
uses from ``recsys_tutorial/datafiles.py`` without importing the package.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _datafiles():
    spec = importlib.util.spec_from_file_location("_datafiles", ROOT / "recsys_tutorial" / "datafiles.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    files = _datafiles()
    data_dir = files.default_data_dir()
    try:
        folder = files.check_local(data_dir)
    except files.DataError as err:
        if files.find_folder(data_dir) is not None:  # present but damaged: say so
            print(f"data check failed: {err}", file=sys.stderr)
            return 1
        why = files.archive_reachable()
        if why is not None:
            print(f"data check failed: {files.missing_message(data_dir, why)}", file=sys.stderr)
            return 1
        print(f"MovieLens-100k: no local copy in {data_dir}; it will be downloaded from "
              f"{files.ARCHIVE_URL} on first use")
        return 0
    print(f"MovieLens-100k: verified copy in {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
