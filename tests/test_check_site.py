"""tools/check_site.py, the offline browser check of the docs: what it calls a failure.
(`make docs-check` runs it in Chromium, on the site and on pages made to fail.)"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import check_site  # noqa: E402

RENDERED = (
    '<html><body><p>a <span class="arithmatex"><mjx-container class="MathJax">'
    "<mjx-math></mjx-math></mjx-container></span> b</p>"
    '<div class="arithmatex"><mjx-container></mjx-container></div></body></html>'
)
RAW = '<html><body><span class="arithmatex">\\(x^2\\)</span><br></body></html>'


def test_a_typeset_page_passes():
    assert check_site.formula_counts(RENDERED) == (2, 0)
    assert check_site.page_problems(RENDERED, "", needs_formulas=True) == []


def test_a_raw_formula_fails():
    assert check_site.formula_counts(RAW) == (1, 1)
    (problem,) = check_site.page_problems(RAW, "", needs_formulas=False)
    assert "1 of 1 formulas stay raw" in problem


@pytest.mark.parametrize(
    ("dom", "log", "needs", "match"),
    [
        (RENDERED, '[1:INFO:CONSOLE(3)] "Uncaught TypeError: x is null", source: a.js (3)',
         False, "JavaScript error: Uncaught TypeError: x is null"),
        ("<html><body>text</body></html>", "", True, "no formula"),
        ("", "", False, "no page"),
    ],
)  # fmt: skip
def test_errors_missing_formulas_and_empty_pages_fail(dom, log, needs, match):
    problems = check_site.page_problems(dom, log, needs)
    assert any(match in problem for problem in problems), problems
