"""The documentation's quick start: its first example runs as written.

A new user following only docs/quickstart.md from a fresh clone copies its first Python
block into the interpreter set up by `make`; this runs that block, unchanged, in a fresh
interpreter (the one running the tests), from an empty working directory.
"""

import re
import subprocess
import sys
from pathlib import Path

QUICKSTART = Path(__file__).resolve().parents[1] / "docs" / "quickstart.md"
# A Markdown fence opening a Python block (```python, with any attributes after it, such
# as markdown-exec's exec="true"), its body, and the closing fence.
PYTHON_BLOCK = re.compile(r"^```python\b[^\n]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
# The example takes under a minute on an idle 2-core CPU; the limit leaves room for a
# loaded machine, and still catches a quick start that has become slow.
TIMEOUT_S = 300


def first_python_block(markdown):
    match = PYTHON_BLOCK.search(markdown)
    assert match, "docs/quickstart.md has no ```python block"
    return match.group(1)


def test_first_python_block_is_found_whole():
    code = first_python_block(QUICKSTART.read_text(encoding="utf-8"))
    assert code.startswith("from ") and "```" not in code
    assert ".fit(" in code and "print(" in code


def test_quickstart_first_example_runs_as_written(tmp_path):
    code = first_python_block(QUICKSTART.read_text(encoding="utf-8"))
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert result.returncode == 0, (
        f"the quick start's first example failed (exit {result.returncode}):\n"
        f"{result.stderr[-3000:]}"
    )
    assert "clean-test accuracy" in result.stdout
