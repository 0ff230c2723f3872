"""The Keras parts of :mod:`kbook.linking`: the context-description scorer and a model around it.

See the chapter: notebooks/entity-linking.ipynb

Imports: Keras (and so its backend) at module level. Do not import this module directly:
``kbook.linking`` loads it the first time ``ContextDescriptionScorer`` or ``link_model`` is looked
up, so that ``import kbook.linking`` stays free of Keras. Importing it registers the layer with
Keras as ``kbook>ContextDescriptionScorer``, which ``keras.models.load_model`` needs.
"""

from __future__ import annotations

import numbers

import keras
from keras import ops

__all__ = ["ContextDescriptionScorer", "link_model"]

_NEG = -1e9


def _masked_max(x, mask):
    """Max over axis 1 of x (B, L, D) where mask (B, L) is 1; 0 for a row with no real step."""
    filled = ops.where(mask[..., None] > 0, x, _NEG)
    has_any = ops.max(mask, axis=1, keepdims=True) > 0
    return ops.where(has_any, ops.max(filled, axis=1), 0.0)


def _attend(query, keys, key_mask, scale):
    """Softmax attention of every query step over the real key steps: (B, Lq, D)."""
    logits = ops.einsum("bid,bjd->bij", query, keys) * scale
    logits = ops.where(key_mask[:, None, :] > 0, logits, _NEG)
    return ops.einsum("bij,bjd->bid", ops.softmax(logits, axis=-1), keys)


