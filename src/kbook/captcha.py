"""Reading fixed-length captchas: an Xception-style network with one softmax head per character.

- :func:`captcha_model` — separable-convolution blocks in the manner of Xception's entry flow
  (sized for a CPU) or ``keras.applications.Xception(weights=None)``, then one softmax head per
  character position; the output is (batch, length, n_classes);
- :func:`char_accuracy`, :func:`captcha_accuracy` — per-character and whole-captcha accuracy,
  as Keras metric functions (registered, so a saved model loads);
- :func:`decode` — probabilities to strings;
- :class:`CaptchaStream` — a ``keras.utils.PyDataset`` of fresh captchas every epoch.

The images come from :func:`kbook.data.captchas`. This module imports Keras at module level
(it defines Keras objects); no TensorFlow import of its own.

See the chapter: notebooks/captcha.ipynb
"""

from __future__ import annotations

import numbers

import keras
import numpy as np
from keras import ops

import kbook.data

__all__ = ["CaptchaStream", "HeightPooling", "captcha_accuracy", "captcha_model", "char_accuracy", "decode"]


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def _separable_block(x, filters, name, bn_momentum):
    """Xception's entry-flow block: two separable convolutions and a strided max-pool, plus a
    strided 1×1 convolution on the shortcut."""
    shortcut = keras.layers.Conv2D(filters, 1, strides=2, padding="same", use_bias=False, name=f"{name}_shortcut")(x)
    shortcut = keras.layers.BatchNormalization(momentum=bn_momentum, name=f"{name}_shortcut_bn")(shortcut)
    for i in (1, 2):
        x = keras.layers.Activation("relu", name=f"{name}_relu{i}")(x)
        x = keras.layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_sepconv{i}")(x)
        x = keras.layers.BatchNormalization(momentum=bn_momentum, name=f"{name}_bn{i}")(x)
    x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name=f"{name}_pool")(x)
    return keras.layers.Add(name=f"{name}_add")([x, shortcut])


def captcha_model(length: int, n_classes: int, input_shape=(60, 160, 3), *, backbone: str = "small",
                  width: int = 32, blocks: int = 3, dropout: float = 0.2, bn_momentum: float = 0.9) -> keras.Model:
    """Build the captcha reader: a convolutional backbone and one softmax head per position.

    The backbone's feature map is averaged over its height only, so that left-to-right position
    survives (averaging over the width as well would leave every head the same summary of the
    whole image), flattened, and read by ``length`` independent ``Dense(n_classes, softmax)``
    heads. The heads' outputs are stacked into one tensor so that one sparse categorical
    cross-entropy over (batch, length) labels trains all of them: Keras averages it over the
    heads and the batch, which is the per-head sum divided by the number of heads.

    Args:
        length: number of characters (heads), >= 1.
        n_classes: alphabet size, >= 2.
        input_shape: (height, width, 3) of the uint8 images (rescaled to [0, 1] inside).
        backbone: ``"small"`` (``blocks`` Xception entry-flow blocks of ``width``, ``2·width``,
            ... filters) or ``"xception"`` (``keras.applications.Xception``, random weights; the
            post's choice, for a GPU).
        width, blocks: size of the small backbone.
        dropout: rate before the heads.
        bn_momentum: momentum of the batch-normalisation moving averages; 0.9 (instead of Keras's
            0.99) lets them follow the weights during a short CPU-sized training run.

    Returns:
        An uncompiled ``keras.Model`` mapping (batch, height, width, 3) to (batch, length, n_classes).

    Example:
        >>> model = captcha_model(4, 10, input_shape=(40, 100, 3), width=8, blocks=2)
        >>> model.output_shape
        (None, 4, 10)

    See the chapter: notebooks/captcha.ipynb
    """
    length = _positive_int("length", length)
    n_classes = _positive_int("n_classes", n_classes)
    if n_classes < 2:
        raise ValueError(f"n_classes must be >= 2, got {n_classes}")
    width = _positive_int("width", width)
    blocks = _positive_int("blocks", blocks)
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 3 or input_shape[-1] != 3:
        raise ValueError(f"input_shape must be (height, width, 3), got {input_shape!r}")
    if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real):
        raise TypeError(f"dropout must be a number, got {type(dropout).__name__}")
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    if isinstance(bn_momentum, bool) or not isinstance(bn_momentum, numbers.Real):
        raise TypeError(f"bn_momentum must be a number, got {type(bn_momentum).__name__}")
    if not 0 <= bn_momentum < 1:
        raise ValueError(f"bn_momentum must be in [0, 1), got {bn_momentum}")

    inputs = keras.Input(tuple(input_shape), name="image")
    x = keras.layers.Rescaling(1 / 255, name="rescale")(inputs)
    if backbone == "small":
        x = keras.layers.Conv2D(width, 3, strides=2, padding="same", use_bias=False, name="stem_conv")(x)
        x = keras.layers.BatchNormalization(momentum=bn_momentum, name="stem_bn")(x)
        for b in range(blocks):
            x = _separable_block(x, width * 2 ** b, name=f"block{b + 1}", bn_momentum=bn_momentum)
        x = keras.layers.Activation("relu", name="features_relu")(x)
    elif backbone == "xception":
        x = keras.applications.Xception(include_top=False, weights=None, input_tensor=x).output
    else:
        raise ValueError(f"backbone must be 'small' or 'xception', got {backbone!r}")
    x = HeightPooling(name="mean_over_height")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    heads = [keras.layers.Dense(n_classes, activation="softmax", name=f"char_{i}")(x) for i in range(length)]
    heads = [keras.layers.Reshape((1, n_classes), name=f"char_{i}_row")(h) for i, h in enumerate(heads)]
    outputs = keras.layers.Concatenate(axis=1, name="stack_heads")(heads) if length > 1 else heads[0]
    return keras.Model(inputs, outputs, name=f"captcha_{backbone}")


