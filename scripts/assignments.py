"""Graded assignments built from the chapters with otter-grader, and graded locally.

``build`` writes, for every chapter in ``grading/assignments.yml``, an otter master
notebook whose prompts are the chapter's exercise texts (found by label) and whose
solutions are the chapter's cells tagged ``answer``, with the set-up code of the yml
file and the hidden tests of ``grading/hidden/<label>.py``; ``otter assign`` turns it
into the student release (``_build/student/assignments/``) and an autograder
(``_build/autograder/NN/autograder.zip``). ``grade DIR`` grades every notebook in DIR
into a table of scores per exercise. ``selftest`` checks the whole chain: reference
answers score 100%, the blank release 0%, and each planted wrong submission in
``grading/wrong/`` exactly the points it declares; no hidden test reaches the release.
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent
GRADING = ROOT / "grading"
RELEASE = ROOT / "_build" / "student" / "assignments"
AUTOGRADER = ROOT / "_build" / "autograder"
SELFTEST = ROOT / "_build" / "assignments_selftest"
ANSWER_TAG = "answer"
_EXERCISE = re.compile(
    r"^(`{3,}|:{3,})\{exercise\}[ \t]*(?P<title>[^\n]*)\n(?P<body>.*?)\n\1[ \t]*$", re.S | re.M
)
_START = re.compile(r"^(`{3,}|:{3,})\{solution-start\}\s+(?P<label>\S+)", re.M)
_ROLE = re.compile(r"\{(?P<role>[a-z:-]+)\}`(?P<text>[^`]*)`")


@dataclass(frozen=True)
class Exercise:
    """One graded exercise: the chapter's prompt and answer, and grading's additions."""

    chapter: str
    label: str
    title: str
    prompt: str
    answer_code: str
    answer_note: str
    stub: str
    tests: list[tuple[str, int, str]]  # (name, points, source of the otter test cell)

    @property
    def points(self) -> int:
        return sum(points for _, points, _ in self.tests)


def _plain(text: str) -> str:
    """MyST roles as plain markdown: {term}`x <y>` -> x; citations dropped."""

    def role(match: re.Match) -> str:
        if "cite" in match["role"]:
            return ""
        return re.sub(r"\s*<[^>]*>$", "", match["text"])

    return _ROLE.sub(role, text)


def exercise_text(notebook: nbformat.NotebookNode, label: str) -> tuple[str, str]:
    """The title and body of the exercise ``label``, without its auto-check sentence."""
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        for match in _EXERCISE.finditer(cell.source):
            body = match["body"]
            if not re.search(rf"^:label:\s*{re.escape(label)}\s*$", body, re.M):
                continue
            body = "\n".join(line for line in body.splitlines() if not line.startswith(":"))
            paragraphs = []
            for paragraph in re.split(r"\n\s*\n", body.strip()):
                sentences = re.split(r"(?<=[.?!])\s+", " ".join(paragraph.split()))
                kept = [s for s in sentences if "check(" not in s]  # the formative check
                if kept:
                    paragraphs.append(" ".join(kept))
            return match["title"].strip(), _plain("\n\n".join(paragraphs))
    raise KeyError(f"no exercise labelled {label!r}: add it to the chapter or fix grading/assignments.yml")


def answer_code(notebook: nbformat.NotebookNode, label: str) -> str:
    """The code cell tagged ``answer`` inside the solution of ``label``."""
    current, found = None, []
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            match = _START.search(cell.source)
            if match:
                current = match["label"]
        elif current == label and ANSWER_TAG in cell.metadata.get("tags", []):
            found.append(cell.source)
    if len(found) != 1:
        raise ValueError(
            f"{label}: expected one code cell tagged {ANSWER_TAG!r} in its solution, found {len(found)}"
        )
    return found[0]


def _shared_helpers() -> list[ast.stmt]:
    """The helpers of ``grading/hidden/_shared.py`` (its docstring left out)."""
    body = ast.parse((GRADING / "hidden" / "_shared.py").read_text()).body
    return [node for node in body
            if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))]


def hidden_tests(label: str) -> list[tuple[str, int, str]]:
    """Otter test cells from ``grading/hidden/<label>.py``: one per ``test_*`` function.

    The module's other top-level code (imports, helpers), after the helpers every test
    shares (``grading/hidden/_shared.py``), is copied into each test, since an otter test
    cell holds a single function; ``POINTS`` gives each test's points.
    """
    path = GRADING / "hidden" / f"{label}.py"
    if not path.exists():
        raise FileNotFoundError(f"no hidden tests for {label}: write {path.relative_to(ROOT)}")
    module = ast.parse(path.read_text())
    points, shared, tests = {}, _shared_helpers(), []
    for node in module.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the docstring
        if isinstance(node, ast.ImportFrom) and node.module == "_shared":
            continue  # for readers and linters: the shared helpers are copied in above
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["POINTS"]:
            points = ast.literal_eval(node.value)
        elif isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            tests.append(node)
        else:
            shared.append(node)
    if set(points) != {t.name for t in tests}:
        raise ValueError(f"{path.name}: POINTS must list exactly the test functions")
    cells = []
    for test in tests:
        test.body = shared + test.body
        header = ('""" # BEGIN TEST CONFIG\nhidden: true\n'
                  f'points: {points[test.name]}\n""" # END TEST CONFIG\n')
        cells.append((test.name, int(points[test.name]), header + ast.unparse(test)))
    return cells


