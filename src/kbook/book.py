"""Execute the chapter notebooks, stamp them, and check that committed outputs are trustworthy.

Command line (from anywhere inside the book's repository, or with ``--root``)::

    python -m kbook.book execute [NOTEBOOK ...]   # run in place at book scale, then stamp
    python -m kbook.book check                    # fail on stale, missing or broken outputs

The repository is the nearest folder at or above the current directory (or the notebook) that
holds ``_config.yml`` and ``_toc.yml``, so the commands work the same when kbook is installed from
a wheel. The site is built with execution off, so what readers see is what ``execute`` committed.
The stamp is a hash of the code cells: editing code without re-executing makes ``check`` fail.

Inside notebooks, :func:`glue` and :func:`show_table` are the two display helpers.

Imports: only the standard library at module level, so :func:`format_table` and :func:`glue` work
with plain ``kbook``. :func:`show_table` needs IPython; executing and checking need nbformat,
nbclient, ipykernel and PyYAML (``pip install "kbook[book]"``; a missing one raises an ImportError
that says so). No Keras, TensorFlow or JAX.
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

BOOK_MARKERS = ("_config.yml", "_toc.yml")
"""The files that mark the root of the book's repository."""


def find_root(start=None) -> Path:
    """Return the nearest folder at or above ``start`` (default: the current directory) that holds
    ``_config.yml`` and ``_toc.yml``: the book's repository.

    Raises:
        TypeError: ``start`` is not a path.
        FileNotFoundError: no such folder; the message suggests ``--root``.

    Example:
        >>> import tempfile
        >>> top = Path(tempfile.mkdtemp())
        >>> for name in BOOK_MARKERS: _ = (top / name).write_text("")
        >>> (top / "notebooks").mkdir()
        >>> find_root(top / "notebooks") == top.resolve()
        True
    """
    if start is None:
        start = Path.cwd()
    if not isinstance(start, (str, os.PathLike)):
        raise TypeError(f"start must be a path, got {type(start).__name__}")
    here = Path(start).resolve()
    if here.is_file():
        here = here.parent
    for folder in (here, *here.parents):
        if all((folder / marker).is_file() for marker in BOOK_MARKERS):
            return folder
    raise FileNotFoundError(
        f"no book repository (a folder with {' and '.join(BOOK_MARKERS)}) at or above {here}; "
        "run from inside the repository or pass --root"
    )


def _root(root, start=None) -> Path:
    if root is None:
        return find_root(start)
    if not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"root must be a path, got {type(root).__name__}")
    root = Path(root).resolve()
    missing = [marker for marker in BOOK_MARKERS if not (root / marker).is_file()]
    if missing:
        raise FileNotFoundError(f"root {root} is not the book's repository: it lacks {', '.join(missing)}")
    return root


def _require(module: str):
    from kbook.config import require

    return require(module, "book", by="kbook.book")

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
"""The kernel every chapter names (Colab and Jupyter pick the kernel from it)."""

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
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", name):
        raise ValueError(f"name must be an identifier-like string, got {name!r}")
    if not isinstance(display, bool):
        raise TypeError(f"display must be a bool, got {type(display).__name__}")
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


def _is_real(value) -> bool:
    """A real number that is not a bool (Python or NumPy scalar)."""
    import numbers

    return isinstance(value, numbers.Real) and not isinstance(value, bool) and type(value).__name__ != "bool_"


def _is_float(value) -> bool:
    """A Python float or a NumPy floating scalar (float16/32/64)."""
    import numbers

    return _is_real(value) and not isinstance(value, numbers.Integral)


def column_format(values, *, max_decimals: int = 8) -> str:
    """Choose one format spec for a column of numbers, from the values themselves.

    Fixed point with three significant digits for the smallest non-zero magnitude, and more
    decimals while two different values would print alike (up to ``max_decimals``); scientific
    notation when the magnitudes reach 10⁶ or go below 10⁻⁴; no decimals when every value is a
    whole number. Non-finite values are ignored (they print as ``nan``/``inf`` in any format).

    Example:
        >>> column_format([0.7993785, 0.1])
        '.3f'
        >>> column_format([0.12341, 0.12344])
        '.5f'
        >>> column_format([12.5, 3.25]), column_format([2.0, 40.0]), column_format([3e-7, 1.0])
        ('.2f', '.0f', '.2e')
    """
    import math

    finite = [float(v) for v in values if _is_real(v) and math.isfinite(float(v))]
    nonzero = [abs(v) for v in finite if v != 0]
    if not nonzero or all(v.is_integer() for v in finite) and max(nonzero) < 1e15:
        return ".0f"
    distinct = sorted(set(finite))

    def separates(spec: str) -> bool:
        return len({format(v, spec) for v in distinct}) == len(distinct)

    if max(nonzero) >= 1e6 or min(nonzero) < 1e-4:
        digits = 2
        while digits < max_decimals and not separates(f".{digits}e"):
            digits += 1
        return f".{digits}e"
    decimals = max(0, 2 - math.floor(math.log10(min(nonzero))))
    while decimals < max_decimals and not separates(f".{decimals}f"):
        decimals += 1
    return f".{decimals}f"


