"""Smoke tests of the command line: ``python -m sknoisy demo``."""

import subprocess
import sys

from sknoisy.__main__ import METHODS, RECOMMENDED, available_methods, main


def test_demo_prints_header_and_a_row_per_method(capsys):
    assert main(["demo", "--max-epochs", "2"]) == 0
    out = capsys.readouterr().out

    assert "1797 images" in out
    assert "symmetric noise at rate 0.4" in out
    assert "realised noise rate 0.400" in out
    assert "max_epochs=2" in out

    lines = out.splitlines()
    table = [line for line in lines if line.startswith("|")]
    assert table[0].split("|")[1].strip() == "method"
    methods = [line.split("|")[1].strip() for line in table[2:]]
    assert methods == [name for name, _ in available_methods()]
    assert methods[:3] == ["ce", RECOMMENDED[0], "cleanlab"]  # cleanlab: a test extra
    for row in table[2:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert len(cells) == 7
        assert 0 <= float(cells[1]) <= 1  # test accuracy
    for name, _ in METHODS:
        assert f"fitting {name} ..." in out
    assert lines[-2].startswith(f"Recommended: {RECOMMENDED[0]} with ")
    assert lines[-1].startswith("Best accuracy: ")


def test_unknown_subcommand_exits_nonzero():
    result = subprocess.run(
        [sys.executable, "-m", "sknoisy", "no-such-command"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "invalid choice" in result.stderr


def test_no_subcommand_prints_help_and_returns_2(capsys):
    assert main([]) == 2
    assert "demo" in capsys.readouterr().err
