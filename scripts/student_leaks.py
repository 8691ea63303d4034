"""The student edition's leak check: fingerprints of what was removed, and where they appear.

Used by ``scripts/student_edition.py check``. A *fingerprint* is a line of a removed
solution (its source or an output) or of a hidden test, at least ``MIN_LINE`` characters
long and absent from everything the student edition may legitimately hold; an image or a
hidden file by its hash; an identifier found only in solutions, for the search index
(which stores words, not lines). ``scan`` looks for them in every file of a tree, as
written and with HTML entities, tags and JSON escapes decoded (zip archives and Sphinx's
zlib-packed ``objects.inv`` opened);
``check_links`` checks every link of the HTML pages of a site.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import io
import json
import re
import zipfile
import zlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse

MIN_LINE = 25  # characters: shorter lines are too common to prove a leak
MIN_HASHED = 64  # bytes: smaller files (an empty __init__.py) are not distinctive
_WORD = re.compile(r"\w+")
_IDENTIFIER = re.compile(r"\b[A-Za-z]\w*_\w+\b")
_SPACE = re.compile(r"\s+")
_TAG = re.compile(r"<[^<>]*>")
_JSON_ESCAPE = re.compile(r'\\(u[0-9a-fA-F]{4}|["\\/bfnrt])')
_BASE64 = re.compile(r"[A-Za-z0-9+/]{400,}={0,2}")
_SIGNATURE = re.compile(r"\s*(async\s+)?(def|class)\s+\w+.*:\s*(#.*)?$")
_FENCE = re.compile(r"^(`{3,}|:{3,})")


class Solutions(Protocol):
    """What was removed from one notebook (``student_edition.Removed``)."""

    texts: list[str]
    images: list[bytes]


def decode_base64(value: str) -> bytes:
    """The bytes of a base64 string (padding restored); empty if it is not base64."""
    try:
        return base64.b64decode(value + "=" * (-len(value) % 4))
    except ValueError:  # binascii.Error: not base64 after all
        return b""


# ------------------------------------------------------------------------- fingerprints


def _normalise(line: str) -> str:
    return _SPACE.sub(" ", line).strip()


def _unmarkdown(line: str) -> str:
    """A markdown line as its rendered text reads: roles, links, emphasis and code marks gone."""
    line = re.sub(r"\{[\w:+-]+\}`([^`]*)`", r"\1", line)
    line = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", line)
    return re.sub(r"[*`]", "", line)


def _candidate_lines(text: str) -> Iterable[str]:
    for raw in text.splitlines():
        if _FENCE.match(raw.strip()) or raw.strip().startswith((":class:", ":label:")):
            continue
        if _SIGNATURE.match(raw):
            continue  # a signature is the task (an assignment hands it out), not the answer
        for variant in {raw, _unmarkdown(raw)}:
            for segment in re.split(r"\$|\|", variant):
                segment = _normalise(segment)
                if len(segment) >= MIN_LINE and re.search(r"\w{3}", segment):
                    yield segment


def _identifiers(text: str) -> set[str]:
    return {m.group(0) for m in _IDENTIFIER.finditer(text) if len(m.group(0)) >= 6}


@dataclass
class Fingerprints:
    """What must not appear in the student edition, each with the reason it is listed."""

    lines: dict[str, str] = field(default_factory=dict)  # line -> where it comes from
    identifiers: dict[str, str] = field(default_factory=dict)  # for the search index
    hashes: dict[str, str] = field(default_factory=dict)  # sha256 -> where it comes from

    def __len__(self) -> int:
        return len(self.lines) + len(self.identifiers) + len(self.hashes)


def fingerprints(
    removed: Mapping[str, Solutions], public_text: str, hidden: Mapping[str, bytes] | None = None
) -> Fingerprints:
    """Fingerprints of the removed solutions (by chapter) and of hidden files (by path).

    A line or identifier that also occurs in ``public_text`` (the student edition's
    sources, the package, the prose pages) proves nothing and is left out.
    """
    public = _normalise(public_text)
    public_unmarked = _normalise(_unmarkdown(public_text))
    public_words = set(_WORD.findall(public_text))
    found = Fingerprints()

    def add_lines(text: str, origin: str) -> None:
        for line in _candidate_lines(text):
            if line not in public and line not in public_unmarked:
                found.lines.setdefault(line, origin)

    for name, what in removed.items():
        origin = f"a solution of {name}"
        for text in what.texts:
            add_lines(text, origin)
            for word in _identifiers(text) - public_words:
                found.identifiers.setdefault(word, origin)
        for image in what.images:
            found.hashes.setdefault(hashlib.sha256(image).hexdigest(), f"an image of {origin}")
    for name, content in (hidden or {}).items():
        origin = f"hidden file {name}"
        if len(content) >= MIN_HASHED:
            found.hashes.setdefault(hashlib.sha256(content).hexdigest(), origin)
        text = content.decode("utf-8", errors="ignore")
        lines = "\n".join(line for line in text.splitlines() if not re.match(r"\s*(import|from)\s", line))
        add_lines(lines, origin)
    return found


# ----------------------------------------------------------------------------- the scan


class _LineIndex:
    """Find which fingerprint lines occur in a text line, through one word of each."""

    def __init__(self, lines: Iterable[str]) -> None:
        self.by_word: dict[str, list[str]] = defaultdict(list)
        for line in lines:
            words = _WORD.findall(line)
            inner = words[1:-1] or words  # the end words may be cut in a longer text
            self.by_word[max(inner, key=len)].append(line)

    def find(self, text: str) -> set[str]:
        words = set(_WORD.findall(text)) & self.by_word.keys()
        return {fp for word in words for fp in self.by_word[word] if fp in text}


def _json_unescape(text: str) -> str:
    return _JSON_ESCAPE.sub(lambda m: json.loads(f'"{m.group(0)}"'), text)


def _views(line: str) -> set[str]:
    """The ways a raw file line can hold text: as is, JSON-decoded, HTML-decoded."""
    line = _BASE64.sub(" ", line)
    views = {line}
    if "\\" in line:
        views.add(_json_unescape(line))
    for view in list(views):
        if "<" in view or "&" in view:
            views.add(html.unescape(_TAG.sub("", view)))
    return {_normalise(piece) for view in views for piece in view.split("\n")}


def _embedded_images(path: Path, data: bytes, text: str) -> Iterable[bytes]:
    if path.suffix == ".ipynb":
        try:
            notebook = json.loads(text)
        except ValueError:
            return
        if not isinstance(notebook, dict):
            return
        for cell in notebook.get("cells", []):
            for output in cell.get("outputs", []):
                for mime, value in output.get("data", {}).items():
                    if mime.startswith("image/") and mime != "image/svg+xml":
                        value = "".join(value) if isinstance(value, list) else value
                        yield decode_base64(value if isinstance(value, str) else "")
    for match in re.finditer(r"data:image/[\w+.-]+;base64,([A-Za-z0-9+/]+)", text):
        yield decode_base64(match.group(1))


def _search_terms(text: str) -> set[str]:
    match = re.search(r"\{.*\}", text, re.S)
    try:
        index = json.loads(match.group(0)) if match else {}
    except ValueError:
        return set()
    return set(index.get("terms", {})) | set(index.get("titleterms", {}))


class _Scanner:
    def __init__(self, found: Fingerprints) -> None:
        from sphinx.search.en import SearchEnglish

        stem = SearchEnglish({}).stem
        self.found = found
        self.stems = {stem(word): (word, origin) for word, origin in found.identifiers.items()}
        self.index = _LineIndex(found.lines)

    def file(self, name: str, data: bytes) -> Iterable[str]:
        """Problems in one file's bytes; a zip archive is opened and its members scanned."""
        found = self.found
        digest = hashlib.sha256(data).hexdigest()
        if len(data) >= MIN_HASHED and digest in found.hashes:
            yield f"{name}:1: the file is {found.hashes[digest]}"
        if data[:4] == b"PK\x03\x04":
            try:
                with zipfile.ZipFile(io.BytesIO(data)) as archive:
                    for member in archive.infolist():
                        if not member.is_dir():
                            yield from self.file(f"{name}!{member.filename}", archive.read(member))
                return
            except zipfile.BadZipFile:
                pass
        if data.startswith(b"# Sphinx inventory version 2"):
            header, _, packed = data.partition(b"compressed using zlib.\n")
            with contextlib.suppress(zlib.error):
                data = header + zlib.decompress(packed)  # objects.inv: labels and titles
        text = data.decode("utf-8", errors="replace")
        for image in _embedded_images(Path(name), data, text):
            origin = found.hashes.get(hashlib.sha256(image).hexdigest())
            if origin:
                yield f"{name}:1: an embedded image is {origin}"
        for number, line in enumerate(text.splitlines(), start=1):
            hits = set()
            for view in _views(line):
                hits |= self.index.find(view)
            for hit in sorted(hits):
                yield f"{name}:{number}: text of {found.lines[hit]}: {hit[:80]!r}"
        if Path(name).name == "searchindex.js":
            for term in sorted(_search_terms(text) & self.stems.keys()):
                word, origin = self.stems[term]
                yield f"{name}:1: search term {term!r} ({word}) of {origin}"


