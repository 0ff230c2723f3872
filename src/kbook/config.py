"""Run-time configuration shared by every chapter: the scale, seeds and quiet logging.

Nothing here imports Keras or TensorFlow at module level, so :func:`quiet` can still silence
TensorFlow's start-up chatter when it is called before the first ``import keras``.
"""

from __future__ import annotations

import logging
import os
import random
import warnings

SCALES = ("smoke", "book", "full")
"""The valid values of ``KBOOK_SCALE``: CI proof, laptop-CPU teaching runs, Colab-GPU originals."""

DEFAULT_SCALE = "book"
SCALE_VARIABLE = "KBOOK_SCALE"


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


def quiet() -> None:
    """Silence the start-up noise of TensorFlow, absl and jieba so notebook outputs stay clean.

    Call it before the first ``import keras`` / ``import tensorflow``: TensorFlow reads
    ``TF_CPP_MIN_LOG_LEVEL`` and ``TF_ENABLE_ONEDNN_OPTS`` only at import time. With the
    TensorFlow backend it then imports TensorFlow itself, to quiet its Python logger too.

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
        try:
            import tensorflow as tf
        except ImportError:
            return
        tf.get_logger().setLevel(logging.ERROR)
