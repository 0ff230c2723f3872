"""Execute the chapter notebooks, stamp them, and check that committed outputs are trustworthy.

Command line::

    python -m kbook.book execute [NOTEBOOK ...]   # run in place at book scale, then stamp
    python -m kbook.book check                    # fail on stale, missing or broken outputs

The site is built with execution off, so what readers see is what ``execute`` committed. The stamp
is a hash of the code cells: editing code without re-executing makes ``check`` fail.

Inside notebooks, :func:`glue` and :func:`show_table` are the two display helpers.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import time
from pathlib import Path

STAMP_KEY = "kbook"
BOOK_BUDGET_SECONDS = 180
"""A notebook must run at book scale within this many seconds (BOOK_DESIGN.md: < 3 min)."""

ROOT = Path(__file__).resolve().parents[2]
"""The repository root when kbook is used from a checkout (src layout)."""

QUIET_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "PYTHONHASHSEED": "0",
    "PYTHONWARNINGS": "ignore::DeprecationWarning",
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
}


# --------------------------------------------------------------------------- notebook display


def glue(name: str, value, display: bool = False):
    """Record ``value`` under ``name`` for ``{glue:text}`name``` in the book's prose; return it.

    With myst-nb present (the book's own environment) this is ``myst_nb.glue``. Elsewhere (Colab,
    plain Jupyter) it shows the value when ``display`` is true and otherwise does nothing, so a
    notebook that glues its numbers still runs where myst-nb is not installed.

    NumPy scalars are stored as Python numbers so that format specs work in the prose.

    Example:
        >>> glue("answer", 42) == 42
        True
        >>> import numpy as np
        >>> type(glue("ratio", np.float32(0.5)))
        <class 'float'>
    """
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", name):
        raise ValueError(f"name must be an identifier-like string, got {name!r}")
    # NumPy scalars repr as "np.float64(0.5)", which myst-nb's {glue:text}`x:.3f` cannot format.
    if type(value).__module__ == "numpy" and hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()
    try:
        from myst_nb import glue as myst_glue
        from IPython import get_ipython
    except ImportError:
        myst_glue = None
    if myst_glue is not None and get_ipython() is not None:
        myst_glue(name, value, display=display)
    elif display:
        print(f"{name} = {value}")
    return value


def format_table(rows, headers, floatfmt: str = ".3f") -> str:
    """Return a Markdown table; floats are formatted with ``floatfmt``.

    Example:
        >>> print(format_table([["a", 0.5], ["b", 1]], ["name", "value"]))
        | name | value |
        |---|---|
        | a | 0.500 |
        | b | 1 |
    """
    rows = [list(row) for row in rows]
    headers = list(headers)
    if any(len(row) != len(headers) for row in rows):
        raise ValueError(f"every row must have {len(headers)} cells, like headers")

    def cell(value) -> str:
        if isinstance(value, float):
            return format(value, floatfmt)
        return str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def show_table(rows, headers, floatfmt: str = ".3f"):
    """Display rows as a Markdown table in a notebook (see :func:`format_table`); return the text.

    Example:
        >>> text = show_table([["x", 1.0]], ["k", "v"])  # doctest: +ELLIPSIS
        <IPython.core.display.Markdown object>
    """
    from IPython.display import Markdown, display

    text = format_table(rows, headers, floatfmt)
    display(Markdown(text))
    return text


# --------------------------------------------------------------------------- stamps


def code_hash(notebook) -> str:
    """Return the SHA-256 of a notebook's code cells (their source, in order).

    Example:
        >>> import nbformat
        >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
        >>> len(code_hash(nb))
        64
    """
    sources = [_source(cell) for cell in notebook.cells if cell.cell_type == "code"]
    return hashlib.sha256(json.dumps(sources, ensure_ascii=False).encode("utf-8")).hexdigest()


def _source(cell) -> str:
    source = cell.source
    return "".join(source) if isinstance(source, list) else source


def execute(path: Path, scale: str = "book", timeout: int = 1800) -> float:
    """Run the notebook at ``path`` in place at ``scale``, stamp it, and return the seconds taken."""
    import nbformat
    from nbclient import NotebookClient

    from kbook.config import SCALES

    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}, got {scale!r}")
    path = Path(path)
    notebook = nbformat.read(path, as_version=4)
    env_before = dict(os.environ)
    os.environ.update(QUIET_ENV)
    os.environ["KBOOK_SCALE"] = scale
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    start = time.perf_counter()
    try:
        client = NotebookClient(
            notebook,
            timeout=timeout,
            kernel_name="python3",
            record_timing=False,
            resources={"metadata": {"path": str(path.parent)}},
        )
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    seconds = time.perf_counter() - start
    notebook.metadata[STAMP_KEY] = {
        "code_hash": code_hash(notebook),
        "scale": scale,
        "seconds": round(seconds, 1),
        # The budget assumes an otherwise idle machine; the load at the start says if it was.
        "load_average": None if load is None else round(load, 2),
    }
    for cell in notebook.cells:  # volatile ids and timings would churn every diff
        cell.metadata.pop("execution", None)
    nbformat.write(notebook, path)
    return seconds


# --------------------------------------------------------------------------- checks


def repository_url(root: Path = ROOT) -> str:
    """Return ``repository.url`` from ``_config.yml``: the one place the repository URL lives."""
    import yaml

    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    url = (config.get("repository") or {}).get("url")
    if not url:
        raise ValueError("_config.yml has no repository.url")
    return url.rstrip("/")


def toc_files(root: Path = ROOT) -> set[str]:
    """Return every ``file:`` entry of ``_toc.yml`` (without extension), the root included."""
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    found: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("file", "root") and isinstance(value, str):
                    found.add(str(Path(value).with_suffix("")))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return found


def check_notebook(path: Path, root: Path = ROOT) -> list[str]:
    """Return the problems of one committed notebook (empty when it is fine)."""
    import nbformat

    path = Path(path)
    problems = []
    notebook = nbformat.read(path, as_version=4)
    code_cells = [c for c in notebook.cells if c.cell_type == "code" and _source(c).strip()]
    if not code_cells:
        problems.append("has no code cells")
        return problems
    if not any(c.get("outputs") for c in code_cells):
        problems.append("has no outputs: run `python -m kbook.book execute` on it")
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                problems.append(f"cell {index} has an error output ({output.get('ename')})")
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                first = output.get("text", "").strip().splitlines()[:1]
                problems.append(f"cell {index} wrote to stderr: {first}")
    stamp = notebook.metadata.get(STAMP_KEY)
    if not stamp:
        problems.append("has no execution stamp: run `python -m kbook.book execute` on it")
    else:
        if stamp.get("code_hash") != code_hash(notebook):
            problems.append("code changed since its outputs were made: re-execute it")
        if stamp.get("scale") != "book":
            problems.append(f"outputs were made at scale {stamp.get('scale')!r}, not 'book'")
        if stamp.get("seconds", 0) > BOOK_BUDGET_SECONDS:
            problems.append(
                f"took {stamp['seconds']} s at book scale, over the {BOOK_BUDGET_SECONDS} s budget"
            )
    relative = str(path.resolve().relative_to(root.resolve()).with_suffix(""))
    if relative not in toc_files(root):
        problems.append("is not listed in _toc.yml")
    setup = _source(code_cells[0])
    url = repository_url(root)
    if f"git+{url}" not in setup or "google.colab" not in setup:
        problems.append(
            f"its first code cell must detect Colab and install kbook from git+{url} "
            "(the repository.url of _config.yml)"
        )
    if "seed_everything" not in setup:
        problems.append("its first code cell must call kbook.config.seed_everything")
    return problems


def check(root: Path = ROOT) -> int:
    """Check every notebook under ``notebooks/``; print a report and return the number of problems."""
    notebooks = sorted((root / "notebooks").glob("*.ipynb"))
    total = 0
    if not notebooks:
        print("no notebooks found under notebooks/")
        return 1
    for path in notebooks:
        problems = check_notebook(path, root)
        total += len(problems)
        stamp = _read_stamp(path)
        seconds = f"{stamp.get('seconds', '?')} s, load {stamp.get('load_average', '?')}" if stamp else "unstamped"
        status = "ok" if not problems else "FAIL"
        print(f"{status:4} {path.relative_to(root)}  (book scale: {seconds})")
        for problem in problems:
            print(f"     - {problem}")
    return total


def _read_stamp(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8")).get("metadata", {}).get(STAMP_KEY, {})


def main(argv=None) -> int:
    """Entry point of ``python -m kbook.book``."""
    parser = argparse.ArgumentParser(prog="python -m kbook.book", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("execute", help="run notebooks in place and stamp them")
    run.add_argument("notebooks", nargs="*", type=Path, help="default: every notebooks/*.ipynb")
    run.add_argument("--scale", default="book", help="smoke, book (default) or full")
    sub.add_parser("check", help="fail on stale, missing or broken committed outputs")
    args = parser.parse_args(argv)
    if args.command == "execute":
        paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
        for path in paths:
            print(f"executing {path} at {args.scale} scale ...", flush=True)
            seconds = execute(path, scale=args.scale)
            print(f"  done in {seconds:.1f} s", flush=True)
        return 0
    problems = check()
    print(f"{problems} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
