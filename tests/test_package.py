"""kbook as a package: what each module imports, and that every module is accounted for.

Each module is imported alone in a fresh interpreter under the JAX backend, the one that tells the
cases apart: a module built on Keras then imports Keras and JAX but not TensorFlow, a module that
uses TensorFlow itself imports TensorFlow, and a light module imports none of them. (Under the
TensorFlow backend the three cannot be told apart here: ``import tensorflow`` itself imports JAX,
through ``tensorflow.lite``, and Keras.)
"""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys

import pytest

import kbook

HEAVY = ("tensorflow", "jax", "keras", "torch")

EXPECTED = {
    # the spine: light, so `import kbook` and the setup cell never pull in a backend
    "kbook": "none",
    "kbook.config": "none",
    "kbook.data": "none",
    "kbook.plot": "none",
    "kbook.book": "none",
    "kbook.autodiff": "none",
    # topic modules whose Keras parts load on first use
    "kbook.activations": "none",
    "kbook.dropout": "none",
    "kbook.reading": "none",
    # numpy-only topics
    "kbook.hsic": "none",
    "kbook.holdout": "none",
    "kbook.wordcount": "none",
    "kbook.crawler": "none",
    "kbook.linking": "none",
    "kbook.word2vec": "none",  # its Keras parts load on first use (kbook._word2vec_keras)
    "kbook.fid": "none",
    # topic modules that define Keras classes at import time (and so import the active backend)
    "kbook.crf": "keras",
    "kbook.losses": "keras",
    "kbook.layers": "keras",
    "kbook.optimizers": "keras",
    "kbook.captcha": "keras",
    "kbook.callbacks": "keras",
    "kbook.callbacks": "keras",
    "kbook.captcha": "keras",
    "kbook.callbacks": "keras",
    "kbook.gan": "keras",
    "kbook.seq2seq": "keras",
    "kbook.bidirectional": "keras",
    # TensorFlow autodiff at module level (the kbook[tf] extra)
    "kbook.riemann": "tensorflow",
}
"""What importing each module may bring in: ``none`` of the heavy libraries, ``keras`` (Keras and the
active backend, no other), or ``tensorflow`` (it uses TensorFlow directly)."""


def all_modules() -> list[str]:
    names = ["kbook"] + [f"kbook.{info.name}" for info in pkgutil.iter_modules(kbook.__path__)]
    return sorted(name for name in names if not name.split(".")[-1].startswith("_"))


def imported_by(modules: list[str], backend: str = "jax") -> dict[str, list[str]]:
    """Import ``modules`` one after another in one fresh interpreter; after each, list the heavy
    libraries loaded so far. (Only meaningful as long as the earlier ones loaded none.)"""
    code = (
        "import importlib, json, sys\n"
        "seen = {}\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"    seen[name] = sorted(m for m in {HEAVY!r} if m in sys.modules)\n"
        "print(json.dumps(seen))\n"
    )
    env = dict(os.environ, KERAS_BACKEND=backend, JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, f"importing {modules} failed:\n{done.stderr[-2000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_module_has_an_expected_import_footprint():
    missing = sorted(set(all_modules()) - set(EXPECTED))
    assert not missing, f"add {missing} to EXPECTED in tests/test_package.py (none, keras or tensorflow)"


def test_light_modules_import_no_backend():
    light = [name for name in all_modules() if EXPECTED.get(name) == "none"]
    found = imported_by(light)
    offenders = {name: heavy for name, heavy in found.items() if heavy}
    # the first offender is the culprit: the ones after it only inherit what it loaded
    assert not offenders, f"import {next(iter(offenders))} pulled in {next(iter(offenders.values()))}"


@pytest.mark.parametrize("module", sorted(m for m, kind in EXPECTED.items() if kind != "none"))
def test_backend_modules_bring_in_only_the_backend_they_use(module):
    if module not in all_modules():
        pytest.skip(f"{module} is not in this checkout")
    found = set(imported_by([module], "jax")[module])
    if EXPECTED[module] == "keras":
        assert {"keras", "jax"} <= found and "tensorflow" not in found and "torch" not in found, (
            f"import {module} under the JAX backend pulled in {sorted(found)}"
        )
    else:
        assert "tensorflow" in found and "torch" not in found


def test_the_probe_can_see_a_backend():
    # the control for the test above: a module that imports Keras is reported as such
    found = imported_by(["kbook.config", "keras"], "jax")
    assert found["kbook.config"] == [] and {"keras", "jax"} <= set(found["keras"])
    assert "tensorflow" not in found["keras"]


def test_spine_modules_say_what_they_import():
    import importlib

    for name in ("kbook.config", "kbook.data", "kbook.plot", "kbook.book", "kbook.autodiff"):
        doc = importlib.import_module(name).__doc__ or ""
        assert "Imports:" in doc, f"{name}'s docstring should say what it imports (a line 'Imports: ...')"
