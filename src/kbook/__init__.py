"""kbook: tested helpers behind the kbook book.

The spine is :mod:`kbook.config`, :mod:`kbook.data`, :mod:`kbook.plot`, :mod:`kbook.book` and
:mod:`kbook.autodiff`; ``config`` and ``data`` are imported here because they are light. Topic
modules (``kbook.dropout``, ``kbook.crf``, ...) are imported by name.

Imports: NumPy (through :mod:`kbook.data`); never Keras, TensorFlow or JAX, so the setup cell can
call :func:`kbook.config.quiet` before any of them loads.
"""

from kbook import config, data  # noqa: F401  (light: no Keras import at module level)

__version__ = "0.1.0"
__all__ = ["config", "data", "__version__"]
