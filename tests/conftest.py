"""Shared test configuration: quiet logs, Agg plotting, a hypothesis profile for CI, and the
automatic ``keras`` marker.

Every test that touches Keras must also run under the JAX backend (``make test`` runs
``-m keras`` a second time with ``KERAS_BACKEND=jax``). Nobody has to remember a marker: the hook
below reads each test module's source and marks ``keras``

- every test of a module that imports ``keras`` outside its test functions, or imports a kbook
  module that uses Keras (found the same way, following kbook's own imports; the light spine
  modules ``kbook.config``, ``kbook.data``, ``kbook.plot`` and ``kbook.book`` do not count, since
  they use Keras only optionally);
- a single test whose own body imports ``keras``;
- the docstring examples of a ``src/kbook`` module whose source imports ``keras`` anywhere.

A hand-placed ``@pytest.mark.keras`` still works.
"""

from __future__ import annotations

import ast
import functools
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

# Deadlines make Keras tests flaky (first calls trace and compile); the example count keeps the
# whole suite within a few minutes on two cores.
settings.register_profile(
    "kbook",
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "kbook"))

SRC = Path(__file__).resolve().parents[1] / "src" / "kbook"
OPTIONAL_KERAS = frozenset({"kbook", "kbook.config", "kbook.data", "kbook.plot", "kbook.book"})
"""Spine modules that import Keras only inside a function, for an optional feature."""


def _imported_modules(nodes) -> set[str]:
    """Dotted names imported by the statements under ``nodes`` (``from kbook import x`` → kbook.x)."""
    names: set[str] = set()
    for node in nodes:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Import):
                names.update(alias.name for alias in sub.names)
            elif isinstance(sub, ast.ImportFrom) and sub.module and not sub.level:
                names.add(sub.module)
                names.update(f"{sub.module}.{alias.name}" for alias in sub.names)
    return names


def _uses_keras(names: set[str]) -> bool:
    return any(name == "keras" or name.startswith("keras.") for name in names) or any(
        name not in OPTIONAL_KERAS and _kbook_module_uses_keras(name) for name in names
    )


def _kbook_module_uses_keras(name: str, _seen: frozenset = frozenset()) -> bool:
    """Whether kbook module ``name`` (e.g. ``kbook.crf``) imports Keras, directly or via kbook."""
    if (name != "kbook" and not name.startswith("kbook.")) or name in _seen:
        return False
    names = _module_imports(name)
    if any(n == "keras" or n.startswith("keras.") for n in names):
        return True
    seen = _seen | {name}
    return any(n not in OPTIONAL_KERAS and _kbook_module_uses_keras(n, seen) for n in names)


@functools.lru_cache(maxsize=None)
def _module_imports(name: str) -> frozenset[str]:
    parts = name.split(".")[1:]
    path = SRC.joinpath(*parts).with_suffix(".py") if parts else SRC / "__init__.py"
    if not path.is_file():
        return frozenset()
    return frozenset(_imported_modules([ast.parse(path.read_text(encoding="utf-8"))]) - {name})


@functools.lru_cache(maxsize=None)
def _keras_scope(path: str) -> tuple[bool, frozenset[str]]:
    """For a test file: (does the whole module use Keras, names of test functions that do)."""
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    tests, other = [], []
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            for member in node.body:
                (tests if _is_test(member) else other).append(member)
        else:
            (tests if _is_test(node) else other).append(node)
    module_wide = _uses_keras(_imported_modules(other))
    marked = frozenset(node.name for node in tests if _uses_keras(_imported_modules([node])))
    return module_wide, marked


def _is_test(node) -> bool:
    return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test")


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config, items):
    keras = pytest.mark.keras
    for item in items:
        path = Path(str(item.path))
        if path.suffix != ".py":
            continue
        if type(item).__name__ == "DoctestItem":
            if path.resolve().parent == SRC and _kbook_module_uses_keras(f"kbook.{path.stem}"):
                item.add_marker(keras)
            continue
        function = getattr(item, "originalname", None) or item.name.split("[")[0]
        module_wide, marked = _keras_scope(str(path))
        if module_wide or function in marked:
            item.add_marker(keras)