def _scalar(value):
    """NumPy scalars as Python ones; float32/float16 by their shortest repr (0.1, not 0.100000001)."""
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        if getattr(value, "dtype", None) is not None and value.dtype.kind == "f" and value.dtype.itemsize < 8:
            return float(str(value))
        return value.item()
    return value


def format_table(rows, headers, floatfmt=None) -> str:
    """Return a Markdown table; each column's numbers share one format.

    Args:
        rows: a sequence of rows, each a sequence with one cell per header.
        headers: the column titles.
        floatfmt: ``None`` (default) chooses a format per column from its values (see
            :func:`column_format`); a format spec such as ``".3f"`` applies to every column; a
            list gives one entry per column (a spec, or ``None`` to choose).

    A column that holds at least one float (Python or NumPy, any precision) formats every number
    in it with its format, so ``0.5`` and ``1`` in one column print as ``0.500`` and ``1.000``;
    columns of integers, strings and bools print as they are.

    Raises:
        TypeError: ``rows`` or a row is not a sequence, or ``floatfmt`` is not a str, None or list.
        ValueError: a row's length differs from ``headers``', ``floatfmt`` has the wrong length,
            or a format spec is invalid.

    Example:
        >>> import numpy as np
        >>> print(format_table([["a", np.float32(0.7993785)], ["b", 0.1], ["c", 1]], ["name", "value"]))
        | name | value |
        |---|---|
        | a | 0.799 |
        | b | 0.100 |
        | c | 1.000 |
        >>> print(format_table([[1, 0.5, 2.0]], ["n", "p", "q"], floatfmt=[None, ".1%", ".2f"]))
        | n | p | q |
        |---|---|---|
        | 1 | 50.0% | 2.00 |
    """
    if isinstance(rows, (str, bytes)) or not hasattr(rows, "__iter__"):
        raise TypeError(f"rows must be a sequence of rows, got {type(rows).__name__}")
    if isinstance(headers, (str, bytes)) or not hasattr(headers, "__iter__"):
        raise TypeError(f"headers must be a sequence of strings, got {type(headers).__name__}")
    headers = [str(h) for h in headers]
    table = []
    for row in rows:
        if isinstance(row, (str, bytes)) or not hasattr(row, "__iter__"):
            raise TypeError(f"every row must be a sequence of cells, got {type(row).__name__}")
        table.append([_scalar(v) for v in row])
    if any(len(row) != len(headers) for row in table):
        raise ValueError(f"every row must have {len(headers)} cells, like headers")
    if floatfmt is None or isinstance(floatfmt, str):
        specs = [floatfmt] * len(headers)
    elif isinstance(floatfmt, (list, tuple)):
        specs = list(floatfmt)
        if len(specs) != len(headers):
            raise ValueError(f"floatfmt must have one entry per column ({len(headers)}), got {len(specs)}")
        if not all(spec is None or isinstance(spec, str) for spec in specs):
            raise TypeError("floatfmt entries must be format specs (str) or None")
    else:
        raise TypeError(f"floatfmt must be a format spec, None or a list of them, got {type(floatfmt).__name__}")
    for j, spec in enumerate(specs):
        column = [row[j] for row in table]
        if not any(_is_float(v) for v in column):
            specs[j] = None  # integers, strings, bools: as they are
            continue
        if spec is None:
            spec = column_format(column)
        try:
            format(1.5, spec)
        except (ValueError, TypeError) as error:
            raise ValueError(f"floatfmt {spec!r} for column {headers[j]!r} is not a float format spec") from error
        specs[j] = spec

    def cell(value, spec) -> str:
        if spec is not None and _is_real(value):
            return format(float(value) if value != 0 else 0.0, spec)  # no "-0"
        return str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v, spec) for v, spec in zip(row, specs)) + " |" for row in table]
    return "\n".join(lines)


def show_table(rows, headers, floatfmt=None):
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


def normalize_metadata(notebook):
    """Give ``notebook`` (an nbformat node, changed in place) the kernelspec and nbformat 4.5 cell ids.

    Cells keep the ids they have; missing, invalid or duplicated ids are replaced. Returns the
    notebook.

    Example:
        >>> import nbformat
        >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
        >>> nb.nbformat_minor = 4; del nb.cells[0]["id"]
        >>> nb = normalize_metadata(nb)
        >>> nb.metadata.kernelspec["name"], nb.nbformat_minor, bool(nb.cells[0]["id"])
        ('python3', 5, True)
    """
    import uuid

    notebook.metadata["kernelspec"] = dict(KERNELSPEC)
    notebook.nbformat = 4
    notebook.nbformat_minor = max(5, int(notebook.get("nbformat_minor", 0)))
    seen = set()
    for cell in notebook.cells:
        cell_id = cell.get("id")
        if not isinstance(cell_id, str) or not _CELL_ID.fullmatch(cell_id) or cell_id in seen:
            cell_id = uuid.uuid4().hex[:8]
            while cell_id in seen:
                cell_id = uuid.uuid4().hex[:8]
            cell["id"] = cell_id
        seen.add(cell_id)
    return notebook


