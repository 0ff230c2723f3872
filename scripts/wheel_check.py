"""Install kbook's wheel the way a reader does, outside the repository, and use it from there.

    .venv/bin/python scripts/wheel_check.py

1. Builds the wheel (``pip wheel --no-deps``) and fails on a setuptools deprecation warning.
2. Makes a fresh virtual environment outside the repository with TensorFlow and JAX preinstalled at
   the versions of requirements.txt (as Colab ships its own): a hard-linked copy of a base
   environment kept in ``~/.cache/kbook/wheel-check`` (built once per Python and pinned versions;
   the copy costs seconds, and installing into it never changes the base).
3. Installs the wheel with its dependencies from a wheelhouse in the same cache (filled from the
   package index the first time, and again when kbook's dependencies change), so a warm run
   downloads nothing.
4. Checks that no version of TensorFlow, Keras, NumPy or JAX changed, then, from a folder outside
   the repository: kbook is imported from the new environment, every module imports, every
   module's docstring examples pass (kbook.book's that need its extra excepted: those must raise an
   ImportError naming ``kbook[book]``), and every benchmark result a chapter reads
   (``kbook.data.benchmark_results("...")`` in notebooks/) loads from the installed package.

Without network and without a cache it prints SKIPPED and exits 0; any other failure exits 1.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("KBOOK_CACHE", Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "kbook"))
WATCHED = ("tensorflow", "tensorflow-cpu", "keras", "numpy", "jax", "jaxlib")
"""Packages whose versions installing kbook must not change."""
PREINSTALLED = re.compile(r"^(tensorflow(-cpu)?|jax(\[[a-z]+\])?)\s*==")
"""The requirements.txt lines that play Colab's preinstalled libraries."""
NETWORK_ERRORS = ("NewConnectionError", "Network is unreachable", "Temporary failure in name resolution",
                  "Max retries exceeded", "No matching distribution found", "Could not find a version")

timings: list[tuple[str, float]] = []


class Skip(Exception):
    """Neither network nor cache: nothing can be installed."""


def step(name: str):
    class Timer:
        def __enter__(self):
            self.start = time.perf_counter()
            print(f"wheel check: {name} ...", flush=True)

        def __exit__(self, *exc):
            timings.append((name, time.perf_counter() - self.start))

    return Timer()


def run(command, *, cwd=None, env=None, network=False) -> str:
    done = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True)
    output = done.stdout + done.stderr
    if done.returncode != 0:
        shown = " ".join(str(c) if len(str(c)) < 200 else "<script>" for c in command)
        if network and any(marker in output for marker in NETWORK_ERRORS) and not index_reachable():
            raise Skip(f"`{shown}` could not reach the package index:\n"
                       + "\n".join(output.strip().splitlines()[-3:]))
        raise RuntimeError(f"`{shown}` failed ({done.returncode}):\n{quiet_pip(output)[-4000:]}")
    return output


def index_reachable() -> bool:
    """Whether pip reaches its package index (then a failed install is a real failure, not a skip)."""
    probe = subprocess.run([sys.executable, "-m", "pip", "index", "versions", "pip"], capture_output=True, text=True)
    return probe.returncode == 0


def quiet_pip(output: str) -> str:
    # some machines configure pip with find-links folders that do not exist: one line per package
    return "\n".join(line for line in output.splitlines() if "is ignored: it is neither a file nor a directory" not in line)


def base_interpreter() -> str:
    return getattr(sys, "_base_executable", sys.executable)


def preinstalled_lines() -> list[str]:
    lines = [line.strip() for line in (REPO / "requirements.txt").read_text(encoding="utf-8").splitlines()]
    found = [line for line in lines if PREINSTALLED.match(line)]
    if not found:
        raise RuntimeError("requirements.txt pins no tensorflow/jax line to preinstall")
    return found


