"""Every public function and class of kbook is documented, and documents where it is used."""

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import kbook

MODULES = sorted(info.name for info in pkgutil.iter_modules(kbook.__path__) if not info.name.startswith("_"))


def public_objects(module):
    names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
    for name in names:
        obj = getattr(module, name)
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and getattr(obj, "__module__", "") == module.__name__:
            yield name, obj


@pytest.mark.parametrize("module_name", MODULES)
def test_module_and_public_objects_have_docstrings(module_name):
    module = importlib.import_module(f"kbook.{module_name}")
    assert (module.__doc__ or "").strip(), f"kbook.{module_name} has no module docstring"
    undocumented = [name for name, obj in public_objects(module) if not (obj.__doc__ or "").strip()]
    assert not undocumented, f"undocumented public objects in kbook.{module_name}: {undocumented}"


SPINE = {"config", "data", "plot", "book", "autodiff"}


@pytest.mark.parametrize("module_name", sorted(set(MODULES) - SPINE))
def test_topic_modules_link_back_to_their_chapter(module_name):
    module = importlib.import_module(f"kbook.{module_name}")
    assert "notebooks/" in (module.__doc__ or ""), f"kbook.{module_name} docstring must name its chapter notebook"


def _owner(file_name: str) -> str:
    # A private companion such as _reading_keras.py belongs to the topic it serves (reading).
    name = file_name.removesuffix(".py")
    if name.startswith("_"):
        name = name[1:].removesuffix("_keras")
    return name


def kbook_imports(path: Path) -> set[str]:
    """First component of every kbook module a file imports: statements, relative imports, and
    string names handed to a call (``importlib.import_module("kbook.x")``, lazy loaders)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("kbook.")}
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module == "kbook":
                found |= {a.name for a in node.names}
            elif node.level == 0 and (node.module or "").startswith("kbook."):
                found.add(node.module.split(".")[1])
            elif node.level >= 1:
                found |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
        elif isinstance(node, ast.Call):
            for arg in ast.walk(node):
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    match = re.fullmatch(r"kbook\.(\w+)(\.\w+)*", arg.value)
                    if match:
                        found.add(match.group(1))
    return found


def test_import_scan_sees_every_form_of_import(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text(
        "import kbook.a\nfrom kbook import b\nfrom kbook.c import f\nfrom . import d\nfrom .e import g\n"
        "import importlib\nimportlib.import_module('kbook.h')\n'a docstring naming kbook.zzz'\n"
    )
    assert kbook_imports(source) == {"a", "b", "c", "d", "e", "h"}


PACKAGE_DIR = Path(kbook.__file__).parent


TOPICS = set(MODULES) - SPINE
# The spine and __init__ may import what they need; every topic file, public or private, is checked.
TOPIC_FILES = [p for p in sorted(PACKAGE_DIR.glob("*.py")) if _owner(p.name) in TOPICS]


def test_every_private_companion_belongs_to_a_topic():
    private = {p.name for p in PACKAGE_DIR.glob("_*.py")} - {"__init__.py"}
    assert private <= {p.name for p in TOPIC_FILES}


@pytest.mark.parametrize("path", TOPIC_FILES, ids=lambda p: p.name)
def test_topic_modules_do_not_import_each_other(path):
    owner = _owner(path.name)
    topics = TOPICS
    offending = {
        name for name in kbook_imports(path) if _owner(name + ".py") in topics and _owner(name + ".py") != owner
    }
    assert not offending, f"{path.name} (topic {owner}) imports other topic modules: {sorted(offending)}"