_CELL_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
"""nbformat 4.5's pattern for a cell id."""


def metadata_problems(raw: dict) -> list[str]:
    """Problems with a notebook's kernelspec and cell ids, read from its raw JSON (a dict).

    The raw JSON is checked because ``nbformat.read`` quietly adds missing ids.

    Example:
        >>> metadata_problems({"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": [{}]})
        ['has no kernelspec (python3)', 'is nbformat 4.4, not >= 4.5 (cell ids)', '1 cell(s) lack a valid, unique id']
    """
    problems = []
    kernelspec = (raw.get("metadata") or {}).get("kernelspec") or {}
    if kernelspec.get("name") != KERNELSPEC["name"] or kernelspec.get("language") != KERNELSPEC["language"]:
        problems.append(f"has no kernelspec ({KERNELSPEC['name']})" if not kernelspec else
                        f"has kernelspec {kernelspec.get('name')!r}, not {KERNELSPEC['name']!r}")
    version = (raw.get("nbformat", 0), raw.get("nbformat_minor", 0))
    if version < (4, 5):
        problems.append(f"is nbformat {version[0]}.{version[1]}, not >= 4.5 (cell ids)")
    ids = [cell.get("id") for cell in raw.get("cells", [])]
    bad = sum(1 for i in ids if not isinstance(i, str) or not _CELL_ID.fullmatch(i))
    bad += len([i for i in ids if isinstance(i, str)]) - len({i for i in ids if isinstance(i, str)})
    if bad:
        problems.append(f"{bad} cell(s) lack a valid, unique id")
    return problems


def execute(path: Path, scale: str = "book", timeout: int = 1800) -> float:
    """Run the notebook at ``path`` in place at ``scale``, stamp it, and return the seconds taken."""
    nbformat = _require("nbformat")
    NotebookClient = _require("nbclient").NotebookClient
    _require("ipykernel")  # the python3 kernel the client starts

    from kbook.config import SCALES

    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a path, got {type(path).__name__}")
    if not isinstance(scale, str):
        raise TypeError(f"scale must be a str, got {type(scale).__name__}")
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}, got {scale!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, int):
        raise TypeError(f"timeout must be an int number of seconds, got {type(timeout).__name__}")
    if timeout <= 0:
        raise ValueError(f"timeout must be positive, got {timeout}")
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
    for cell in notebook.cells:  # volatile timings would churn every diff
        cell.metadata.pop("execution", None)
    normalize_metadata(notebook)
    nbformat.write(notebook, path)
    return seconds


# --------------------------------------------------------------------------- checks


def repository_url(root=None) -> str:
    """Return ``repository.url`` from ``_config.yml``: the one place the repository URL lives."""
    yaml = _require("yaml")
    root = _root(root)
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    url = (config.get("repository") or {}).get("url")
    if not url:
        raise ValueError("_config.yml has no repository.url")
    return url.rstrip("/")


def toc_files(root=None) -> set[str]:
    """Return every ``file:`` entry of ``_toc.yml`` (without extension), the root included."""
    yaml = _require("yaml")
    root = _root(root)
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


def check_notebook(path, root=None) -> list[str]:
    """Return the problems of one committed notebook (empty when it is fine).

    ``root`` is the book's repository (default: found from the notebook's folder).
    """
    nbformat = _require("nbformat")
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a path, got {type(path).__name__}")
    path = Path(path)
    root = _root(root, path.parent)
    problems = metadata_problems(json.loads(path.read_text(encoding="utf-8")))
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


def check(root=None) -> int:
    """Check every notebook under ``notebooks/``; print a report and return the number of problems.

    ``root`` is the book's repository (default: found from the current directory).
    """
    root = _root(root)
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
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--root", type=Path, default=None,
        help="the book's repository (default: the nearest folder above the current one with _config.yml and _toc.yml)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("execute", parents=[common], help="run notebooks in place and stamp them")
    run.add_argument("notebooks", nargs="*", type=Path, help="default: every notebooks/*.ipynb")
    run.add_argument("--scale", default="book", help="smoke, book (default) or full")
    sub.add_parser("check", parents=[common], help="fail on stale, missing or broken committed outputs")
    args = parser.parse_args(argv)
    try:
        root = _root(args.root) if args.root is not None or args.command == "check" or not args.notebooks else None
    except FileNotFoundError as error:
        parser.error(str(error))
    if args.command == "execute":
        paths = args.notebooks or sorted((root / "notebooks").glob("*.ipynb"))
        for path in paths:
            print(f"executing {path} at {args.scale} scale ...", flush=True)
            seconds = execute(path, scale=args.scale)
            print(f"  done in {seconds:.1f} s", flush=True)
        return 0
    problems = check(root)
    print(f"{problems} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
