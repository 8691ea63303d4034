"""A built page that shows an error output fails the site check (HTML as myst-nb writes it)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from check_site import main, page_errors  # noqa: E402


def _cell(output: str, tags: str = "") -> str:
    return (
        f'<div class="cell {tags} docutils container">\n'
        '<div class="cell_input docutils container">\n'
        '<div class="highlight-python notranslate"><div class="highlight"><pre><span></span>'
        '<span class="n">load</span><span class="p">()</span>\n</pre></div>\n</div>\n</div>\n'
        f'<div class="cell_output docutils container">\n{output}</div>\n</div>\n'
    )


ERROR = (
    '<div class="output traceback highlight-ipythontb notranslate"><div class="highlight"><pre>'
    '<span></span><span class="gt">---------</span>\n'
    '<span class="ne">DataError</span>: MovieLens-100k is missing\n</pre></div>\n</div>\n'
)
STDERR_TRACEBACK = (
    '<div class="output stderr highlight-myst-ansi notranslate"><div class="highlight"><pre>'
    "<span></span>Traceback (most recent call last):\n  File x\nValueError: bad\n</pre></div>\n</div>\n"
)
WARNING = (
    '<div class="output stderr highlight-myst-ansi notranslate"><div class="highlight"><pre>'
    "<span></span>UserWarning: a harmless warning\n</pre></div>\n</div>\n"
)
STREAM = (
    '<div class="output stream highlight-myst-ansi notranslate"><div class="highlight"><pre>'
    "<span></span>NDCG@10 0.123\n</pre></div>\n</div>\n"
)


def _page(*cells: str) -> str:
    return "<html><body><p>Intro</p></p>\n<section>\n" + "".join(cells) + "</section></body></html>\n"


def _line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def test_clean_outputs_pass():
    assert page_errors(_page(_cell(STREAM), _cell(WARNING))) == []


def test_an_error_output_is_found_with_its_line_and_exception():
    page = _page(_cell(STREAM), _cell(ERROR))
    errors = page_errors(page)
    assert len(errors) == 1
    line, message = errors[0]
    assert line == _line_of(page, "output traceback") and "DataError: MovieLens-100k is missing" in message


def test_a_traceback_printed_to_stderr_is_found():
    [(_, message)] = page_errors(_page(_cell(STDERR_TRACEBACK)))
    assert "traceback printed" in message and "ValueError: bad" in message


def test_an_intended_error_passes():
    assert page_errors(_page(_cell(ERROR, tags="tag_raises-exception"))) == []


def test_a_docutils_error_message_is_found():
    page = _page('<div class="system-message"><p>Unknown directive type "exercize".</p></div>\n')
    [(_, message)] = page_errors(page)
    assert "docutils error" in message and "exercize" in message


def test_the_command_removes_a_lying_site(tmp_path, capsys):
    site, env = tmp_path / "html", tmp_path / ".doctrees"
    (site / "notebooks").mkdir(parents=True)
    env.mkdir()
    (site / "index.html").write_text(_page(_cell(STREAM)))
    assert main([str(site)]) == 0
    page = _page(_cell(ERROR))
    (site / "notebooks" / "00.html").write_text(page)
    assert main([str(site), "--remove", str(env)]) == 1
    line = _line_of(page, "output traceback")
    assert f"00.html:{line}: an error output: DataError" in capsys.readouterr().err
    assert not site.exists() and not env.exists()


def test_an_execution_report_left_by_myst_nb_is_an_error(tmp_path):
    site = tmp_path / "html"
    (site / "reports" / "notebooks").mkdir(parents=True)
    (site / "index.html").write_text(_page(_cell(STREAM)))
    assert main([str(site)]) == 0
    (site / "reports" / "notebooks" / "00.err.log").write_text("Traceback ...")
    assert main([str(site)]) == 1 and not site.exists()
