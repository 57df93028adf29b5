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


# An opening marker, the lines it replaces (possibly none), the matching closing marker.
BLOCK = re.compile(r"(<!-- (include )?results/(\S+) -->\n)(?:.*?\n)?(<!-- /results/\3 -->)", re.S)


def fill(readme, results):
    """README's text with every marked block refilled from the ``results`` folder."""
    missing = []

    def refill(match):
        opening, include, name, closing = match.groups()
        path = results / name
        if not path.exists():
            missing.append(name)
            return match.group(0)
        content = whole_file(path) if include else table_rows(path)
        return f"{opening}{content}\n{closing}"

    updated, count = BLOCK.subn(refill, readme)
    return updated, count, missing


def main():
    readme_path = ROOT / "README.md"
    updated, count, missing = fill(readme_path.read_text(), ROOT / "benchmarks" / "results")
    if count == 0:
        sys.exit("README.md has no <!-- results/NAME --> markers")
    for name in missing:
        print(f"README.md: benchmarks/results/{name} does not exist yet; block left as it is")
    readme_path.write_text(updated)
    print(f"README.md: {count - len(missing)} result block(s) refreshed")


if __name__ == "__main__":
    main()
