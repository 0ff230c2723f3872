"""The Keras parts of :mod:`kbook.word2vec`: the sampled softmax loss, its layer, the model and the
``PyDataset`` that streams training examples.

See the chapter: notebooks/word2vec.ipynb

Imports: Keras (and so its active backend) at module level. Do not import this module directly:
``kbook.word2vec`` loads it the first time one of its names is looked up
(``kbook.word2vec.SampledSoftmax``, ...). Importing it registers ``kbook>SampledSoftmax`` and
``kbook>Word2VecModel`` with Keras, which ``keras.models.load_model`` needs.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kbook.word2vec import PairPlan, _check_int

__all__ = ["sampled_softmax_loss", "full_softmax_loss", "SampledSoftmax", "Word2VecModel", "PairDataset"]

_HIT = -1e9  # logit given to a sampled word that is the true word (an "accidental hit")


def sampled_softmax_loss(hidden, targets, weights, sampled, log_q=None, remove_accidental_hits=True):
    """Cross-entropy of a softmax over the true word and a sample of words, in ``keras.ops``.

    The logit of word ``j`` is ``hidden · weights[j]`` (no bias). The softmax runs over the
    target's logit and the sampled words' logits only. With ``log_q`` (the log of the sampling
    probabilities) every logit is corrected by subtracting ``log q(j)`` (Jean et al., 2015), which
    makes the gradient a consistent estimate of the full softmax's as the sample grows; with a
    uniform ``q`` the correction is a constant and changes nothing. A sampled word equal to the
    target is masked out (its logit set to -1e9) when ``remove_accidental_hits``.

    Args:
        hidden: (B, d) float, the hidden vectors.
        targets: (B,) int, the true words.
        weights: (V, d) float, the softmax weights (the embedding matrix when tied).
        sampled: (K,) int, words shared by the whole batch, or (B, K) int, per example.
        log_q: None, or (V,) float, log sampling probabilities.

    Returns:
        (B,) per-example losses, ``logsumexp(logits) - true_logit`` (non-negative, finite).

    Example:
        >>> import numpy as np
        >>> h = np.array([[1.0, 0.0]]); w = np.array([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
        >>> loss = sampled_softmax_loss(h, np.array([0]), w, np.array([1, 2]))
        >>> round(float(ops.convert_to_numpy(loss)[0]), 4)  # log(e^2 + e^0 + e^1) - 2
        0.4076
    """
    hidden = ops.convert_to_tensor(hidden)
    targets = ops.cast(targets, "int32")
    sampled = ops.cast(sampled, "int32")
    weights = ops.cast(weights, hidden.dtype)
    true_logit = ops.sum(hidden * ops.take(weights, targets, axis=0), axis=-1)  # (B,)
    if len(sampled.shape) == 1:
        sampled_logits = ops.matmul(hidden, ops.transpose(ops.take(weights, sampled, axis=0)))  # (B, K)
        hits = ops.equal(targets[:, None], sampled[None, :])
    else:
        sampled_logits = ops.einsum("bd,bkd->bk", hidden, ops.take(weights, sampled, axis=0))
        hits = ops.equal(targets[:, None], sampled)
    if log_q is not None:
        log_q = ops.cast(log_q, hidden.dtype)
        true_logit = true_logit - ops.take(log_q, targets, axis=0)
        sampled_logits = sampled_logits - ops.take(log_q, sampled, axis=0)
    if remove_accidental_hits:
        sampled_logits = ops.where(hits, ops.cast(_HIT, hidden.dtype), sampled_logits)
    logits = ops.concatenate([true_logit[:, None], sampled_logits], axis=-1)
    return ops.logsumexp(logits, axis=-1) - true_logit


def full_softmax_loss(hidden, targets, weights):
    """Cross-entropy of the full softmax over all V words, logits ``hidden @ weights.T`` (no bias).

    Args:
        hidden: (B, d); targets: (B,) int; weights: (V, d).

    Returns:
        (B,) per-example losses.

    Example:
        >>> import numpy as np
        >>> h = np.array([[1.0, 0.0]]); w = np.array([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
        >>> round(float(ops.convert_to_numpy(full_softmax_loss(h, np.array([0]), w))[0]), 4)
        0.4076
    """
    hidden = ops.convert_to_tensor(hidden)
    weights = ops.cast(weights, hidden.dtype)
    logits = ops.matmul(hidden, ops.transpose(weights))
    true_logit = ops.sum(hidden * ops.take(weights, ops.cast(targets, "int32"), axis=0), axis=-1)
    return ops.logsumexp(logits, axis=-1) - true_logit


@keras.saving.register_keras_serializable(package="kbook")
class SampledSoftmax(keras.layers.Layer):
    """Softmax over a vocabulary without bias, trained by a sampled ("random") softmax.

    ``call(hidden, targets, weights=None, training=None)`` returns the (B,) per-example loss: in
    training, over the target and ``num_sampled`` words drawn from the sampling distribution
    (once per batch with ``shared=True``, else per example) with the ``log q`` correction; at
    inference, or with ``num_sampled=None``, over the full vocabulary. ``weights`` (V, d) are the
    tied embedding matrix; if None, the layer uses its own ``kernel`` (untied weights).

    Args:
        vocab_size: V. dim: d. num_sampled: K, or None for the full softmax.
        own_weights: create a (V, d) ``kernel`` (for untied use).
        shared: one sample per batch (True) or one per example.
        probabilities: (V,) sampling distribution (uniform if None). It is stored in the layer's
            weights (``log_q``, ``cdf``), not in its config, so a saved model keeps it.
        seed: seed of the sampler.

    Example:
        >>> import numpy as np
        >>> layer = SampledSoftmax(vocab_size=5, dim=3, num_sampled=2, own_weights=True, seed=0)
        >>> loss = layer(np.ones((4, 3), "float32"), np.array([0, 1, 2, 3]), training=True)
        >>> tuple(loss.shape)
        (4,)
    """

    def __init__(self, vocab_size, dim, num_sampled=None, own_weights=False, shared=True, probabilities=None,
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = _check_int("vocab_size", vocab_size, 1)
        self.dim = _check_int("dim", dim, 1)
        self.num_sampled = _check_int("num_sampled", num_sampled, 1, allow_none=True)
        self.own_weights = bool(own_weights)
        self.shared = bool(shared)
        self.seed = seed
        if probabilities is None:
            probabilities = np.full(self.vocab_size, 1.0 / self.vocab_size)
        probabilities = np.asarray(probabilities, dtype=np.float64)
        if probabilities.shape != (self.vocab_size,) or np.any(probabilities <= 0) or not np.isfinite(probabilities).all():
            raise ValueError(
                f"probabilities must be a positive array of shape ({self.vocab_size},), got shape {probabilities.shape}"
            )
        self._initial = probabilities / probabilities.sum()
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.build()

    def build(self, input_shape=None):
        if self.built:
            return
        cdf = np.cumsum(self._initial)
        cdf[-1] = 1.0
        self.log_q = self.add_weight(shape=(self.vocab_size,), name="log_q", trainable=False,
                                     initializer=keras.initializers.Constant(np.log(self._initial).astype("float32")))
        self.cdf = self.add_weight(shape=(self.vocab_size,), name="cdf", trainable=False,
                                   initializer=keras.initializers.Constant(cdf.astype("float32")))
        self.kernel = None
        if self.own_weights:
            self.kernel = self.add_weight(shape=(self.vocab_size, self.dim), name="kernel",
                                          initializer=keras.initializers.RandomUniform(-0.05, 0.05))
        self.built = True

    def sample(self, shape):
        """Word ids drawn from the sampling distribution (inverse CDF), int32 of ``shape``."""
        u = keras.random.uniform(shape, seed=self.seed_generator)
        flat = ops.searchsorted(self.cdf, ops.reshape(u, (-1,)), side="right")
        return ops.reshape(ops.minimum(ops.cast(flat, "int32"), self.vocab_size - 1), shape)

    def call(self, hidden, targets, weights=None, training=None):
        if weights is None:
            if self.kernel is None:
                raise ValueError("weights must be given to a SampledSoftmax created with own_weights=False")
            weights = self.kernel
        if self.num_sampled is None or not training:
            return full_softmax_loss(hidden, targets, weights)
        if self.shared:
            sampled = self.sample((self.num_sampled,))
        else:
            sampled = self.sample((ops.shape(hidden)[0], self.num_sampled))
        return sampled_softmax_loss(hidden, targets, weights, sampled, log_q=self.log_q)

    def get_config(self):
        config = super().get_config()
        config.update(vocab_size=self.vocab_size, dim=self.dim, num_sampled=self.num_sampled,
                      own_weights=self.own_weights, shared=self.shared, seed=self.seed)
        return config


@keras.saving.register_keras_serializable(package="kbook")
class Word2VecModel(keras.Model):
    """CBOW / skip-gram: hidden = masked mean of the context embeddings, softmax without bias.

    Input: a dict ``{"context": (B, C) int (-1 pads), "target": (B,) int}``; for skip-gram
    ``C = 1`` (the centre word). Output: the hidden vectors (B, d). In training the layer adds the
    (sampled or full) softmax loss with ``add_loss``, so ``compile`` needs only an optimizer.

    Example:
        >>> import numpy as np
        >>> model = Word2VecModel(vocab_size=6, dim=4, context_size=2, num_sampled=3, seed=0)
        >>> x = {"context": np.array([[1, 2], [3, -1]]), "target": np.array([0, 4])}
        >>> tuple(model(x).shape)
        (2, 4)
    """

    def __init__(self, vocab_size, dim, context_size, num_sampled=None, tie_weights=True, shared_samples=True,
                 seed=None, probabilities=None, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = _check_int("vocab_size", vocab_size, 1)
        self.dim = _check_int("dim", dim, 1)
        self.context_size = _check_int("context_size", context_size, 1)
        self.num_sampled = num_sampled
        self.tie_weights = bool(tie_weights)
        self.shared_samples = bool(shared_samples)
        self.seed = seed
        self.embedding = keras.layers.Embedding(self.vocab_size, self.dim, name="embedding")
        self.embedding.build((None,))
        self.softmax = SampledSoftmax(self.vocab_size, self.dim, num_sampled=num_sampled,
                                      own_weights=not self.tie_weights, shared=shared_samples,
                                      probabilities=probabilities, seed=seed, name="softmax")
        self.built = True

    def hidden(self, context):
        """(B, C) ids with -1 pads -> (B, d) mean of the valid context embeddings."""
        context = ops.cast(context, "int32")
        mask = ops.cast(ops.greater_equal(context, 0), self.embedding.embeddings.dtype)
        vectors = ops.take(self.embedding.embeddings, ops.maximum(context, 0), axis=0)
        total = ops.sum(vectors * mask[..., None], axis=1)
        return total / ops.maximum(ops.sum(mask, axis=1, keepdims=True), 1.0)

    def call(self, inputs, training=None):
        hidden = self.hidden(inputs["context"])
        if training:
            weights = self.embedding.embeddings if self.tie_weights else None
            self.add_loss(ops.mean(self.softmax(hidden, inputs["target"], weights, training=True)))
        return hidden

    def loss_on(self, inputs, sampled=False):
        """Mean loss on a batch: the full softmax (``sampled=False``) or one sampled draw."""
        hidden = self.hidden(inputs["context"])
        weights = self.embedding.embeddings if self.tie_weights else None
        return ops.mean(self.softmax(hidden, inputs["target"], weights, training=sampled))

    def get_config(self):
        return {"vocab_size": self.vocab_size, "dim": self.dim, "context_size": self.context_size,
                "num_sampled": self.num_sampled, "tie_weights": self.tie_weights,
                "shared_samples": self.shared_samples, "seed": self.seed, "name": self.name}


class PairDataset(keras.utils.PyDataset):
    """A ``keras.utils.PyDataset`` of word2vec batches: a fresh :class:`~kbook.word2vec.PairPlan`
    (subsampling, windows, order) each epoch, seeded by ``(seed, epoch)``; batches are generated on
    demand. The number of batches is fixed by the first epoch (later epochs, whose subsampling
    differs slightly, wrap around or stop early) so that every epoch has the same length.

    Each item is ``{"context": (B, C) int32, "target": (B,) int32}``.
    """

    def __init__(self, ids, sentence, *, window, mode, batch_size, seed=0, keep=None, shrink=True, **kwargs):
        super().__init__(**kwargs)
        self._args = dict(window=window, mode=mode, batch_size=batch_size, keep=keep, shrink=shrink)
        self._ids, self._sentence, self._seed, self._epoch = ids, sentence, seed, 0
        self.plan = self._plan()
        self._len = len(self.plan)
        self.examples_per_epoch = self._len * batch_size
        self.tokens_per_epoch = self.plan.n_tokens

    def _plan(self):
        rng = np.random.default_rng([self._seed, self._epoch])
        return PairPlan(self._ids, self._sentence, seed=rng, **self._args)

    def __len__(self):
        return self._len

    def __getitem__(self, number):
        context, target = self.plan.batch(number % len(self.plan))
        return {"context": context, "target": target}

    def on_epoch_end(self):
        self._epoch += 1
        self.plan = self._plan()
