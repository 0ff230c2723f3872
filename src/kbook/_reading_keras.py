"""The Keras parts of :mod:`kbook.reading`: the DGCNN block, the char-word embedding, question-passage
attention, the span head and loss, and the reader model.

See the chapter: notebooks/dgcnn-reading.ipynb

Imports: Keras (and so its backend, TensorFlow by default) at module level. Do not import this
module directly: ``kbook.reading`` loads it the first time one of its names is looked up
(``kbook.reading.DilatedGatedConv1D``), so that ``import kbook.reading`` stays free of Keras.
Importing it registers the layers as ``kbook>DilatedGatedConv1D`` and so on.

Masks: every layer here takes the mask Keras propagates from :class:`CharWordEmbedding` (True on
real characters, from ``char_ids != 0``) and keeps padded steps from changing real ones.
"""

from __future__ import annotations

import numbers

import keras
from keras import ops
from kbook.config import check_int as _check_int

__all__ = [
    "DilatedGatedConv1D",
    "CharWordEmbedding",
    "AttentionPooling",
    "QuestionAttention",
    "MaskedConcatenate",
    "SpanHead",
    "span_loss",
    "build_reader",
]

_NEG = -1e4  # a finite "minus infinity" for masked logits: exp(-1e4) is exactly 0 in float32


def _float_mask(mask, like):
    return ops.expand_dims(ops.cast(mask, like.dtype), -1)


def _masked_softmax(logits, mask):
    """Softmax over the last axis of ``logits`` restricted to ``mask``; all-masked rows give 0."""
    mask = ops.cast(mask, "bool")
    logits = ops.where(mask, logits, _NEG)
    logits = logits - ops.max(logits, axis=-1, keepdims=True)
    weights = ops.where(mask, ops.exp(logits), 0.0)
    total = ops.sum(weights, axis=-1, keepdims=True)
    return weights / ops.maximum(total, 1e-30)


@keras.saving.register_keras_serializable(package="kbook")
class DilatedGatedConv1D(keras.layers.Layer):
    """The DGCNN block: a residual, gated, dilated 1-D convolution.

    ``h = conv(x)`` has ``2 d`` channels, split into a value ``c`` and a gate ``g``; with
    ``σ = sigmoid(g)`` the output is ``x · (1 − σ) + c · σ``: each step chooses how much of itself
    to keep and how much of its (dilated) neighbourhood to take in. Padded steps are zeroed before
    the convolution and in the output, so they never change a real step's output.

    Args:
        kernel_size: odd int >= 1 (``"same"`` padding centres the window).
        dilation_rate: int >= 1; the layer sees ``(kernel_size - 1) * dilation_rate + 1`` steps.
        dropout: rate in [0, 1) of dropout on the value ``c`` during training.

    Shapes: ``(batch, T, d)`` → ``(batch, T, d)``; mask ``(batch, T)`` passes through.

    Example:
        >>> import numpy as np
        >>> layer = DilatedGatedConv1D(kernel_size=3, dilation_rate=2)
        >>> tuple(layer(np.ones((2, 7, 4), "float32")).shape)
        (2, 7, 4)
    """

    def __init__(self, kernel_size=3, dilation_rate=1, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.kernel_size = _check_int("kernel_size", kernel_size, 1)
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd (a centred window), got {kernel_size}")
        self.dilation_rate = _check_int("dilation_rate", dilation_rate, 1)
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0 <= dropout < 1:
            raise ValueError(f"dropout must be a rate in [0, 1), got {dropout!r}")
        self.dropout = float(dropout)
        self.supports_masking = True

    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError(f"DilatedGatedConv1D expects input (batch, T, d) with known d, got {input_shape}")
        self.conv = keras.layers.Conv1D(
            2 * input_shape[-1], self.kernel_size, dilation_rate=self.dilation_rate, padding="same", name="conv"
        )
        self.conv.build(input_shape)
        self.drop = keras.layers.Dropout(self.dropout)

    def call(self, inputs, mask=None, training=None):
        x = inputs
        if mask is not None:
            x = x * _float_mask(mask, x)
        value, gate = ops.split(self.conv(x), 2, axis=-1)
        value = self.drop(value, training=training)
        sigma = ops.sigmoid(gate)
        out = x * (1.0 - sigma) + value * sigma
        if mask is not None:
            out = out * _float_mask(mask, out)
        return out

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "kernel_size": self.kernel_size,
                "dilation_rate": self.dilation_rate, "dropout": self.dropout}