def load_exercises() -> dict[str, list[Exercise]]:
    """Every graded exercise, by chapter, from the chapters and ``grading/``."""
    config = yaml.safe_load((GRADING / "assignments.yml").read_text())
    out = {}
    for chapter, spec in config.items():
        notebook = nbformat.read(ROOT / spec["notebook"], as_version=4)
        out[chapter] = []
        for item in spec["exercises"]:
            title, prompt = exercise_text(notebook, item["label"])
            out[chapter].append(Exercise(
                chapter, item["label"], title, prompt, answer_code(notebook, item["label"]),
                " ".join(item["answer"].split()), item["stub"].strip("\n"), hidden_tests(item["label"])))
    return out


def _names(stub: str) -> list[str]:
    """Names the stub defines (functions, classes, assigned names)."""
    names = []
    for node in ast.parse(stub.replace("...", "None")).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                names += [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
    return names


# The public check (0 points): every asked-for name is defined and is not still the stub.
PUBLIC_TEST = """def test_answered(NAMES):
    def stub(*args, **kwargs): ...

    class Stub: ...

    for name, value in zip(PAIRS, [NAMES]):
        assert value is not None and value is not ..., f"define {name}"
        code = getattr(value, "__code__", None)
        assert code is None or code.co_code != stub.__code__.co_code, f"write the body of {name}"
        if isinstance(value, type):
            assert set(vars(value)) - set(vars(Stub)), f"write the methods of {name}"
"""


def master_notebook(chapter: str, spec: dict, exercises: list[Exercise]) -> nbformat.NotebookNode:
    """The otter master notebook of one chapter (solutions and hidden tests inside)."""
    nb, v4 = nbformat.v4.new_notebook(), nbformat.v4
    config = {"name": f"recsys-{chapter}", "init_cell": True, "check_all_cell": False, "export_cell": False,
              "run_tests": False, "tests": {"ok_format": False, "files": False}}
    heading = nbformat.read(ROOT / spec["notebook"], as_version=4).cells[0].source.splitlines()[0]
    chapter_title = heading.lstrip("# ")
    total = sum(e.points for e in exercises)
    nb.cells = [
        v4.new_raw_cell("# ASSIGNMENT CONFIG\n" + yaml.safe_dump(config, sort_keys=False)),
        v4.new_markdown_cell(
            f"# Assignment {chapter}: {chapter_title}\n\nExercises of chapter {chapter}, graded "
            f"({total} points). Each exercise is the chapter's; what is graded is stated under "
            "**Answer** (the questions around it are for the chapter's notebook, where the models "
            "are trained). Replace each `...` with your answer, keep the names asked for, and run "
            "the notebook top to bottom before you hand it in. `grader.check` only says whether an "
            "answer is there; the points come from hidden tests, on data you do not see."),
        v4.new_code_cell(spec["setup"].strip("\n")),
    ]
    for e in exercises:
        names = _names(e.stub)
        public = ('""" # BEGIN TEST CONFIG\nhidden: false\npoints: 0\n""" # END TEST CONFIG\n'
                  + PUBLIC_TEST.replace("NAMES", ", ".join(names)).replace("PAIRS", repr(names)))
        stub = '""" # BEGIN PROMPT\n' + e.stub + '\n""" # END PROMPT\n'
        nb.cells += [
            v4.new_raw_cell(f"# BEGIN QUESTION\nname: {e.label}\n"),
            v4.new_markdown_cell(f"## {e.title} (`{e.label}`, {e.points} points)\n\n{e.prompt}\n\n"
                                 f"**Answer.** {e.answer_note}"),
            v4.new_raw_cell("# BEGIN SOLUTION"),
            v4.new_code_cell(stub + "# BEGIN SOLUTION NO PROMPT\n" + e.answer_code + "\n# END SOLUTION"),
            v4.new_raw_cell("# END SOLUTION"),
            v4.new_raw_cell("# BEGIN TESTS"),
            v4.new_code_cell(public),
            *(v4.new_code_cell(source) for _, _, source in e.tests),
            v4.new_raw_cell("# END TESTS"),
            v4.new_raw_cell("# END QUESTION"),
        ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def _assign(chapter: str, spec: dict, exercises: list[Exercise]) -> None:
    """Run ``otter assign`` on one chapter's master notebook; keep release and autograder."""
    target = AUTOGRADER / chapter
    target.mkdir(parents=True)
    name = Path(spec["notebook"]).name
    master = target / name
    nbformat.write(master_notebook(chapter, spec, exercises), master)
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run([sys.executable, "-m", "otter", "assign", str(master), tmp],
                                capture_output=True, text=True)
        if result.returncode:
            raise RuntimeError(f"otter assign failed for chapter {chapter}:\n{result.stderr[-3000:]}")
        (zip_path,) = Path(tmp, "autograder").glob("*.zip")
        shutil.copy(zip_path, target / "autograder.zip")
        shutil.copy(Path(tmp, "autograder", name), target / f"solutions_{name}")
        shutil.copy(Path(tmp, "student", name), RELEASE / name)


def build(jobs: int = 2) -> dict[str, list[Exercise]]:
    """Write the student release and the autograders; check that nothing hidden leaks."""
    config = yaml.safe_load((GRADING / "assignments.yml").read_text())
    exercises = load_exercises()
    shutil.rmtree(RELEASE, ignore_errors=True)
    shutil.rmtree(AUTOGRADER, ignore_errors=True)
    RELEASE.mkdir(parents=True)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(lambda c: _assign(c, config[c], exercises[c]), config))
    leaks = release_leaks(exercises)
    if leaks:
        raise RuntimeError("hidden material in the student release:\n" + "\n".join(leaks))
    n = sum(len(v) for v in exercises.values())
    print(f"{n} graded exercises in {len(exercises)} assignments: release in {RELEASE.relative_to(ROOT)}, "
          f"autograders in {AUTOGRADER.relative_to(ROOT)}; no hidden test or answer line in the release")
    return exercises


def release_leaks(exercises: dict[str, list[Exercise]]) -> list[str]:
    """Lines of hidden tests or reference answers found anywhere in the student release."""
    lines = set()
    for chapter in exercises.values():
        for e in chapter:
            for name, _, source in e.tests:
                lines.add(f"def {name}(")
                lines.update(line.strip() for line in source.splitlines() if len(line.strip()) >= 25)
            lines.update(line.strip() for line in e.answer_code.splitlines()
                         if len(line.strip()) >= 25 and not line.strip().startswith(("#", "def ", "class ")))
    config = yaml.safe_load((GRADING / "assignments.yml").read_text())
    public = "\n".join(spec["setup"] for spec in config.values())
    lines = {line for line in lines if not line.startswith(("import ", "from ")) and line not in public}
    leaks = []
    for path in sorted(RELEASE.rglob("*")):
        if path.is_file():
            text = path.read_text(encoding="utf-8").replace("\\n", "\n").replace('\\"', '"')
            leaks += [f"{path.relative_to(ROOT)}: {line[:70]}" for line in sorted(lines) if line in text]
    return leaks


def _grade_one(submission: str, autograder: str, out: str) -> None:
    """Grade one submission and write its scores per label as JSON (in a child process)."""
    import otter.api

    results = otter.api.grade_submission(submission, autograder, quiet=True)
    Path(out).write_text(json.dumps({label: float(r.score) for label, r in results.results.items()}))


def _grade_isolated(submission: Path, autograder: Path, labels: list[str], timeout: float,
                    log: Path) -> dict[str, float]:
    """Grade in a child process of its own; one that fails or outlives ``timeout`` gets 0."""
    with tempfile.TemporaryDirectory() as tmp, open(log, "a") as err:
        out = Path(tmp, "scores.json")
        command = [sys.executable, __file__, "grade-one", str(submission), str(autograder), str(out)]
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, 9)  # the child and its kernel
            child.wait()
            print(f"{submission.name}: still running after {timeout:g} s, stopped; 0 points", file=sys.stderr)
        if child.returncode == 0 and out.exists():
            return json.loads(out.read_text())
        if child.returncode != -9:
            print(f"{submission.name}: grading failed (see {log}); 0 points", file=sys.stderr)
        return {label: 0.0 for label in labels}


