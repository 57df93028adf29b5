"""MkDocs hooks for the sknoisy documentation (``hooks:`` in mkdocs.yml).

- The committed benchmark outputs in ``benchmarks/results/`` and its folders (tables,
  plots, CSV, the demo output) are added to the site at ``benchmarks/results/`` without
  a copy in ``docs/``: the Markdown tables become pages, the rest static files.
- Links written for GitHub, from a page in ``docs/`` up to ``../benchmarks/results/...``,
  are pointed at those site copies, so a page reads the same in both places.
- MathJax, the formulas' renderer, is served by the site itself, so that formulas render
  without the internet: ``make docs`` unpacks the npm package into ``MATHJAX_DIR``
  (``.cache/mathjax-<version>``) and its ``es5`` folder joins the site at
  ``javascripts/mathjax/``.
- A Griffe extension (``SphinxRoles``) turns the Sphinx roles and math of the numpydoc
  docstrings into Markdown for mkdocstrings.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import griffe
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "benchmarks" / "results"
SITE_RESULTS = "benchmarks/results"
SITE_MATHJAX = "javascripts/mathjax"
# headline.md is README's excerpt (its image link is relative to the repository root);
# docs/choosing.md embeds it with pymdownx.snippets instead of publishing it as a page;
# model_selection_summary.md likewise, in docs/model_selection.md, scale_summary.md in
# docs/scaling.md, and the zoo halves' win_rates.md in docs/zoo.md.
RESULT_SUFFIXES = {".md", ".png", ".csv", ".txt"}
NOT_PAGES = {"headline.md", "model_selection_summary.md", "scale_summary.md", "win_rates.md"}

_RESULTS_LINK = re.compile(r"\]\(((?:\.\./)+)benchmarks/results/")


def on_files(files, config):
    for path in sorted(RESULTS.rglob("*")):
        if path.suffix not in RESULT_SUFFIXES or path.name in NOT_PAGES:
            continue
        relative = path.relative_to(RESULTS).as_posix()
        files.append(File.generated(config, f"{SITE_RESULTS}/{relative}", abs_src_path=str(path)))
    mathjax = Path(os.environ.get("MATHJAX_DIR", "")) / "es5"
    if not (mathjax / "tex-mml-chtml.js").is_file():
        raise FileNotFoundError(
            f"MathJax not found in {mathjax}; build the docs with `make docs`, which "
            "fetches it (the npm package) and sets MATHJAX_DIR"
        )
    for path in sorted(p for p in mathjax.rglob("*") if p.is_file()):
        relative = path.relative_to(mathjax).as_posix()
        files.append(File.generated(config, f"{SITE_MATHJAX}/{relative}", abs_src_path=str(path)))
    return files


def on_page_markdown(markdown, page, config, files):
    depth = page.file.src_uri.count("/")

    def to_site_copy(match):
        if len(match.group(1)) // 3 != depth + 1:  # not a link out of docs/
            return match.group(0)
        return "](" + "../" * depth + SITE_RESULTS + "/"

    return _RESULTS_LINK.sub(to_site_copy, markdown)


# -- Griffe extension (mkdocs.yml: mkdocstrings' python handler, `extensions`) -----------
# The docstrings are numpydoc, written for Sphinx-style roles. This turns them into
# Markdown for mkdocstrings: cross-references to public sknoisy objects become links,
# other roles (private helpers, scikit-learn, torch) inline code, math MathJax input,
# and reST literal-block markers (``text::``) plain colons.

_ROLE = re.compile(r":(?:func|class|meth|mod|data|attr|obj|exc):`(~?)([^`]+)`")
_MATH_ROLE = re.compile(r":math:`([^`]+)`")
_MATH_DIRECTIVE = re.compile(r"^( *)\.\. math::\n((?:\1 {2,}.*\n|[ \t]*\n)+)", re.MULTILINE)
_LITERAL_MARKER = re.compile(r"(\S)::\n\n")


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles and directives in sknoisy's docstrings as Markdown."""

    def on_package(self, *, pkg, **kwargs):
        if pkg.name == "sknoisy":
            self._walk(pkg, pkg)

    def _walk(self, obj, pkg):
        if obj.docstring is not None:
            obj.docstring.value = self._convert(obj.docstring.value, obj, pkg)
        for member in obj.members.values():
            if not member.is_alias:
                self._walk(member, pkg)

    def _convert(self, text, obj, pkg):
        text = _MATH_DIRECTIVE.sub(self._math_block, text + "\n").rstrip("\n")
        text = _MATH_ROLE.sub(lambda m: f"${m.group(1).strip()}$", text)
        text = _ROLE.sub(lambda m: self._reference(m, obj, pkg), text)
        return _LITERAL_MARKER.sub(r"\1:\n\n", text)

    @staticmethod
    def _math_block(match):
        lines = [line.strip() for line in match.group(2).splitlines() if line.strip()]
        return "\n$$\n" + "\n".join(lines) + "\n$$\n\n"

    @staticmethod
    def _reference(match, obj, pkg):
        short, target = match.group(1) == "~", match.group(2).strip()
        shown = target.rsplit(".", 1)[-1] if short else target
        module = obj if obj.is_module else obj.module
        candidates = [target] if target.startswith("sknoisy.") else [
            f"{module.path}.{target}",
            f"{obj.parent.path}.{target}" if obj.parent is not None else None,
        ]
        for path in filter(None, candidates):
            if not path.startswith("sknoisy.") or any(
                part.startswith("_") for part in path.split(".")
            ):
                continue
            try:
                found = pkg[path.removeprefix("sknoisy.")]
            except (KeyError, griffe.AliasResolutionError):
                continue
            if found.is_public:
                return f"[`{shown}`][{found.path}]"
        return f"`{shown}`"
