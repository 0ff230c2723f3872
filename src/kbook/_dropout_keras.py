"""The Keras layer of :mod:`kbook.dropout`: ``MCDropout``, dropout that stays on at inference.

See the chapter: notebooks/dropout.ipynb

Imports: Keras (and so its backend, TensorFlow by default) at module level, because the class
subclasses ``keras.layers.Dropout``. Do not import this module directly: ``kbook.dropout`` loads
it the first time the name is looked up (``kbook.dropout.MCDropout``), so that
``import kbook.dropout`` stays free of Keras. Importing it registers the class with Keras as
``kbook>MCDropout``, which is what ``keras.models.load_model`` needs.
"""

from __future__ import annotations

import keras

__all__ = ["MCDropout"]


@keras.saving.register_keras_serializable(package="kbook")
class MCDropout(keras.layers.Dropout):
    """A ``keras.layers.Dropout`` that stays active at inference (Monte Carlo dropout).

    Use it in place of ``Dropout`` when predictions should be samples from the approximate
    posterior of Gal & Ghahramani (2016); the ``training`` argument is ignored. Arguments are
    those of ``keras.layers.Dropout`` (``rate``, ``noise_shape``, ``seed``).

    Input and output shape: anything, unchanged.

    Example:
        >>> import numpy as np
        >>> layer = MCDropout(0.5, seed=1)
        >>> y = keras.ops.convert_to_numpy(layer(np.ones((2, 4))))  # dropped though not training
        >>> set(y.ravel().tolist()) <= {0.0, 2.0}
        True
    """

    def call(self, inputs, training=None):
        return super().call(inputs, training=True)