@keras.saving.register_keras_serializable(package="kbook")
class ContextDescriptionScorer(keras.layers.Layer):
    """Score how well a candidate's description fits a mention in its context: one logit.

    The post's model of the choice, on characters: the context (with two indicator features per
    character, "in the mention" and "in the candidate's keywords") and the description share a
    character embedding and are each encoded by a convolution; each side attends to the other
    (masked softmax over the other side's real characters); both sides are max-pooled over their
    real characters; the mention's own encoding is averaged; a two-layer head maps the
    concatenation (plus ``log p(entity | alias)`` when ``use_prior``) to a logit. Padding (id 0)
    never changes the logit.

    Args:
        vocabulary_size: number of character ids (0 = padding).
        dim: width of the embedding and the encoders.
        kernel_size: width of the convolutions.
        dropout: dropout rate before the head (training only).
        use_prior: whether the log prior enters the head (the post's model reads text only: False).

    Call arguments:
        inputs: a dict with ``context`` (B, Lc) int, ``features`` (B, Lc, 2) float,
            ``description`` (B, Ld) int and ``prior`` (B, 1) float (ignored unless ``use_prior``).

    Returns:
        (B, 1) logits.

    Example:
        >>> import numpy as np
        >>> scorer = ContextDescriptionScorer(vocabulary_size=10, dim=8)
        >>> out = scorer({"context": np.array([[2, 3, 0]]), "features": np.zeros((1, 3, 2)),
        ...               "description": np.array([[4, 5]]), "prior": np.zeros((1, 1))})
        >>> tuple(out.shape)
        (1, 1)
    """

    def __init__(self, vocabulary_size, dim=64, kernel_size=3, dropout=0.1, use_prior=False, **kwargs):
        super().__init__(**kwargs)
        for name, value, low in (("vocabulary_size", vocabulary_size, 2), ("dim", dim, 1), ("kernel_size", kernel_size, 1)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError(f"{name} must be an int, got {type(value).__name__}")
            if value < low:
                raise ValueError(f"{name} must be at least {low}, got {value}")
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0 <= dropout < 1:
            raise ValueError(f"dropout must be a rate in [0, 1), got {dropout!r}")
        if not isinstance(use_prior, bool):
            raise TypeError(f"use_prior must be a bool, got {type(use_prior).__name__}")
        self.vocabulary_size, self.dim, self.kernel_size = int(vocabulary_size), int(dim), int(kernel_size)
        self.dropout, self.use_prior = float(dropout), use_prior
        self.embedding = keras.layers.Embedding(self.vocabulary_size, self.dim, name="embedding")
        self.context_in = keras.layers.Dense(self.dim, name="context_in")
        self.context_conv = keras.layers.Conv1D(self.dim, self.kernel_size, padding="same", activation="relu",
                                                name="context_conv")
        self.description_conv = keras.layers.Conv1D(self.dim, self.kernel_size, padding="same", activation="relu",
                                                    name="description_conv")
        self.query = keras.layers.Dense(self.dim, use_bias=False, name="query")
        self.key = keras.layers.Dense(self.dim, use_bias=False, name="key")
        self.drop = keras.layers.Dropout(self.dropout)
        self.hidden = keras.layers.Dense(self.dim, activation="relu", name="hidden")
        self.out = keras.layers.Dense(1, name="logit")

    def build(self, input_shape):
        features = input_shape["features"][-1]
        self.embedding.build((None, None))
        self.context_in.build((None, None, self.dim + features))
        self.context_conv.build((None, None, self.dim))
        self.description_conv.build((None, None, self.dim))
        self.query.build((None, None, self.dim))
        self.key.build((None, None, self.dim))
        self.hidden.build((None, 5 * self.dim + (1 if self.use_prior else 0)))
        self.out.build((None, self.dim))

    def call(self, inputs, training=None):
        dtype = self.compute_dtype
        context, description = inputs["context"], inputs["description"]
        cmask = ops.cast(context > 0, dtype)
        dmask = ops.cast(description > 0, dtype)
        features = ops.cast(inputs["features"], dtype)
        c = ops.concatenate([self.embedding(context), features], axis=-1)
        c = self.context_in(c) * cmask[..., None]  # zero the padding before the convolution
        c = self.context_conv(c) * cmask[..., None]
        d = self.embedding(description) * dmask[..., None]
        d = self.description_conv(d) * dmask[..., None]
        scale = 1.0 / float(self.dim) ** 0.5
        qc, kd = self.query(c), self.key(d)
        c_from_d = _attend(qc, kd, dmask, scale) * cmask[..., None]
        d_from_c = _attend(self.query(d), self.key(c), cmask, scale) * dmask[..., None]
        in_mention = features[..., 0] * cmask
        mention = ops.sum(c * in_mention[..., None], axis=1) / ops.maximum(ops.sum(in_mention, axis=1, keepdims=True), 1.0)
        parts = [_masked_max(c, cmask), _masked_max(c_from_d, cmask), _masked_max(d, dmask),
                 _masked_max(d_from_c, dmask), mention]
        if self.use_prior:
            parts.append(ops.cast(inputs["prior"], dtype))
        h = self.hidden(self.drop(ops.concatenate(parts, axis=-1), training=training))
        return self.out(h)

    def compute_output_shape(self, input_shape):
        return (input_shape["context"][0], 1)

    def get_config(self):
        config = super().get_config()
        config.update(vocabulary_size=self.vocabulary_size, dim=self.dim, kernel_size=self.kernel_size,
                      dropout=self.dropout, use_prior=self.use_prior)
        return config


def link_model(vocabulary_size, dim=64, kernel_size=3, dropout=0.1, use_prior=False, learning_rate=2e-3):
    """A compiled Keras model around :class:`ContextDescriptionScorer`, trained as the post trains
    its linker: each (mention, candidate) pair is a binary example (is this the right entity?),
    with sigmoid cross-entropy on the logit.

    Inputs (a dict): ``context`` (B, Lc) int32, ``features`` (B, Lc, 2), ``description`` (B, Ld)
    int32, ``prior`` (B, 1), as :func:`kbook.linking.encode_pairs` makes them. Output: (B, 1) logits.

    Example:
        >>> model = link_model(vocabulary_size=10, dim=8)
        >>> sorted(tensor.name for tensor in model.inputs)
        ['context', 'description', 'features', 'prior']
    """
    inputs = {
        "context": keras.Input((None,), dtype="int32", name="context"),
        "features": keras.Input((None, 2), name="features"),
        "description": keras.Input((None,), dtype="int32", name="description"),
        "prior": keras.Input((1,), name="prior"),
    }
    scorer = ContextDescriptionScorer(vocabulary_size, dim=dim, kernel_size=kernel_size, dropout=dropout,
                                      use_prior=use_prior, name="scorer")
    model = keras.Model(inputs, scorer(inputs), name="linker")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True))
    return model
