"""kbook: tested helpers behind the kbook book.

The spine (:mod:`kbook.config`, :mod:`kbook.data`, :mod:`kbook.plot`, :mod:`kbook.book`) is
imported eagerly because it is light; topic modules (``kbook.dropout``, ``kbook.crf``, ...) are
imported by name, so that ``import kbook`` never pulls in TensorFlow.
"""

from kbook import config, data  # noqa: F401  (light: no Keras import at module level)

__version__ = "0.1.0"
__all__ = ["config", "data", "__version__"]
