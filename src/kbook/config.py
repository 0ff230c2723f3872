"""Run-time configuration shared by every chapter: the scale, seeds, quiet logging, and optional
dependencies.

Imports: only the standard library at module level. :func:`seed_everything` imports NumPy and,
when installed, Keras; :func:`quiet` imports TensorFlow when it is the Keras backend (that is how it
silences TensorFlow's start-up). So :func:`quiet` can still act when it is called before the first
``import keras``.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import numbers
import os
import random
import warnings

EXTRAS = {"tf": "tensorflow", "book": "nbformat, nbclient, ipykernel, PyYAML"}
"""kbook's optional dependency groups (``pip install "kbook[<extra>]"``) and what they bring."""


def require(module: str, extra: str, *, by: str):
    """Import and return ``module``; if it is missing, raise an ImportError naming the kbook extra.

    Modules with an optional dependency import it through this function, so a reader who installed
    plain ``kbook`` learns which extra to add instead of meeting a bare ``ModuleNotFoundError``.

    Args:
        module: the dotted name to import, e.g. ``"tensorflow"``.
        extra: the kbook extra that installs it (a key of :data:`EXTRAS`).
        by: who needs it, for the message (e.g. ``"kbook.riemann"``).

    Raises:
        TypeError: an argument is not a string.
        ValueError: ``extra`` is not one of kbook's extras.
        ImportError: ``module`` is not installed; the message says ``pip install "kbook[extra]"``.

    Example:
        >>> require("json", "book", by="an example").__name__
        'json'
        >>> require("no_such_module_xyz", "tf", by="kbook.example")
        Traceback (most recent call last):
        ...
        ImportError: kbook.example needs no_such_module_xyz, which is not installed: pip install "kbook[tf]"
    """
    for name, value in (("module", module), ("extra", extra), ("by", by)):
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    if extra not in EXTRAS:
        raise ValueError(f"extra must be one of {', '.join(EXTRAS)}, got {extra!r}")
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        missing = error.name or module
        if missing != module and not module.startswith(missing + "."):
            raise  # the module exists but something it imports is missing: not ours to rename
        raise ImportError(
            f'{by} needs {module}, which is not installed: pip install "kbook[{extra}]"', name=module
        ) from error

SCALES = ("smoke", "book", "full")
"""The valid values of ``KBOOK_SCALE``: CI proof, laptop-CPU teaching runs, Colab-GPU originals."""

DEFAULT_SCALE = "book"
SCALE_VARIABLE = "KBOOK_SCALE"


def lazy_attributes(module: str, namespace: dict, lazy: dict):
    """Return ``(__getattr__, __dir__)`` for a module whose names in ``lazy`` load on first access.

    ``lazy`` maps an attribute name to the module that defines it. A topic module that defines
    Keras layers keeps them in a private submodule and assigns the two returned functions at
    module level (PEP 562), so that importing the topic module imports no backend.

    Example:
        >>> ns = {}
        >>> getattr_, dir_ = lazy_attributes("example", ns, {"OrderedDict": "collections"})
        >>> getattr_("OrderedDict").__name__, "OrderedDict" in ns, "OrderedDict" in dir_()
        ('OrderedDict', True, True)
    """
    if not isinstance(module, str) or not isinstance(namespace, dict) or not isinstance(lazy, dict):
        raise TypeError("lazy_attributes(module: str, namespace: dict, lazy: dict)")

    def __getattr__(name: str):
        if name in lazy:
            value = getattr(importlib.import_module(lazy[name]), name)
            namespace[name] = value  # later lookups are ordinary attribute reads
            return value
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(namespace) | set(lazy))

    return __getattr__, __dir__


