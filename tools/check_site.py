"""Check the built documentation site in a real headless browser, offline.

Chromium renders each page of ``PAGES`` from a local server with every other host
unreachable (``--host-resolver-rules``), runs its JavaScript and dumps the resulting DOM.
A page fails when

- a formula stays raw: an ``arithmatex`` element (pymdownx.arithmatex's output) that
  MathJax did not turn into an ``mjx-container``;
- a script raises: an uncaught JavaScript error in the browser's console log;
- a page that should show formulas shows none.

Before the site, the check runs on two pages made to fail (a formula and no renderer; a
script that throws) and stops with an error if it does not catch them: a check that
cannot fail proves nothing.

    python tools/check_site.py [SITE_DIR]     # make docs-check
"""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from html.parser import HTMLParser
from pathlib import Path

# (page, whether it must show formulas): the home page, a method page with formulas (the
# losses' API page) and a tutorial.
PAGES = (
    ("index.html", False),
    ("api/losses/index.html", True),
    ("tutorials/label_issues/index.html", False),
)
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
_UNCAUGHT = re.compile(r'CONSOLE.*"(Uncaught [^"]*)"')


class _Formulas(HTMLParser):
    """Counts the arithmatex elements of a DOM and those MathJax left raw."""

    def __init__(self):
        super().__init__()
        self.stack = []  # per open element: whether it is (inside) a formula
        self.formulas = self.raw = 0
        self._rendered = []  # per open formula: whether MathJax's output is inside

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        starts = "arithmatex" in classes
        if starts:
            self.formulas += 1
            self._rendered.append(False)
        elif tag == "mjx-container" and self._rendered:
            self._rendered[-1] = True
        if tag not in {"br", "img", "input", "meta", "link", "hr", "wbr", "source"}:
            self.stack.append(starts)

    def handle_endtag(self, tag):
        if not self.stack:
            return
        if self.stack.pop() and self._rendered:
            self.raw += not self._rendered.pop()


def formula_counts(dom):
    """``(formulas, raw)`` of a rendered page's DOM."""
    parser = _Formulas()
    parser.feed(dom)
    parser.close()
    return parser.formulas, parser.raw


def page_problems(dom, log, needs_formulas):
    """What is wrong with one rendered page, as sentences (none when it is fine)."""
    problems = [f"JavaScript error: {m}" for m in _UNCAUGHT.findall(log)]
    formulas, raw = formula_counts(dom)
    if raw:
        problems.append(f"{raw} of {formulas} formulas stay raw (MathJax did not render them)")
    if needs_formulas and not formulas:
        problems.append("no formula on a page that has formulas")
    if "</html>" not in dom:
        problems.append("the browser returned no page")
    return problems


def find_browser():
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    raise SystemExit(
        f"no headless browser found ({', '.join(BROWSERS)}); `make docs-check` installs "
        "Debian's chromium package"
    )


def render(browser, url):
    """The DOM of ``url`` after its scripts ran, and the browser's console log."""
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [
                browser, "--headless=new", "--no-sandbox", "--disable-gpu",
                "--no-first-run", f"--user-data-dir={profile}",
                # Offline: every host but the local server is unreachable.
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                "--virtual-time-budget=20000", "--enable-logging=stderr", "--v=0",
                "--dump-dom", url,
            ],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    return result.stdout, result.stderr


class _Server:
    """The folder served on 127.0.0.1 in a background thread."""

    def __init__(self, folder):
        handler = functools.partial(_QuietHandler, directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/"

    def __enter__(self):
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def check_pages(browser, folder, pages):
    """``{page: problems}`` for the pages of ``folder`` rendered in ``browser``."""
    with _Server(folder) as server:
        return {
            page: page_problems(*render(browser, server.url + page), needs)
            for page, needs in pages
        }


_BROKEN = {
    "raw.html": '<html><body><span class="arithmatex">\\(x^2\\)</span></body></html>',
    "throws.html": "<html><body><script>undefinedFunction();</script></body></html>",
}


def self_test(browser):
    """The check must fail on pages made to fail."""
    with tempfile.TemporaryDirectory() as folder:
        for name, html in _BROKEN.items():
            Path(folder, name).write_text(html)
        found = check_pages(browser, folder, [(name, False) for name in _BROKEN])
    missed = [name for name, problems in found.items() if not problems]
    if missed:
        raise SystemExit(f"the check passes pages made to fail ({', '.join(missed)})")
    for name, problems in found.items():
        print(f"self-test {name}: caught ({'; '.join(problems)})")


def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    site = Path(args[0] if args else "site")
    if not (site / "index.html").is_file():
        raise SystemExit(f"no built site in {site}; run `make docs` first")
    browser = find_browser()
    self_test(browser)
    failed = False
    for page, problems in check_pages(browser, site, PAGES).items():
        print(f"{page}: {'; '.join(problems) if problems else 'ok'}")
        failed |= bool(problems)
    if failed:
        raise SystemExit("the site does not render offline as it should")
    print("the site renders offline: formulas typeset, no JavaScript error")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