@keras.saving.register_keras_serializable(package="kbook")
class HeightPooling(keras.layers.Layer):
    """Average a (batch, height, width, channels) feature map over its height: (batch, width, channels).

    Example:
        >>> import numpy as np
        >>> tuple(HeightPooling()(np.ones((2, 3, 5, 4), "float32")).shape)
        (2, 5, 4)
    """

    def call(self, inputs):
        return ops.mean(inputs, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[2:])


@keras.saving.register_keras_serializable(package="kbook")
def char_accuracy(y_true, y_pred):
    """Per-sample share of correctly read characters: (batch, length) labels, (batch, length, classes) probabilities.

    Example:
        >>> import numpy as np
        >>> probs = np.eye(3)[[[0, 1], [2, 2]]]           # predictions "01" and "22"
        >>> np.asarray(char_accuracy(np.array([[0, 1], [2, 0]]), probs)).tolist()
        [1.0, 0.5]
    """
    y_true = ops.cast(ops.reshape(y_true, ops.shape(y_pred)[:2]), "int32")
    hits = ops.cast(ops.equal(ops.cast(ops.argmax(y_pred, axis=-1), "int32"), y_true), "float32")
    return ops.mean(hits, axis=-1)


@keras.saving.register_keras_serializable(package="kbook")
def captcha_accuracy(y_true, y_pred):
    """Per-sample 1.0 if every character is right, else 0.0 (the accuracy a captcha solver is judged by).

    Example:
        >>> import numpy as np
        >>> probs = np.eye(3)[[[0, 1], [2, 2]]]
        >>> np.asarray(captcha_accuracy(np.array([[0, 1], [2, 0]]), probs)).tolist()
        [1.0, 0.0]
    """
    y_true = ops.cast(ops.reshape(y_true, ops.shape(y_pred)[:2]), "int32")
    hits = ops.equal(ops.cast(ops.argmax(y_pred, axis=-1), "int32"), y_true)
    return ops.cast(ops.all(hits, axis=-1), "float32")


def decode(probabilities, alphabet: str) -> list[str]:
    """Turn (batch, length, n_classes) probabilities into strings, taking each position's most likely character.

    Example:
        >>> import numpy as np
        >>> decode(np.eye(3)[[[2, 0, 1]]], "abc")
        ['cab']
    """
    if not isinstance(alphabet, str) or not alphabet:
        raise TypeError(f"alphabet must be a non-empty str, got {alphabet!r}")
    probabilities = np.asarray(probabilities)
    if probabilities.ndim != 3:
        raise ValueError(f"probabilities must be (batch, length, n_classes), got shape {probabilities.shape}")
    if probabilities.shape[-1] != len(alphabet):
        raise ValueError(f"probabilities have {probabilities.shape[-1]} classes but alphabet has {len(alphabet)} characters")
    return ["".join(alphabet[k] for k in row) for row in probabilities.argmax(axis=-1)]


class CaptchaStream(keras.utils.PyDataset):
    """Fresh captchas for every batch of every epoch: the training set is never repeated.

    Batch ``i`` of epoch ``e`` is ``kbook.data.captchas(batch_size, ..., seed=...)`` with a seed
    made from (``seed``, ``e``, ``i``), so a run is reproducible and no two batches are alike.

    Args:
        batch_size, steps: captchas per batch and batches per epoch.
        length, alphabet, width, height, font_sizes: passed to :func:`kbook.data.captchas`.
        seed: base seed.
        **kwargs: ``workers``, ``use_multiprocessing``, ``max_queue_size`` of ``PyDataset``.

    Example:
        >>> stream = CaptchaStream(batch_size=2, steps=3, width=100, height=40)
        >>> x, y = stream[0]
        >>> len(stream), x.shape, y.shape
        (3, (2, 40, 100, 3), (2, 4))
    """

    def __init__(self, batch_size: int, steps: int, length: int = 4, alphabet: str = kbook.data.CAPTCHA_DIGITS,
                 width: int = 160, height: int = 60, font_sizes=None, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.batch_size = _positive_int("batch_size", batch_size)
        self.steps = _positive_int("steps", steps)
        self.options = dict(length=length, alphabet=alphabet, width=width, height=height, font_sizes=font_sizes)
        self.seed = seed
        self.epoch = 0

    def __len__(self):
        return self.steps

    def __getitem__(self, index):
        if not 0 <= index < self.steps:
            raise IndexError(f"batch index {index} out of range for {self.steps} steps")
        seed = kbook.data.captcha_seed(kbook.data.captcha_seed(self.seed, self.epoch), index) % (2**32)
        return kbook.data.captchas(self.batch_size, seed=seed, **self.options)

    def on_epoch_end(self):
        self.epoch += 1
