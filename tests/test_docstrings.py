"""Every public function and class of kbook is documented, and documents where it is used."""

import importlib
import inspect
import pkgutil

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


@pytest.mark.parametrize("module_name", sorted(set(MODULES) - SPINE))
def test_topic_modules_do_not_import_each_other(module_name):
    source = inspect.getsource(importlib.import_module(f"kbook.{module_name}"))
    others = set(MODULES) - SPINE - {module_name}
    offending = [o for o in others if f"kbook.{o}" in source or f"from kbook import {o}" in source]
    assert not offending, f"kbook.{module_name} imports other topic modules: {offending}"