@keras.saving.register_keras_serializable(package="kbook")
class CharWordEmbedding(keras.layers.Layer):
    """Char-word mixed embedding: ``E_char[c_t] + W · E_word[w_t]`` at each character ``t``, where
    ``w_t`` is the id of the jieba word that contains character ``t``
    (:func:`kbook.reading.word_ids_per_char`).

    Args:
        char_vocab_size, word_vocab_size: ints >= 2 (id 0 is padding, 1 unknown).
        output_dim: int >= 1, the embedding size.
        word_dim: int >= 1, the word vectors' size before the projection ``W`` (default
            ``output_dim``).

    Inputs: ``[char_ids, word_ids]``, two int arrays ``(batch, T)``. Output ``(batch, T,
    output_dim)``, with mask ``char_ids != 0``.

    Example:
        >>> import numpy as np
        >>> layer = CharWordEmbedding(10, 5, 4)
        >>> tuple(layer([np.array([[3, 4, 0]]), np.array([[2, 2, 0]])]).shape)
        (1, 3, 4)
    """

    def __init__(self, char_vocab_size, word_vocab_size, output_dim, word_dim=None, **kwargs):
        super().__init__(**kwargs)
        self.char_vocab_size = _check_int("char_vocab_size", char_vocab_size, 2)
        self.word_vocab_size = _check_int("word_vocab_size", word_vocab_size, 2)
        self.output_dim = _check_int("output_dim", output_dim, 1)
        self.word_dim = self.output_dim if word_dim is None else _check_int("word_dim", word_dim, 1)
        self.chars = keras.layers.Embedding(self.char_vocab_size, self.output_dim, name="chars")
        self.words = keras.layers.Embedding(self.word_vocab_size, self.word_dim, name="words")
        self.project = keras.layers.Dense(self.output_dim, use_bias=False, name="project")
        self.supports_masking = True  # Keras attaches compute_mask's result only when this is set

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 2:
            raise ValueError("CharWordEmbedding expects two inputs, [char_ids, word_ids]")
        self.chars.build(input_shape[0])
        self.words.build(input_shape[1])
        self.project.build(tuple(input_shape[1]) + (self.word_dim,))

    def call(self, inputs):
        chars, words = inputs
        return self.chars(chars) + self.project(self.words(words))

    def compute_mask(self, inputs, mask=None):
        return ops.not_equal(inputs[0], 0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0]) + (self.output_dim,)

    def get_config(self):
        return {**super().get_config(), "char_vocab_size": self.char_vocab_size,
                "word_vocab_size": self.word_vocab_size, "output_dim": self.output_dim,
                "word_dim": self.word_dim}


@keras.saving.register_keras_serializable(package="kbook")
class AttentionPooling(keras.layers.Layer):
    """Masked attention pooling: ``Σ_t softmax_t(v · tanh(W x_t)) x_t`` over the real steps.

    Shapes: ``(batch, T, d)`` → ``(batch, d)``; a row with no real step pools to 0.

    Example:
        >>> import numpy as np
        >>> tuple(AttentionPooling(8)(np.ones((2, 5, 3), "float32")).shape)
        (2, 3)
    """

    def __init__(self, units=64, **kwargs):
        super().__init__(**kwargs)
        self.units = _check_int("units", units, 1)
        self.hidden = keras.layers.Dense(self.units, activation="tanh", name="hidden")
        self.score = keras.layers.Dense(1, use_bias=False, name="score")
        self.supports_masking = True

    def build(self, input_shape):
        self.hidden.build(input_shape)
        self.score.build(tuple(input_shape[:-1]) + (self.units,))

    def call(self, inputs, mask=None):
        logits = ops.squeeze(self.score(self.hidden(inputs)), -1)
        if mask is None:
            mask = ops.ones(ops.shape(logits), dtype="bool")
        weights = _masked_softmax(logits, mask)
        return ops.sum(inputs * ops.expand_dims(weights, -1), axis=1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="kbook")