def base_environment() -> Path:
    """The cached environment with TensorFlow and JAX only (built on first use)."""
    lines = preinstalled_lines()
    key = hashlib.sha256(json.dumps([sys.version, base_interpreter(), lines]).encode()).hexdigest()[:12]
    base = CACHE / "wheel-check" / f"base-{key}"
    if (base / "ready").is_file():
        return base
    building = base.with_name(base.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    building.parent.mkdir(parents=True, exist_ok=True)
    try:
        run([base_interpreter(), "-m", "venv", building])
        requirements = building / "preinstalled.txt"
        requirements.write_text("\n".join(lines) + "\n", encoding="utf-8")
        run([building / "bin" / "python", "-m", "pip", "install", "-q", "-r", requirements], network=True)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    # a venv records its own path only in scripts we never call (we always run bin/python -m pip)
    (building / "ready").write_text(" ".join(lines) + "\n", encoding="utf-8")
    shutil.rmtree(base, ignore_errors=True)
    building.rename(base)
    return base


def versions(python: Path) -> dict[str, str]:
    listed = json.loads(run([python, "-m", "pip", "list", "--format=json", "--disable-pip-version-check"]))
    return {re.sub(r"[-_.]+", "-", entry["name"]).lower(): entry["version"] for entry in listed}


def chapter_results() -> list[str]:
    """Names passed to kbook.data.benchmark_results in the notebooks."""
    names = set()
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8")).get("cells", []):
            source = "".join(cell.get("source", ""))
            names.update(re.findall(r"benchmark_results\(\s*[\"']([A-Za-z0-9_\-]+)[\"']", source))
    return sorted(names)


CHECK = r'''
import doctest, importlib, json, os, pkgutil, sys
os.environ.setdefault("MPLBACKEND", "Agg")
venv, names = sys.argv[1], json.loads(sys.argv[2])
import kbook, kbook.config
kbook.config.quiet()
assert kbook.__file__.startswith(venv), f"kbook was imported from {kbook.__file__}, not from {venv}"
report = {}
modules = ["kbook"] + [f"kbook.{m.name}" for m in pkgutil.iter_modules(kbook.__path__) if not m.name.startswith("_")]
for name in modules:
    module = importlib.import_module(name)
    tests = doctest.DocTestFinder().find(module, name)
    needs_extra = []
    if name == "kbook.book":  # the `book` extra is not installed here
        needs_extra = [t for t in tests if "nbformat" in t.docstring or t.name.endswith("show_table")]
        tests = [t for t in tests if t not in needs_extra]
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    report[name] = {"examples": result.attempted, "failed": result.failed, "skipped_for_extra": len(needs_extra)}
    assert result.failed == 0, f"{name}: {result.failed} docstring example(s) failed"
import kbook.book, kbook.data
try:
    kbook.book.check_notebook("x.ipynb")
except ImportError as error:
    assert 'pip install "kbook[book]"' in str(error), error
else:
    raise AssertionError("kbook.book.check_notebook ran without nbformat installed?")
available = kbook.data.available_benchmark_results()
missing = sorted(set(names) - set(available))
assert not missing, f"chapters read benchmark results {missing}, which the wheel does not contain ({available})"
for name in available:
    assert kbook.data.benchmark_results(name), name
print(json.dumps({"modules": report, "benchmark_results": available}))
'''


def main() -> int:
    total = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="kbook-wheel-check-"))
    try:
        with step("build the wheel"):
            # from a copy of what the build reads: building in the checkout would leave build/ there,
            # and a stale build/lib could smuggle deleted modules into the wheel
            tree = work / "tree"
            tree.mkdir()
            for name in ("pyproject.toml", "README.md", "LICENSE"):
                shutil.copy2(REPO / name, tree / name)
            shutil.copytree(REPO / "src", tree / "src",
                            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
            dist = work / "dist"
            output = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "--wheel-dir", dist, tree],
                         network=True)
            warnings = [line for line in output.splitlines() if "Deprecat" in line and "setuptools" in line.lower()]
            if warnings:
                raise RuntimeError("building the wheel warns:\n" + "\n".join(warnings[:10]))
            wheel = next(dist.glob("kbook-*.whl"))
        with step("fresh environment with TensorFlow and JAX preinstalled"):
            base = base_environment()
            venv = work / "venv"
            run(["cp", "-al", base, venv])
            python = venv / "bin" / "python"
            before = versions(python)
        with step("install the wheel"):
            wheelhouse = CACHE / "wheel-check" / "wheelhouse"
            # the wheel by its path (never a same-named kbook from elsewhere); dependencies only
            # from the wheelhouse, so nothing is downloaded once it is filled
            install = [python, "-m", "pip", "install", "-q", "--no-index", "--find-links", wheelhouse, wheel]
            try:
                run(install)
            except RuntimeError:  # first run, or kbook's dependencies changed: fill the wheelhouse
                wheelhouse.mkdir(parents=True, exist_ok=True)
                run([python, "-m", "pip", "wheel", "-q", "--wheel-dir", wheelhouse, wheel], network=True)
                for stale in wheelhouse.glob("kbook-*.whl"):
                    stale.unlink()
                run(install)
            after = versions(python)
        changed = {name: (before[name], after.get(name)) for name in WATCHED if name in before and before[name] != after.get(name)}
        added = sorted(f"{name}=={after[name]}" for name in set(after) - set(before))
        print(f"  preinstalled: {', '.join(f'{n}=={before[n]}' for n in WATCHED if n in before)}")
        print(f"  installing kbook added: {', '.join(added)}")
        if changed:
            raise RuntimeError(f"installing kbook changed preinstalled versions: {changed}")
        if not any(name in before for name in ("tensorflow", "tensorflow-cpu")):
            raise RuntimeError("the base environment has no TensorFlow: the check would prove nothing")
        with step("import every module and run its examples, outside the repository"):
            outside = work / "elsewhere"
            outside.mkdir()
            env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
            env.update(KERAS_BACKEND="tensorflow", PYTHONHASHSEED="0")
            output = run([python, "-c", CHECK, str(venv), json.dumps(chapter_results())], cwd=outside, env=env)
            report = json.loads(output.strip().splitlines()[-1])
            for name, counts in report["modules"].items():
                extra = f" ({counts['skipped_for_extra']} need kbook[book])" if counts["skipped_for_extra"] else ""
                print(f"  {name:22} {counts['examples']:3d} example(s) passed{extra}")
            print(f"  benchmark results in the wheel: {', '.join(report['benchmark_results']) or '(none)'}")
    except Skip as reason:
        print(f"wheel check: SKIPPED: no network and no cache to install from.\n{reason}")
        return 0
    except RuntimeError as error:
        print(f"wheel check: FAILED: {error}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for name, seconds in timings:
        print(f"  {seconds:6.1f} s  {name}")
    print(f"wheel check: ok in {time.perf_counter() - total:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