def scan(tree: Path, found: Fingerprints, relative_to: Path | None = None) -> tuple[list[str], int]:
    """Every occurrence of a fingerprint in any file under ``tree``, and the files read.

    Messages read ``path:line: ...`` (``archive.zip!member:line`` inside a zip archive).
    """
    scanner = _Scanner(found)
    base = relative_to or tree
    problems = []
    files = sorted(p for p in tree.rglob("*") if p.is_file() and not p.is_symlink())
    for path in files:
        name = path.relative_to(base) if path.is_relative_to(base) else path
        problems += scanner.file(str(name), path.read_bytes())
    return problems, len(files)


# ----------------------------------------------------------------------------- the links


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[int, str]] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in ("id", "name"):
                self.ids.add(value)
            elif name in ("href", "src", "action", "data-url"):
                self.links.append((self.getpos()[0], value))
            elif name == "srcset":
                for candidate in value.split(","):
                    if candidate.strip():
                        self.links.append((self.getpos()[0], candidate.split()[0]))


@dataclass
class LinkRules:
    """Where the full notebooks live, and where the student notebooks do (if anywhere)."""

    full_repository: str  # https://github.com/org/name
    student_repository: str = ""
    full_site: str = ""  # the full site's public address, if it has one

    def slug(self, url: str) -> str:
        return urlparse(url).path.strip("/").removesuffix(".git").lower()