def _chapter_of(path: Path) -> str:
    meta = nbformat.read(path, as_version=4).metadata.get("otter", {})
    name = str(meta.get("assignment_name", ""))
    if not name.startswith("recsys-"):
        raise ValueError(f"{path}: not a notebook of the student release (no otter assignment name); "
                         "hand in the notebook from _build/student/assignments/")
    return name.removeprefix("recsys-")


def grade(paths: list[Path], jobs: int = 2, timeout: float = 300) -> dict[Path, dict[str, float]]:
    """Grade notebooks in parallel, each in a fresh process, against its chapter's autograder."""
    labels = {c: [e.label for e in items] for c, items in load_exercises().items()}
    work = []
    for path in paths:
        chapter = _chapter_of(path)
        autograder = AUTOGRADER / chapter / "autograder.zip"
        if not autograder.exists():
            raise FileNotFoundError(f"no autograder at {autograder}: run `make assignments` first")
        work.append((path, autograder, labels[chapter], timeout, AUTOGRADER / "grading.log"))
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return dict(zip(paths, pool.map(lambda args: _grade_isolated(*args), work)))


def score_table(scores: dict[Path, dict[str, float]], exercises: dict[str, list[Exercise]],
                csv_path: Path) -> list[dict[str, object]]:
    """One row per submission, one column per label, total and percent; written to CSV."""
    labels = [e.label for chapter in exercises.values() for e in chapter]
    possible = {e.label: e.points for chapter in exercises.values() for e in chapter}
    rows = []
    for path, by_label in scores.items():
        row: dict[str, object] = {"submission": path.name}
        row.update({label: (f"{by_label[label]:g}" if label in by_label else "") for label in labels})
        total, out_of = sum(by_label.values()), sum(possible[label] for label in by_label)
        row.update(total=f"{total:g}", possible=out_of, percent=f"{100 * total / out_of:.1f}")
        rows.append(row)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["submission", *labels, "total", "possible", "percent"])
        writer.writeheader()
        writer.writerows(rows)
    used = [label for label in labels if any(row[label] != "" for row in rows)]
    columns = ["submission", *used, "total", "possible", "percent"]
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(str(row[c]).ljust(widths[c]) for c in columns))
    print(f"points per exercise: {', '.join(f'{k} {possible[k]}' for k in used)}")
    print(f"written to {csv_path}")
    return rows


