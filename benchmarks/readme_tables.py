"""Copy the result tables from benchmarks/results/ into README.md.

README marks each table with ``<!-- results/NAME -->`` ... ``<!-- /results/NAME -->``;
the lines between are replaced by the Markdown table rows of
``benchmarks/results/NAME``. ``make demo-results`` and ``make speed`` run this after
regenerating their file, so README's figures are always those of the committed output.
"""

from __future__ import annotations

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def table_rows(path):
    return "\n".join(line for line in path.read_text().splitlines() if line.startswith("|"))


def main():
    readme_path = ROOT / "README.md"
    readme = readme_path.read_text()
    pattern = re.compile(r"(<!-- results/(\S+) -->\n).*?(\n<!-- /results/\2 -->)", re.S)

    def fill(match):
        return match.group(1) + table_rows(ROOT / "benchmarks" / "results" / match.group(2)) + (
            match.group(3)
        )

    updated, count = pattern.subn(fill, readme)
    if count == 0:
        sys.exit("README.md has no <!-- results/NAME --> markers")
    readme_path.write_text(updated)
    print(f"README.md: {count} result table(s) refreshed")


if __name__ == "__main__":
    main()