class QuestionAttention(keras.layers.Layer):
    """Question-passage attention: each passage step reads the question.

    For passage step ``t`` and question step ``j``, ``a_tj = softmax_j((W_p p_t) · (W_q q_j) /
    √units)`` over the real question steps; the output at ``t`` is ``[Σ_j a_tj q_j, q̄]``, where
    ``q̄`` is the question's attention-pooled summary (:class:`AttentionPooling`), the same at
    every step. Padded passage steps output 0.

    Inputs: ``[passage (batch, Tp, dp), question (batch, Tq, dq)]`` with their masks. Output
    ``(batch, Tp, 2 dq)`` with the passage's mask.

    Example:
        >>> import numpy as np
        >>> layer = QuestionAttention(8)
        >>> tuple(layer([np.ones((2, 6, 4), "float32"), np.ones((2, 3, 5), "float32")]).shape)
        (2, 6, 10)
    """

    def __init__(self, units=64, **kwargs):
        super().__init__(**kwargs)
        self.units = _check_int("units", units, 1)
        self.query = keras.layers.Dense(self.units, use_bias=False, name="query")
        self.key = keras.layers.Dense(self.units, use_bias=False, name="key")
        self.pool = AttentionPooling(self.units, name="pool")
        self.supports_masking = True

    def build(self, input_shape):
        passage, question = input_shape
        self.query.build(passage)
        self.key.build(question)
        self.pool.build(question)

    def call(self, inputs, mask=None):
        passage, question = inputs
        p_mask, q_mask = mask if mask is not None else (None, None)
        if q_mask is None:
            q_mask = ops.ones(ops.shape(question)[:2], dtype="bool")
        logits = ops.einsum("bpu,bqu->bpq", self.query(passage), self.key(question)) / self.units**0.5
        weights = _masked_softmax(logits, ops.expand_dims(q_mask, 1))
        read = ops.einsum("bpq,bqd->bpd", weights, question)
        summary = self.pool(question, mask=q_mask)
        summary = ops.broadcast_to(ops.expand_dims(summary, 1), ops.shape(read))
        out = ops.concatenate([read, summary], axis=-1)
        if p_mask is not None:
            out = out * _float_mask(p_mask, out)
        return out

    def compute_mask(self, inputs, mask=None):
        return None if mask is None else mask[0]

    def compute_output_shape(self, input_shape):
        passage, question = input_shape
        return (passage[0], passage[1], 2 * question[-1])

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="kbook")
class MaskedConcatenate(keras.layers.Layer):
    """Concatenate on the last axis and keep the first input's mask.

    (``keras.layers.Concatenate`` combines its inputs' masks; with an unmasked feature input among
    them the result marked every step real in Keras 3.15, so padding leaked into the passage.)

    Example:
        >>> import numpy as np
        >>> tuple(MaskedConcatenate()([np.ones((1, 4, 2)), np.ones((1, 4, 1))]).shape)
        (1, 4, 3)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        return ops.concatenate([ops.cast(x, self.compute_dtype) for x in inputs], axis=-1)

    def compute_mask(self, inputs, mask=None):
        return None if mask is None else mask[0]

    def compute_output_shape(self, input_shape):
        last = [shape[-1] for shape in input_shape]
        total = None if any(d is None for d in last) else sum(last)
        return tuple(input_shape[0][:-1]) + (total,)


@keras.saving.register_keras_serializable(package="kbook")
class SpanHead(keras.layers.Layer):
    """Start and end logits per step, ``(batch, T, d)`` → ``(batch, T, 2)``; padded steps get
    ``-1e4`` (their softmax weight is exactly 0). Returns no mask, so a loss sees every row whole.

    Example:
        >>> import numpy as np
        >>> tuple(SpanHead()(np.ones((2, 5, 3), "float32")).shape)
        (2, 5, 2)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(2, name="dense")
        self.supports_masking = True

    def build(self, input_shape):
        self.dense.build(input_shape)

    def call(self, inputs, mask=None):
        logits = self.dense(inputs)
        if mask is not None:
            logits = ops.where(ops.expand_dims(ops.cast(mask, "bool"), -1), logits, _NEG)
        return logits

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (2,)