def fill(chapter: str, answers: dict[str, str]) -> nbformat.NotebookNode:
    """The student release of ``chapter`` with the given answer cells filled in."""
    config = yaml.safe_load((GRADING / "assignments.yml").read_text())
    nb = nbformat.read(RELEASE / Path(config[chapter]["notebook"]).name, as_version=4)
    answer_cells = [c for c in nb.cells if "otter_answer_cell" in c.metadata.get("tags", [])]
    labels = [re.search(r'grader\.check\("([^"]+)"\)', c.source)[1] for c in nb.cells
              if c.cell_type == "code" and "grader.check(" in c.source]
    assert len(answer_cells) == len(labels), f"chapter {chapter}: one answer cell per exercise expected"
    for cell, label in zip(answer_cells, labels):
        if label in answers:
            cell.source = answers[label]
    unknown = set(answers) - set(labels)
    if unknown:
        raise KeyError(f"chapter {chapter} has no exercise {sorted(unknown)}")
    return nb


def selftest(jobs: int = 2) -> int:
    """Build, grade reference, blank and planted wrong submissions; 0 when all as declared."""
    start = time.perf_counter()
    exercises = build(jobs)
    shutil.rmtree(SELFTEST, ignore_errors=True)
    (SELFTEST / "submissions").mkdir(parents=True)
    points = {e.label: e.points for chapter in exercises.values() for e in chapter}
    expected: dict[Path, dict[str, float]] = {}
    for chapter, items in exercises.items():
        reference = {e.label: e.answer_code for e in items}
        path = SELFTEST / "submissions" / f"{chapter}-reference.ipynb"
        nbformat.write(fill(chapter, reference), path)
        expected[path] = {e.label: e.points for e in items}
        path = SELFTEST / "submissions" / f"{chapter}-blank.ipynb"
        nbformat.write(fill(chapter, {}), path)
        expected[path] = {e.label: 0 for e in items}
    for wrong in sorted((GRADING / "wrong").glob("*.yml")):
        spec = yaml.safe_load(wrong.read_text())
        chapter, items = str(spec["chapter"]), exercises[str(spec["chapter"])]
        answers = {e.label: e.answer_code for e in items}
        answers.update({label: a["code"] for label, a in spec["answers"].items()})
        path = SELFTEST / "submissions" / f"{chapter}-{wrong.stem}.ipynb"
        nbformat.write(fill(chapter, answers), path)
        expected[path] = {e.label: spec["answers"].get(e.label, {}).get("points", e.points) for e in items}
        if sum(expected[path].values()) >= sum(e.points for e in items):
            raise SystemExit(f"{wrong}: a planted wrong submission must be declared below full marks")
    print(f"grading {len(expected)} submissions with {jobs} workers")
    scores = grade(sorted(expected, key=lambda p: p.name), jobs)
    score_table(scores, exercises, SELFTEST / "grades.csv")
    failures = [f"{path.name}: {label} scored {got:g}, expected {expected[path][label]:g} of {points[label]}"
                for path, by_label in scores.items() for label, got in by_label.items()
                if abs(got - expected[path][label]) > 1e-9]
    for failure in failures:
        print(f"FAIL {failure}", file=sys.stderr)
    print(f"self-test {'failed' if failures else 'passed'}: {len(expected)} submissions in "
          f"{time.perf_counter() - start:.0f} s")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    built = sub.add_parser("build", help="student release and autograders")
    built.add_argument("--jobs", type=int, default=2)
    graded = sub.add_parser("grade", help="grade a folder of submitted notebooks")
    graded.add_argument("submissions", type=Path)
    graded.add_argument("--out", type=Path, help="CSV file (default: SUBMISSIONS/grades.csv)")
    graded.add_argument("--jobs", type=int, default=2)
    graded.add_argument("--timeout", type=float, default=300, help="seconds per submission (default 300)")
    check = sub.add_parser("selftest", help="reference 100%%, blank 0%%, wrong submissions as declared")
    check.add_argument("--jobs", type=int, default=2)
    if argv is None and sys.argv[1:2] == ["grade-one"]:  # a child of _grade_isolated
        _grade_one(*sys.argv[2:5])
        return 0
    args = parser.parse_args(argv)
    try:
        return _run(parser, args)
    except (ValueError, FileNotFoundError, KeyError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.command == "build":
        build(args.jobs)
    elif args.command == "grade":
        if not args.submissions.is_dir():
            parser.error(f"{args.submissions} is not a folder: give SUBMISSIONS=folder of .ipynb files")
        paths = sorted(args.submissions.glob("*.ipynb"))
        if not paths:
            parser.error(f"no .ipynb files in {args.submissions}")
        scores = grade(paths, args.jobs, args.timeout)
        score_table(scores, load_exercises(), args.out or args.submissions / "grades.csv")
    else:
        return selftest(args.jobs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
