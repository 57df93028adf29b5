"""Every public name has a complete numpydoc docstring with an Examples section.

The public names are those in the ``__all__`` of ``sknoisy`` and of its public submodules.
Each class and function is checked statically with :func:`numpydoc.validate.validate`
(for a class, its docstring against ``__init__``'s signature); the examples themselves
run as doctests (``--doctest-modules`` in ``pyproject.toml``). Module-level constants in
``__all__`` are data, not callables: they are documented by a ``#:`` comment on the line
above their assignment instead.
"""

import importlib
import inspect
import re
from pathlib import Path

import numpydoc.validate
import pytest

PUBLIC_MODULES = [
    "sknoisy",
    "sknoisy.noise",
    "sknoisy.quality",
    "sknoisy.losses",
    "sknoisy.selection",
    "sknoisy.modules",
    "sknoisy.model_selection",
    "sknoisy.callbacks",
    "sknoisy.discovery",
    "sknoisy.display",
]

# The numpydoc checks that fail the test:
ENFORCED = {
    "GL08": "the object has no docstring",
    "SS01": "no summary",
    "SS02": "summary does not start with a capital letter",
    "SS03": "summary does not end with a period",
    "PR01": "a parameter is not documented",
    "PR02": "a documented parameter does not exist",
    "PR03": "parameters documented in a different order than the signature",
    "EX01": "no Examples section",
}

_PACKAGE_DIR = Path(__file__).resolve().parents[1] / "sknoisy"


def _import(module_name):
    """The module, or ``None`` when it is a submodule whose file does not exist (yet)."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        leaf = module_name.rpartition(".")[2]
        if exc.name == module_name and not (_PACKAGE_DIR / f"{leaf}.py").exists():
            return None
        raise


def _public_names():
    """``pytest.param(module_name, name)`` for the callables and for the constants."""
    callables, constants = [], []
    for module_name in PUBLIC_MODULES:
        module = _import(module_name)
        if module is None:
            callables.append(
                pytest.param(
                    module_name,
                    None,
                    id=module_name,
                    marks=pytest.mark.skip(reason=f"{module_name} does not exist yet"),
                )
            )
            continue
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name, None)
            kind = constants if obj is not None and not callable(obj) else callables
            kind.append(pytest.param(module_name, name, id=f"{module_name}.{name}"))
    return callables, constants


PUBLIC_CALLABLES, PUBLIC_CONSTANTS = _public_names()


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_all_resolves(module_name):
    module = _import(module_name)
    if module is None:
        pytest.skip(f"{module_name} does not exist yet")
    assert hasattr(module, "__all__"), f"{module_name} has no __all__"
    names = list(module.__all__)
    assert len(names) == len(set(names)), f"{module_name}.__all__ has duplicates"
    missing = [name for name in names if not hasattr(module, name)]
    assert not missing, f"{module_name}.__all__ names that do not resolve: {missing}"


@pytest.mark.parametrize(("module_name", "name"), PUBLIC_CALLABLES)
def test_numpydoc(module_name, name):
    obj = getattr(importlib.import_module(module_name), name)
    result = numpydoc.validate.validate(f"{module_name}.{name}")
    errors = [(code, msg) for code, msg in result["errors"] if code in ENFORCED]
    assert not errors, f"{module_name}.{name}:\n" + "\n".join(
        f"  {code} ({ENFORCED[code]}): {msg}" for code, msg in errors
    )
    # The examples must really run under doctest.
    assert "+SKIP" not in (inspect.getdoc(obj) or ""), (
        f"{module_name}.{name}: its Examples must run, not be skipped"
    )


@pytest.mark.parametrize(("module_name", "name"), PUBLIC_CONSTANTS)
def test_constants_documented(module_name, name):
    module = importlib.import_module(module_name)
    # A constant (a tuple, a str) does not know its module: look in the module that lists
    # it first, then in the other public modules (it may be re-exported).
    modules = [module] + [m for m in map(_import, PUBLIC_MODULES) if m not in (None, module)]
    pattern = re.compile(rf"^#:.*\S.*\n{re.escape(name)}\s*[:=]", re.MULTILINE)
    for candidate in modules:
        if pattern.search(inspect.getsource(candidate)):
            return
    pytest.fail(f"{module_name}.{name}: no '#: ...' comment on the line above its assignment")