@keras.saving.register_keras_serializable(package="kbook")
def span_loss(y_true, y_pred):
    """Negative log-likelihood of the answer's start and of its end, marginalised over every
    occurrence of the answer: ``Σ_{k ∈ {start, end}} [logsumexp_t z_tk − logsumexp_{t: y_tk = 1} z_tk]``.

    Args:
        y_true: ``(batch, T, 2)`` 0/1 indicators of answer starts (``[..., 0]``) and ends
            (``[..., 1]``); each row needs at least one 1 in each channel.
        y_pred: ``(batch, T, 2)`` logits (:class:`SpanHead`).

    Returns:
        ``(batch,)`` losses.

    Example:
        >>> import numpy as np
        >>> y = np.zeros((1, 3, 2), "float32"); y[0, 1] = 1
        >>> round(float(span_loss(y, np.zeros((1, 3, 2), "float32"))[0]), 4)  # 2 log 3
        2.1972
    """
    y_pred = ops.convert_to_tensor(y_pred)
    positive = ops.cast(y_true, "bool")
    everything = ops.logsumexp(y_pred, axis=1)
    answers = ops.logsumexp(ops.where(positive, y_pred, _NEG * 100), axis=1)
    return ops.sum(everything - answers, axis=-1)


def build_reader(char_vocab_size, word_vocab_size, dim=64, question_dilations=(1, 2, 1),
                 passage_dilations=(1, 2, 4, 8, 1), kernel_size=3, dropout=0.1, n_features=2,
                 name="dgcnn_reader"):
    """The DGCNN reader: mixed embeddings, DGCNN blocks on the question and on the passage,
    question-passage attention and a span head.

    Inputs (in this order): ``question_chars``, ``question_words`` (int ``(batch, Tq)``),
    ``passage_chars``, ``passage_words`` (int ``(batch, Tp)``), ``passage_features`` (float
    ``(batch, Tp, n_features)``, e.g. :func:`kbook.reading.encode_examples`'s question-match and
    candidate indicators). Output: span
    logits ``(batch, Tp, 2)``, to train with :func:`span_loss` and decode with
    :func:`kbook.reading.best_span`. One embedding is shared by question and passage.

    Example:
        >>> model = build_reader(50, 30, dim=8)
        >>> [tuple(t.shape) for t in model.inputs][:2], tuple(model.output.shape)
        ([(None, None), (None, None)], (None, None, 2))
    """
    dim = _check_int("dim", dim, 1)
    q_chars = keras.Input((None,), dtype="int32", name="question_chars")
    q_words = keras.Input((None,), dtype="int32", name="question_words")
    p_chars = keras.Input((None,), dtype="int32", name="passage_chars")
    p_words = keras.Input((None,), dtype="int32", name="passage_words")
    p_match = keras.Input((None, _check_int("n_features", n_features, 1)), dtype="float32",
                          name="passage_features")
    embed = CharWordEmbedding(char_vocab_size, word_vocab_size, dim, name="embedding")
    q = keras.layers.Dropout(dropout, name="question_dropout")(embed([q_chars, q_words]))
    for i, rate in enumerate(question_dilations):
        q = DilatedGatedConv1D(kernel_size, rate, dropout=dropout, name=f"question_dgc{i}")(q)
    p = keras.layers.Dropout(dropout, name="passage_dropout")(embed([p_chars, p_words]))
    read = QuestionAttention(dim, name="question_attention")([p, q])
    h = MaskedConcatenate(name="fuse")([p, read, p_match])
    h = keras.layers.Dense(dim, name="fuse_projection")(h)
    for i, rate in enumerate(passage_dilations):
        h = DilatedGatedConv1D(kernel_size, rate, dropout=dropout, name=f"passage_dgc{i}")(h)
    logits = SpanHead(name="span")(h)
    return keras.Model([q_chars, q_words, p_chars, p_words, p_match], logits, name=name)