_LAUNCH_HOSTS = ("colab.research.google.com", "mybinder.org", "deepnote.com")


def _external_problem(url: str, rules: LinkRules) -> str | None:
    decoded = unquote(unquote(url)).lower()
    slug = rules.slug(rules.full_repository)
    at_full = re.search(rf"(?<![\w.-]){re.escape(slug)}(?![\w.-])(.*)", decoded) if slug else None
    if at_full and re.search(r"notebooks|\.ipynb", at_full.group(1)):
        return "points at the full notebooks"
    if at_full and "grading/hidden" in at_full.group(1):
        return "points at the hidden tests"
    site = rules.full_site.rstrip("/").lower()
    if site and decoded.startswith(site + "/") and re.search(r"_sources|_downloads|\.ipynb", decoded):
        return "points at the full site's notebooks"
    if urlparse(url).netloc.lower().endswith(_LAUNCH_HOSTS):
        student = rules.slug(rules.student_repository)
        if not student:
            return "a launch button, but no student repository is configured"
        if not re.search(rf"(?<![\w.-]){re.escape(student)}(?![\w.-])", decoded):
            return f"a launch button that does not open {rules.student_repository}"
    return None


def check_links(site: Path, rules: LinkRules, relative_to: Path | None = None) -> tuple[list[str], int]:
    """Problems with the links of every HTML page under ``site``, and the links checked."""
    pages: dict[Path, _Links] = {}
    for path in sorted(site.rglob("*.html")):
        if "_static" in path.relative_to(site).parts:
            continue  # the theme's Jinja macros, not pages
        parser = _Links()
        parser.feed(path.read_text(encoding="utf-8", errors="replace"))
        pages[path.resolve()] = parser
    root = site.resolve()
    base = relative_to or site
    problems = []
    count = 0
    for page, parser in pages.items():
        name = page.relative_to(base.resolve()) if page.is_relative_to(base.resolve()) else page
        for line, url in parser.links:
            count += 1
            where = f"{name}:{line}: {url[:120]}"
            parsed = urlparse(url)
            if parsed.scheme in ("http", "https") or url.startswith("//"):
                problem = _external_problem(url, rules)
                if problem:
                    problems.append(f"{where}: {problem}")
                continue
            if parsed.scheme in ("mailto", "javascript", "data", "tel"):
                continue
            if parsed.scheme or url.startswith("/"):
                problems.append(f"{where}: points outside the student site")
                continue
            if not parsed.path:
                target = page
            else:
                target = (page.parent / unquote(parsed.path)).resolve()
                if not target.is_relative_to(root):
                    problems.append(f"{where}: points outside the student site")
                    continue
                if target.is_dir():
                    target = target / "index.html"
                if not target.exists():
                    problems.append(f"{where}: no such file in the student site")
                    continue
            if parsed.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else set()
                if unquote(parsed.fragment) not in ids:
                    problems.append(f"{where}: no such anchor")
    return problems, count
