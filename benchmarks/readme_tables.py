"""Copy the result tables from benchmarks/results/ into README.md.

README marks each table with ``<!-- results/NAME -->`` ... ``<!-- /results/NAME -->``;
the lines between are replaced by the Markdown table rows of
``benchmarks/results/NAME``. A block opened with ``<!-- include results/NAME -->``
instead gets the whole file. ``make bench``, ``make demo-results`` and ``make speed`` run
this after regenerating their files, so README's figures are always those of the
committed output.
"""

from __future__ import annotations

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def table_rows(path):
    return "\n".join(line for line in path.read_text().splitlines() if line.startswith("|"))


def whole_file(path):
    return path.read_text().strip()


def main():
    readme_path = ROOT / "README.md"
    readme = readme_path.read_text()
    pattern = re.compile(r"(<!-- (include )?results/(\S+) -->\n).*?(\n<!-- /results/\3 -->)", re.S)

    def fill(match):
        opening, include, name, closing = match.groups()
        content = (whole_file if include else table_rows)(ROOT / "benchmarks" / "results" / name)
        return opening + content + closing

    updated, count = pattern.subn(fill, readme)
    if count == 0:
        sys.exit("README.md has no <!-- results/NAME --> markers")
    readme_path.write_text(updated)
    print(f"README.md: {count} result table(s) refreshed")


if __name__ == "__main__":
    main()