def check_int(name: str, value, minimum: int, *, allow_none: bool = False):
    """Return ``value`` as a Python int after checking it is an integer ``>= minimum``.

    The argument check every topic module shares: ``True``/``False`` are not counts, NumPy integers
    are accepted. Raises TypeError (not an integer) or ValueError (below ``minimum``), naming the
    argument; with ``allow_none``, None passes through.

    Example:
        >>> check_int("beam_width", 3, 1)
        3
        >>> check_int("beam_width", 0, 1)
        Traceback (most recent call last):
        ...
        ValueError: beam_width must be >= 1, got 0
    """
    if allow_none and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        expected = "an int or None" if allow_none else "an int"
        raise TypeError(f"{name} must be {expected}, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def scale() -> str:
    """Return the current scale, read from the environment variable ``KBOOK_SCALE``.

    ``smoke`` runs a notebook end to end in seconds (CI), ``book`` (the default) produces the
    committed outputs on a laptop CPU, ``full`` is the original post's scale for a GPU.

    Raises:
        ValueError: if ``KBOOK_SCALE`` is set to anything else.

    Example:
        >>> import os
        >>> os.environ["KBOOK_SCALE"] = "smoke"
        >>> scale()
        'smoke'
        >>> del os.environ["KBOOK_SCALE"]
        >>> scale()
        'book'
    """
    value = os.environ.get(SCALE_VARIABLE, "").strip().lower() or DEFAULT_SCALE
    if value not in SCALES:
        raise ValueError(
            f"{SCALE_VARIABLE}={os.environ.get(SCALE_VARIABLE)!r} is not a valid scale; "
            f"expected one of {', '.join(SCALES)}"
        )
    return value


def by_scale(*, smoke, book, full):
    """Return the argument that belongs to the current :func:`scale`.

    Each notebook keeps its sizes in one call, so the three scales are visible side by side
    instead of being spread over ``if`` statements.

    Example:
        >>> import os
        >>> os.environ["KBOOK_SCALE"] = "smoke"
        >>> by_scale(smoke={"epochs": 1}, book={"epochs": 20}, full={"epochs": 100})
        {'epochs': 1}
        >>> del os.environ["KBOOK_SCALE"]
    """
    return {"smoke": smoke, "book": book, "full": full}[scale()]


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and Keras (which seeds its backend).

    Also sets ``PYTHONHASHSEED`` for any subprocess started later (the running interpreter's hash
    seed cannot be changed after start-up).

    Raises:
        TypeError: if ``seed`` is not an integer.
        ValueError: if ``seed`` is negative or does not fit in 32 bits.

    Example:
        >>> import numpy as np
        >>> seed_everything(3); a = np.random.rand()
        >>> seed_everything(3); b = np.random.rand()
        >>> a == b
        True
    """
    import numpy as np

    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if not 0 <= int(seed) < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    seed = int(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    try:
        import keras
    except ImportError:  # kbook's numpy-only helpers work without Keras
        return
    keras.utils.set_random_seed(seed)


STARTUP_NOISE = (
    "All log messages before absl::InitializeLog() is called",
    "Could not find cuda drivers on your machine",
    "failed call to cuInit",
    "Unable to register cuDNN factory",
    "Unable to register cuFFT factory",
    "Unable to register cuBLAS factory",
    "computation placer already registered",
    "oneDNN custom operations are on",
    "This TensorFlow binary is optimized to use available CPU instructions",
    "To enable the following instructions:",
    "TF-TRT Warning: Could not find TensorRT",
)
"""Lines TensorFlow's C++ side writes to stderr while it loads on a machine without a usable GPU.

They are printed before TensorFlow reads ``TF_CPP_MIN_LOG_LEVEL`` (static initialisers, absl's
pre-initialisation banner) or at ERROR level (``cuInit`` failing because the runtime has no GPU), so
the environment variable alone cannot silence them; :func:`quiet` filters them out of what the
import writes."""


@contextlib.contextmanager
def _filtered_stderr(noise=STARTUP_NOISE):
    """Capture file descriptor 2 during the block; then write back every line not in ``noise``.

    Works at the descriptor level, so it sees what C++ code writes (in Jupyter, ipykernel forwards
    descriptor 2 to the cell, which is how TensorFlow's start-up lines reached the outputs).
    """
    import sys
    import tempfile

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a closed or unusual stream must not stop the import
            pass
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            try:
                sys.stderr.flush()
            except Exception:
                pass
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", errors="replace")
            kept = [line for line in text.splitlines(keepends=True) if not any(n in line for n in noise)]
            if kept:
                os.write(2, "".join(kept).encode("utf-8"))


def quiet() -> None:
    """Silence the start-up noise of TensorFlow, absl and jieba so notebook outputs stay clean.

    Call it before the first ``import keras`` / ``import tensorflow``: TensorFlow reads
    ``TF_CPP_MIN_LOG_LEVEL`` and ``TF_ENABLE_ONEDNN_OPTS`` only at import time. With the
    TensorFlow backend it then imports TensorFlow itself and lists its devices (which is when a
    GPU build tries CUDA), dropping the lines of :data:`STARTUP_NOISE` from what that writes to
    stderr and passing every other line through; and it sets TensorFlow's Python logger to ERROR.

    Example:
        >>> quiet()
        >>> os.environ["TF_CPP_MIN_LOG_LEVEL"]
        '2'
    """
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
    logging.getLogger("absl").setLevel(logging.ERROR)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("jieba").setLevel(logging.WARNING)
    try:
        import jieba
    except ImportError:
        pass
    else:
        jieba.setLogLevel(logging.WARNING)
    # Deprecation chatter from third-party packages is not the reader's business.
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning, module="keras")
    # In Jupyter, TensorFlow sets its Python logger to INFO the first time the logger is created,
    # which would undo the level set above (its retracing warnings then land in the outputs).
    # So create it now, under the environment set above, and set the level afterwards.
    if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
        import sys

        already = "tensorflow" in sys.modules
        try:
            with _filtered_stderr():
                import tensorflow as tf

                if not already:
                    tf.config.list_physical_devices()  # a GPU build calls cuInit here, not later
        except ImportError:
            return
        tf.get_logger().setLevel(logging.ERROR)
