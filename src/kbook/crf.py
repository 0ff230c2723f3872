"""A linear-chain conditional random field (CRF) in Keras 3, written with ``keras.ops`` only.

See the chapter: notebooks/crf.ipynb

Conventions (the same in every function):

* ``potentials`` — float ``(batch, T, K)``: the score of tag ``k`` at step ``t`` (the output of an
  encoder, often called emissions or unary scores);
* ``tags`` — int ``(batch, T)`` with values in ``[0, K)``;
* ``transitions`` — float ``(K, K)``: ``transitions[i, j]`` is the score of tag ``i`` followed by
  tag ``j``;
* ``mask`` — bool ``(batch, T)`` or None (every step valid). The valid steps of a row must form a
  prefix (``1 1 1 0 0``), as produced by right-padding; what padded steps hold never matters;
* ``start_transitions`` / ``end_transitions`` — optional float ``(K,)`` scores for the first and
  the last valid tag. Without them (the default, as in Su Jianlin's post) a path's score is the sum
  of its potentials and transitions.

A row with no valid step has exactly one (empty) path, of score 0: its log Z and log-likelihood are
0 and its decoded tags are all 0.

Value checks (tags in range, prefix masks) run when the inputs are concrete arrays (eager
TensorFlow, NumPy, JAX outside ``jit``); inside compiled functions only shapes are checked.

Imports: Keras (hence its backend) and NumPy at module import; nothing else. The BMES decoder
:func:`words_from_tags` lives in the spine (:mod:`kbook.data`, which needs it to read the corpus)
and is re-exported here.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kbook.data import BMES, _tag_letters, words_from_tags

__all__ = [
    "crf_path_score",
    "crf_log_norm",
    "crf_log_likelihood",
    "crf_marginals",
    "viterbi_decode",
    "mask_from_output",
    "PAD_SCORE",
    "CRF",
    "CRFLoss",
    "CRFAccuracy",
    "BMES",
    "bmes_tags",
    "words_from_tags",
    "bmes_violations",
    "segmentation_prf",
]

_NEG = -1e30  # "log 0" for padding elements of the parallel form; finite so that 0 * it is 0


# --------------------------------------------------------------------------- input checking


def _concrete(x):
    """Return ``x`` as a NumPy array if it has a value now (eager), else None (symbolic/traced)."""
    try:
        return np.asarray(ops.convert_to_numpy(x))
    except Exception:  # symbolic tf.Tensor, JAX tracer, KerasTensor: no value to check yet
        return None


def _float_tensor(x, name):
    if isinstance(x, keras.Variable):
        x = x.value
    try:
        x = ops.convert_to_tensor(x)
    except Exception as error:
        raise TypeError(f"{name} must be a float array, got {type(x).__name__}") from error
    dtype = keras.backend.standardize_dtype(x.dtype)
    if "float" not in dtype:
        raise TypeError(f"{name} must have a float dtype, got {dtype}")
    if dtype in ("float16", "bfloat16"):  # log-space sums need more range than half precision
        x = ops.cast(x, "float32")
    return x


def _prepare(potentials, transitions, mask=None, tags=None, start=None, end=None):
    """Convert and check the inputs; return (potentials, transitions, mask, tags, start, end).

    The returned mask is always a bool tensor (batch, T); tags (if given) int32 with padded steps
    replaced by 0, so that gathers never go out of range.
    """
    potentials = _float_tensor(potentials, "potentials")
    if len(potentials.shape) != 3:
        raise ValueError(
            f"potentials must have rank 3 (batch, T, num_tags), got shape {tuple(potentials.shape)}"
        )
    batch, steps, num_tags = potentials.shape
    if steps == 0:
        raise ValueError("potentials must have at least one time step, got T = 0")
    if num_tags == 0:
        raise ValueError("potentials must have at least one tag, got num_tags = 0")
    dtype = potentials.dtype
    transitions = ops.cast(_float_tensor(transitions, "transitions"), dtype)
    if len(transitions.shape) != 2:
        raise ValueError(
            f"transitions must have rank 2 (num_tags, num_tags), got shape {tuple(transitions.shape)}"
        )
    if num_tags is not None and tuple(transitions.shape) != (num_tags, num_tags) and None not in transitions.shape:
        raise ValueError(
            f"transitions must have shape ({num_tags}, {num_tags}) to match potentials' "
            f"num_tags, got {tuple(transitions.shape)}"
        )
    boundary = []
    for name, vector in (("start_transitions", start), ("end_transitions", end)):
        if vector is not None:
            vector = ops.cast(_float_tensor(vector, name), dtype)
            if len(vector.shape) != 1 or (
                num_tags is not None and vector.shape[0] is not None and vector.shape[0] != num_tags
            ):
                raise ValueError(f"{name} must have shape ({num_tags},), got {tuple(vector.shape)}")
        boundary.append(vector)

    if mask is None:
        mask = ops.ones(ops.shape(potentials)[:2], dtype="bool")
    else:
        mask = ops.convert_to_tensor(mask)
        if len(mask.shape) != 2:
            raise ValueError(f"mask must have rank 2 (batch, T), got shape {tuple(mask.shape)}")
        _check_same(mask.shape, potentials.shape[:2], "mask", "potentials' (batch, T)")
        if keras.backend.standardize_dtype(mask.dtype) != "bool":
            value = _concrete(mask)
            if value is not None and not np.isin(value, (0, 1)).all():
                raise ValueError("mask must be boolean or hold only 0 and 1")
            mask = ops.cast(mask, "bool")
        value = _concrete(mask)
        if value is not None and value.shape[1] > 1 and (value[:, 1:] & ~value[:, :-1]).any():
            row = int(np.nonzero((value[:, 1:] & ~value[:, :-1]).any(axis=1))[0][0])
            raise ValueError(
                "mask must mark a prefix of valid steps in every row (right padding, like "
                f"1 1 1 0 0); row {row} is {value[row].astype(int).tolist()}"
            )

    # Padded steps never count; zeroing them keeps -inf or huge pad scores out of every sum.
    potentials = ops.where(mask[:, :, None], potentials, ops.zeros_like(potentials))

    if tags is not None:
        tags = ops.convert_to_tensor(tags)
        dtype_name = keras.backend.standardize_dtype(tags.dtype)
        if "int" not in dtype_name:
            raise TypeError(f"tags must have an integer dtype, got {dtype_name}")
        if len(tags.shape) != 2:
            raise ValueError(f"tags must have rank 2 (batch, T), got shape {tuple(tags.shape)}")
        _check_same(tags.shape, potentials.shape[:2], "tags", "potentials' (batch, T)")
        tags = ops.cast(tags, "int32")
        value = _concrete(tags)
        valid = _concrete(mask)
        if value is not None and valid is not None and num_tags is not None:
            bad = valid & ((value < 0) | (value >= num_tags))
            if bad.any():
                raise ValueError(
                    f"tags must lie in [0, {num_tags}) at valid steps, got {int(value[bad][0])}"
                )
        tags = ops.where(mask, tags, ops.zeros_like(tags))
    del batch
    return potentials, transitions, mask, tags, boundary[0], boundary[1]


def _check_same(shape, expected, name, what):
    for got, want in zip(shape, expected):
        if got is not None and want is not None and got != want:
            raise ValueError(f"{name} must have the shape of {what} {tuple(expected)}, got {tuple(shape)}")


def _steps(potentials, mask):
    """Steps 1..T-1 as one time-major tensor (T-1, batch, K+1): potentials, then the mask.

    One tensor rather than a pair, because Keras 3.15's TensorFlow ``scan`` fails on several
    inputs when T is not static.
    """
    packed = ops.concatenate([potentials, ops.cast(mask, potentials.dtype)[:, :, None]], axis=2)
    return _time_major(packed[:, 1:, :])


def _lengths(mask):
    return ops.sum(ops.cast(mask, "int32"), axis=1)


def _time_major(x):
    """(batch, T, ...) → (T, batch, ...)."""
    return ops.moveaxis(x, 1, 0)


# --------------------------------------------------------------------------- the functions


def crf_path_score(
    potentials, tags, transitions, mask=None, *, start_transitions=None, end_transitions=None
):
    """Score of given tag paths: the sum of their potentials and transitions over valid steps.

    Shapes: ``potentials`` (batch, T, K), ``tags`` (batch, T) int, ``transitions`` (K, K),
    ``mask`` (batch, T) bool or None → (batch,).

    Example:
        >>> import numpy as np
        >>> p = np.array([[[1., 0.], [0., 2.]]])           # batch 1, T 2, K 2
        >>> A = np.array([[0., 3.], [0., 0.]])             # tag 0 then tag 1 scores 3
        >>> float(crf_path_score(p, np.array([[0, 1]]), A)[0])   # 1 + 2 + 3
        6.0
    """
    potentials, transitions, mask, tags, start, end = _prepare(
        potentials, transitions, mask, tags, start_transitions, end_transitions
    )
    num_tags = ops.shape(potentials)[2]
    valid = ops.cast(mask, potentials.dtype)
    unary = ops.take_along_axis(potentials, tags[:, :, None], axis=2)[:, :, 0]
    score = ops.sum(unary * valid, axis=1)
    pair_index = tags[:, :-1] * num_tags + tags[:, 1:]
    pairs = ops.take(ops.reshape(transitions, (-1,)), pair_index, axis=0)
    score = score + ops.sum(pairs * valid[:, 1:], axis=1)
    if start is not None:
        score = score + ops.take(start, tags[:, 0], axis=0) * valid[:, 0]
    if end is not None:
        lengths = _lengths(mask)
        last = ops.maximum(lengths - 1, 0)
        last_tag = ops.take_along_axis(tags, last[:, None], axis=1)[:, 0]
        score = score + ops.take(end, last_tag, axis=0) * ops.cast(lengths > 0, potentials.dtype)
    return score


def _forward(potentials, transitions, mask, start, return_all=False):
    """Forward recursion in log space: alpha_t(j) = logsumexp_i(alpha_{t-1}(i) + A_ij) + p_t(j)."""
    alpha = potentials[:, 0, :]
    if start is not None:
        alpha = alpha + start[None, :]
    if potentials.shape[1] == 1:
        return (alpha, alpha[None]) if return_all else alpha

    def step(alpha, inputs):
        emission, valid = inputs[:, :-1], inputs[:, -1] > 0.5
        new = ops.logsumexp(alpha[:, :, None] + transitions[None, :, :], axis=1) + emission
        alpha = ops.where(valid[:, None], new, alpha)
        return alpha, alpha  # (Keras's TensorFlow scan needs per-step outputs, like the carry)

    xs = _steps(potentials, mask)
    last, alphas = ops.scan(step, alpha, xs)
    if return_all:
        return last, ops.concatenate([alpha[None], alphas], axis=0)
    return last


def _log_norm_parallel(potentials, transitions, mask, start, end):
    """log Z by a tree reduction of the per-step matrices in the (logsumexp, +) semiring."""
    steps = potentials.shape[1]
    if steps is None:
        raise ValueError("parallel=True needs a static number of time steps T")
    num_tags = potentials.shape[2]
    alpha = potentials[:, 0, :] + (start[None, :] if start is not None else 0.0)
    if steps > 1:
        eye = ops.eye(num_tags, dtype="bool")
        log_eye = ops.where(eye, ops.zeros((num_tags, num_tags), potentials.dtype), _NEG)
        # M_t[i, j] = A[i, j] + p_t(j); a padded step is the semiring identity.
        m = transitions[None, None, :, :] + potentials[:, 1:, None, :]
        m = ops.where(mask[:, 1:, None, None], m, log_eye)
        n = steps - 1
        size = 1 << (n - 1).bit_length()
        if size > n:
            batch = ops.shape(potentials)[0]
            pad = ops.broadcast_to(log_eye, (batch, size - n, num_tags, num_tags))
            m = ops.concatenate([m, ops.cast(pad, m.dtype)], axis=1)
        while size > 1:  # log2(T) levels, each one batched product of neighbouring pairs
            left, right = m[:, 0::2], m[:, 1::2]
            m = ops.logsumexp(left[..., :, :, None] + right[..., None, :, :], axis=-2)
            size //= 2
        alpha = ops.logsumexp(alpha[:, :, None] + m[:, 0], axis=1)
    if end is not None:
        alpha = alpha + end[None, :]
    return ops.logsumexp(alpha, axis=1)


def crf_log_norm(
    potentials,
    transitions,
    mask=None,
    *,
    start_transitions=None,
    end_transitions=None,
    parallel=False,
):
    """log Z: the log of the sum of exp(score) over all K**T tag paths, per sequence.

    Computed by the forward recursion in log space (``T - 1`` steps of ``(batch, K, K)``
    work), or with ``parallel=True`` by a tree reduction of the step matrices in the
    (logsumexp, +) semiring: ``log2 T`` dependent levels instead of ``T``, but ``K`` times the
    work (``(batch, T/2, K, K, K)`` at the first level), so it pays only for small ``K``. The
    parallel form needs a static ``T``.

    Shapes: ``potentials`` (batch, T, K), ``transitions`` (K, K), ``mask`` (batch, T) → (batch,).

    Example:
        >>> import numpy as np
        >>> p = np.zeros((1, 3, 2)); A = np.zeros((2, 2))    # all 2**3 = 8 paths score 0
        >>> round(float(crf_log_norm(p, A)[0]), 4), round(float(np.log(8)), 4)
        (2.0794, 2.0794)
    """
    if not isinstance(parallel, bool):
        raise TypeError(f"parallel must be a bool, got {type(parallel).__name__}")
    potentials, transitions, mask, _, start, end = _prepare(
        potentials, transitions, mask, None, start_transitions, end_transitions
    )
    if parallel:
        log_z = _log_norm_parallel(potentials, transitions, mask, start, end)
    else:
        alpha = _forward(potentials, transitions, mask, start)
        if end is not None:
            alpha = alpha + end[None, :]
        log_z = ops.logsumexp(alpha, axis=1)
    return ops.where(_lengths(mask) > 0, log_z, ops.zeros_like(log_z))


def crf_log_likelihood(
    potentials,
    tags,
    transitions,
    mask=None,
    *,
    start_transitions=None,
    end_transitions=None,
    parallel=False,
):
    """log p(tags | x) = score(tags) - log Z, per sequence (the negative is the CRF loss).

    Shapes: ``potentials`` (batch, T, K), ``tags`` (batch, T) int, ``transitions`` (K, K),
    ``mask`` (batch, T) → (batch,).

    Example:
        >>> import numpy as np
        >>> p = np.zeros((1, 2, 3)); A = np.zeros((3, 3))    # 9 equally likely paths
        >>> round(float(np.exp(crf_log_likelihood(p, np.array([[0, 2]]), A)[0])), 4)
        0.1111
    """
    boundary = dict(start_transitions=start_transitions, end_transitions=end_transitions)
    score = crf_path_score(potentials, tags, transitions, mask, **boundary)
    return score - crf_log_norm(potentials, transitions, mask, parallel=parallel, **boundary)


def crf_marginals(
    potentials, transitions, mask=None, *, start_transitions=None, end_transitions=None
):
    """Per-step tag marginals p(y_t = k | x) by the forward-backward recursions.

    Shapes: ``potentials`` (batch, T, K), ``transitions`` (K, K), ``mask`` (batch, T) →
    (batch, T, K); rows sum to 1 at valid steps and are 0 at padded ones. They equal the
    gradient of :func:`crf_log_norm` with respect to ``potentials``.

    Example:
        >>> import numpy as np
        >>> p = np.zeros((1, 2, 2)); A = np.array([[0., -50.], [-50., 0.]])  # tags stay put
        >>> np.round(crf_marginals(p, A)[0], 3).tolist()
        [[0.5, 0.5], [0.5, 0.5]]
    """
    potentials, transitions, mask, _, start, end = _prepare(
        potentials, transitions, mask, None, start_transitions, end_transitions
    )
    _, alphas = _forward(potentials, transitions, mask, start, return_all=True)  # (T, b, K)
    beta = ops.zeros_like(potentials[:, 0, :])
    if end is not None:
        beta = beta + end[None, :]
    if potentials.shape[1] == 1:
        betas = beta[None]
    else:

        def step(beta, inputs):
            emission, valid = inputs[:, :-1], inputs[:, -1] > 0.5  # step t+1
            new = ops.logsumexp(transitions[None, :, :] + (emission + beta)[:, None, :], axis=2)
            beta_t = ops.where(valid[:, None], new, beta)
            return beta_t, beta_t

        xs = _steps(potentials, mask)
        _, earlier = ops.scan(step, beta, xs, reverse=True)
        betas = ops.concatenate([earlier, beta[None]], axis=0)
    log_z = ops.logsumexp(alphas[-1] + (end[None, :] if end is not None else 0.0), axis=1)
    log_marg = _time_major(alphas + betas) - log_z[:, None, None]
    return ops.exp(log_marg) * ops.cast(mask, potentials.dtype)[:, :, None]


def viterbi_decode(
    potentials, transitions, mask=None, *, start_transitions=None, end_transitions=None
):
    """The highest-scoring tag path of each sequence, by dynamic programming (Viterbi).

    Shapes: ``potentials`` (batch, T, K), ``transitions`` (K, K), ``mask`` (batch, T) →
    ``(tags, scores)`` with ``tags`` (batch, T) int32 (0 at padded steps) and ``scores``
    (batch,) the best paths' scores. Ties go to the lowest tag index.

    Example:
        >>> import numpy as np
        >>> p = np.array([[[2., 0.], [0., 1.], [2., 0.]]])  # per-step best: 0 1 0
        >>> A = np.array([[0., -5.], [-5., 0.]])            # but switching costs 5
        >>> tags, score = viterbi_decode(p, A)
        >>> np.asarray(tags).tolist(), float(score[0])
        ([[0, 0, 0]], 4.0)
    """
    potentials, transitions, mask, _, start, end = _prepare(
        potentials, transitions, mask, None, start_transitions, end_transitions
    )
    num_tags = potentials.shape[2]
    score = potentials[:, 0, :]
    if start is not None:
        score = score + start[None, :]
    if potentials.shape[1] == 1:
        best_prev = None
    else:
        identity = ops.arange(num_tags, dtype="int32")[None, :]

        def step(carry, inputs):
            score, _ = carry
            emission, valid = inputs[:, :-1], inputs[:, -1] > 0.5
            candidates = score[:, :, None] + transitions[None, :, :]  # (batch, from, to)
            pointer = ops.cast(ops.argmax(candidates, axis=1), "int32")
            new = ops.max(candidates, axis=1) + emission
            score = ops.where(valid[:, None], new, score)
            # A padded step points every tag to itself, so backtracking walks through padding.
            pointer = ops.where(valid[:, None], pointer, identity)
            # (Keras's TensorFlow scan wants the per-step outputs shaped like the carry.)
            return (score, pointer), (score, pointer)

        xs = _steps(potentials, mask)
        start_pointer = ops.zeros_like(score, dtype="int32")
        (score, _), (_, best_prev) = ops.scan(step, (score, start_pointer), xs)  # (T-1, b, K)
    if end is not None:
        score = score + end[None, :]
    last = ops.cast(ops.argmax(score, axis=1), "int32")
    best = ops.max(score, axis=1)
    if best_prev is None:
        path = last[:, None]
    else:

        def back(tag, pointer):
            previous = ops.take_along_axis(pointer, tag[:, None], axis=1)[:, 0]
            return previous, previous

        _, earlier = ops.scan(back, last, best_prev, reverse=True)  # (T-1, batch)
        path = ops.concatenate([ops.moveaxis(earlier, 0, 1), last[:, None]], axis=1)
    path = ops.where(mask, path, ops.zeros_like(path))
    best = ops.where(_lengths(mask) > 0, best, ops.zeros_like(best))
    return path, best


# --------------------------------------------------------------------------- Keras components
PAD_SCORE = -1e9
"""What a :class:`CRF` layer outputs at padded steps (every tag); anything at or below
``PAD_SCORE / 2`` on every tag reads as padding, so the mask travels inside ``y_pred``."""


def mask_from_output(y_pred):
    """Recover the mask (batch, T) bool from a :class:`CRF` layer's output (batch, T, K).

    Example:
        >>> import numpy as np
        >>> y = np.array([[[0.5, -1.0], [PAD_SCORE, PAD_SCORE]]])
        >>> np.asarray(mask_from_output(y)).tolist()
        [[True, False]]
    """
    y_pred = ops.convert_to_tensor(y_pred)
    if len(y_pred.shape) != 3:
        raise ValueError(f"y_pred must have rank 3 (batch, T, num_tags), got shape {tuple(y_pred.shape)}")
    return ops.any(y_pred > PAD_SCORE / 2, axis=-1)


@keras.saving.register_keras_serializable(package="kbook")
class CRF(keras.layers.Layer):
    """Linear-chain CRF head: owns the (K, K) transition scores and passes potentials through.

    Put it after a layer that produces per-step tag scores ``(batch, T, num_tags)``. Its output is
    those scores, unchanged at valid steps and set to :data:`PAD_SCORE` at padded ones, so that the
    mask reaches the loss, the metric and :meth:`decode` on every backend (Keras's own mask does
    not survive into JAX training metrics). The output carries no Keras mask of its own, so that
    Keras's loss reduction sees one loss per sequence. The mask comes from upstream masking
    (``Embedding(mask_zero=True)``) or from an explicit ``mask=`` argument, and must be a prefix
    of each row (right padding). Train with ``layer.get_loss()`` (a :class:`CRFLoss` bound to this
    layer), monitor ``layer.get_accuracy()`` (a :class:`CRFAccuracy`), infer with :meth:`decode`.

    After ``keras.models.load_model`` the model predicts and decodes as before; to train or
    evaluate it again, compile it with the loaded layer's ``get_loss()`` (a loss object cannot carry a
    reference to a layer through a saved file).

    Args:
        num_tags: K, the number of tags.
        use_boundary: also learn start and end scores for the first and last tag.
        transitions_initializer: initializer of the transition matrix (default zeros: no
            preference before training).
        transitions_regularizer: optional regularizer of the transition matrix.
        transition_lr_multiplier: m > 0, a learning-rate multiplier for the layer's own scores
            (transitions, and start/end scores if any), by reparametrisation: the layer stores
            ``A / m`` and uses ``m * stored``. The model is unchanged, but the gradient with
            respect to the stored variable is m times larger and a step on it moves ``A`` m times
            as far: plain SGD's step on ``A`` is scaled by ``m**2``, Adam's (which normalises the
            gradient's scale away) by ``m``. The initializer and regularizer apply to ``A`` itself;
            ``layer.transitions`` is always ``A``.

    Example:
        >>> import numpy as np, keras
        >>> inputs = keras.Input((None,), dtype="int32")
        >>> h = keras.layers.Embedding(10, 8, mask_zero=True)(inputs)
        >>> crf = CRF(3)
        >>> model = keras.Model(inputs, crf(keras.layers.Dense(3)(h)))
        >>> model.compile("adam", loss=crf.get_loss())   # TensorFlow: metrics=[crf.get_accuracy()] too
        >>> x = np.array([[1, 2, 3, 0]]); y = np.array([[0, 1, 2, 0]])
        >>> _ = model.fit(x, y, epochs=1, verbose=0)
        >>> np.asarray(crf.decode(model.predict(x, verbose=0))).shape  # padding decodes to 0
        (1, 4)
    """

    def __init__(
        self,
        num_tags,
        use_boundary=False,
        transitions_initializer="zeros",
        transitions_regularizer=None,
        transition_lr_multiplier=1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(num_tags, bool) or not isinstance(num_tags, (int, np.integer)):
            raise TypeError(f"num_tags must be an int, got {type(num_tags).__name__}")
        if num_tags < 1:
            raise ValueError(f"num_tags must be at least 1, got {num_tags}")
        if not isinstance(use_boundary, bool):
            raise TypeError(f"use_boundary must be a bool, got {type(use_boundary).__name__}")
        multiplier = transition_lr_multiplier
        if isinstance(multiplier, bool) or not isinstance(multiplier, (int, float, np.integer, np.floating)):
            raise TypeError(f"transition_lr_multiplier must be a number, got {type(multiplier).__name__}")
        if not (np.isfinite(multiplier) and multiplier > 0):
            raise ValueError(f"transition_lr_multiplier must be finite and > 0, got {multiplier}")
        self.num_tags = int(num_tags)
        self.use_boundary = use_boundary
        self.transition_lr_multiplier = float(multiplier)
        self.transitions_initializer = keras.initializers.get(transitions_initializer)
        self.transitions_regularizer = keras.regularizers.get(transitions_regularizer)
        self.supports_masking = True

    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[-1] != self.num_tags:
            raise ValueError(
                f"CRF({self.num_tags}) expects potentials of shape (batch, T, {self.num_tags}), "
                f"got {tuple(input_shape)}"
            )
        m = self.transition_lr_multiplier
        initializer, regularizer = self.transitions_initializer, self.transitions_regularizer
        # The variables hold A / m (and start / m, end / m); the properties below return m * them.
        self._transitions = self.add_weight(
            shape=(self.num_tags, self.num_tags),
            initializer=lambda shape, dtype=None: initializer(shape, dtype=dtype) / m,
            regularizer=None if regularizer is None else (lambda stored: regularizer(stored * m)),
            name="transitions",
        )
        if self.use_boundary:
            self._start_transitions = self.add_weight(
                shape=(self.num_tags,), initializer="zeros", name="start_transitions"
            )
            self._end_transitions = self.add_weight(
                shape=(self.num_tags,), initializer="zeros", name="end_transitions"
            )

    def _scaled(self, variable):
        if self.transition_lr_multiplier == 1.0:
            return variable
        return variable * ops.cast(self.transition_lr_multiplier, variable.dtype)

    @property
    def transitions(self):
        """The transition scores A (K, K) the model uses (the stored variable times m)."""
        return self._scaled(self._transitions)

    @property
    def start_transitions(self):
        """The start scores (K,) (``use_boundary=True`` only)."""
        return self._scaled(self._start_transitions)

    @property
    def end_transitions(self):
        """The end scores (K,) (``use_boundary=True`` only)."""
        return self._scaled(self._end_transitions)

    def call(self, inputs, mask=None):
        if mask is None:
            return inputs
        mask = ops.cast(mask, "bool")
        return ops.where(mask[:, :, None], inputs, ops.cast(PAD_SCORE, inputs.dtype))

    def compute_mask(self, inputs, mask=None):
        # The mask travels inside the output (PAD_SCORE at padded steps). A Keras mask on the
        # output would make Loss.__call__ weight the per-sequence losses by a per-step mask.
        return None

    def compute_output_shape(self, input_shape):
        return input_shape

    def _boundary(self):
        if not self.use_boundary:
            return {}
        return {"start_transitions": self.start_transitions, "end_transitions": self.end_transitions}

    def _mask(self, potentials, mask):
        return mask_from_output(potentials) if mask is None else mask

    def log_likelihood(self, potentials, tags, mask=None):
        """log p(tags | x) under this layer's scores: (batch, T, K), (batch, T) → (batch,).

        Without ``mask``, padding is read from the potentials (:func:`mask_from_output`).
        """
        mask = self._mask(potentials, mask)
        return crf_log_likelihood(potentials, tags, self.transitions, mask, **self._boundary())

    def decode(self, potentials, mask=None):
        """Viterbi tags (batch, T) int32 for potentials (batch, T, K); padded steps are 0.

        Without ``mask``, padding is read from the potentials (:func:`mask_from_output`).
        """
        mask = self._mask(potentials, mask)
        return viterbi_decode(potentials, self.transitions, mask, **self._boundary())[0]

    def marginals(self, potentials, mask=None):
        """Per-step tag probabilities (batch, T, K) under this layer's scores."""
        mask = self._mask(potentials, mask)
        return crf_marginals(potentials, self.transitions, mask, **self._boundary())

    # Methods, not properties: Keras's saving walks every attribute of a layer, and a property
    # that builds a new loss object on each access would send it round in circles.
    def get_loss(self):
        """A :class:`CRFLoss` bound to this layer, for ``compile(loss=...)``."""
        return CRFLoss(layer=self)

    def get_accuracy(self):
        """A :class:`CRFAccuracy` bound to this layer, for ``compile(metrics=[...])``."""
        return CRFAccuracy(layer=self)

    def get_config(self):
        config = super().get_config()
        config.update(
            num_tags=self.num_tags,
            use_boundary=self.use_boundary,
            transition_lr_multiplier=self.transition_lr_multiplier,
            transitions_initializer=keras.initializers.serialize(self.transitions_initializer),
            transitions_regularizer=keras.regularizers.serialize(self.transitions_regularizer),
        )
        return config


def _bound_layer(owner, what):
    if owner._layer is None:
        raise ValueError(
            f"this {what} is not bound to a CRF layer (a loaded model's compiled loss and "
            "metrics lose their layer): compile with `loss=crf.get_loss(), metrics=[crf.get_accuracy()]` "
            "where crf is the model's CRF layer"
        )
    return owner._layer


def _int_tags(y_true):
    y_true = ops.convert_to_tensor(y_true)
    if len(y_true.shape) == 3 and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return ops.cast(y_true, "int32")


@keras.saving.register_keras_serializable(package="kbook")
class CRFLoss(keras.losses.Loss):
    """Negative log-likelihood of the gold tags, one value per sequence, reduced by Keras.

    ``y_true``: int tags (batch, T) (or (batch, T, 1)); ``y_pred``: the output of the bound
    :class:`CRF` layer, whose padded steps mark the mask. :meth:`call` returns the per-sequence
    losses (batch,); ``keras.losses.Loss.__call__`` weights them by ``sample_weight`` (one weight
    per sequence, shape (batch,)) and applies ``reduction`` (``"sum_over_batch_size"`` (default),
    ``"mean"``, ``"mean_with_sample_weight"``, ``"sum"``, ``"none"``/None) exactly as for Keras's own
    losses. Get one from ``crf_layer.get_loss()``.

    Example:
        >>> CRFLoss().name
        'crf_loss'
    """

    def __init__(self, layer=None, name="crf_loss", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if layer is not None and not isinstance(layer, CRF):
            raise TypeError(f"layer must be a kbook.crf.CRF layer, got {type(layer).__name__}")
        self._layer = layer

    def __call__(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None:
            shape = tuple(ops.shape(sample_weight))
            if not (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)):
                raise ValueError(
                    "sample_weight of a CRFLoss must hold one weight per sequence, shape (batch,), "
                    f"got shape {shape} (per-step weights are not supported: mask the steps instead)"
                )
        return super().__call__(y_true, y_pred, sample_weight=sample_weight)

    def call(self, y_true, y_pred):
        return -_bound_layer(self, "CRFLoss").log_likelihood(y_pred, _int_tags(y_true))


@keras.saving.register_keras_serializable(package="kbook")
class CRFAccuracy(keras.metrics.Metric):
    """Fraction of valid steps whose Viterbi-decoded tag equals the gold tag.

    Get one bound to a layer from ``crf_layer.get_accuracy()``.

    Example:
        >>> CRFAccuracy().name
        'crf_accuracy'
    """

    def __init__(self, layer=None, name="crf_accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if layer is not None and not isinstance(layer, CRF):
            raise TypeError(f"layer must be a kbook.crf.CRF layer, got {type(layer).__name__}")
        self._layer = layer
        self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")

    def update_state(self, y_true, y_pred, sample_weight=None):
        layer = _bound_layer(self, "CRFAccuracy")
        try:
            ops.convert_to_tensor(layer._transitions.value)
        except (TypeError, AttributeError) as error:
            raise RuntimeError(
                "CRFAccuracy cannot read the CRF transitions here: inside JAX's fit/evaluate a "
                "metric sees only its own variables. Use it with the TensorFlow backend, or "
                "decode after predict (crf.decode) and compare with the gold tags."
            ) from error
        y_true = _int_tags(y_true)
        mask = mask_from_output(y_pred)
        valid = ops.cast(mask, self.dtype)
        if sample_weight is not None:
            valid = valid * ops.reshape(ops.cast(sample_weight, self.dtype), (-1, 1))
        hits = ops.cast(ops.equal(layer.decode(y_pred, mask), y_true), self.dtype) * valid
        self.correct.assign_add(ops.sum(hits))
        self.total.assign_add(ops.sum(valid))

    def result(self):
        return ops.divide_no_nan(self.correct, self.total)

    def reset_state(self):
        self.correct.assign(0.0)
        self.total.assign(0.0)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


# --------------------------------------------------------------------------- word segmentation

def bmes_tags(words):
    """Character tags of a segmented sentence: one of B, M, E, S per character, as a string.

    Args:
        words: a sequence of non-empty strings (the words of one sentence).

    Example:
        >>> bmes_tags(["迈向", "充满", "希望", "的", "新世纪"])
        'BEBEBESBME'
    """
    if isinstance(words, str):
        raise TypeError("words must be a sequence of words, not one string")
    if not isinstance(words, (list, tuple)):
        raise TypeError(f"words must be a list or tuple of strings, got {type(words).__name__}")
    tags = []
    for word in words:
        if not isinstance(word, str):
            raise TypeError(f"words must hold strings, got {type(word).__name__}")
        if not word:
            raise ValueError("words must be non-empty strings, got ''")
        tags.append("S" if len(word) == 1 else "B" + "M" * (len(word) - 2) + "E")
    return "".join(tags)


_ALLOWED_NEXT = {"B": "ME", "M": "ME", "E": "BS", "S": "BS"}


def bmes_violations(tags):
    """Count how a B/M/E/S tag sequence breaks the grammar of segmentations.

    Returns ``(interior, boundary)``: ``interior`` is the number of adjacent pairs that no
    segmentation produces (B or M followed by B or S; E or S followed by M or E); ``boundary`` is
    0, 1 or 2: one for a sequence that starts with M or E, one for one that ends with B or M. A
    sequence is the tagging of some segmentation exactly when both are 0. A CRF without start and
    end scores can only learn to avoid the first kind.

    Args:
        tags: a string of ``B M E S`` or a sequence of letters or indices 0-3 (as in
            :func:`words_from_tags`).

    Example:
        >>> bmes_violations("BESBE"), bmes_violations("MBBE"), bmes_violations([0, 2, 3])
        ((0, 0), (2, 1), (0, 0))
    """
    letters = _tag_letters(tags)
    if not letters:
        return 0, 0
    interior = sum(b not in _ALLOWED_NEXT[a] for a, b in zip(letters, letters[1:]))
    boundary = int(letters[0] in "ME") + int(letters[-1] in "BM")
    return interior, boundary


def _spans(words):
    spans, start = set(), 0
    for word in words:
        spans.add((start, start + len(word)))
        start += len(word)
    return spans


def segmentation_prf(gold, predicted):
    """Word-level precision, recall and F1 of a segmentation, pooled over sentences.

    A predicted word counts as correct when its character span (start, end) is a gold word's span.

    Args:
        gold, predicted: lists of sentences, each a list of words; sentence i of both must spell
            the same text.

    Returns:
        ``(precision, recall, f1)`` floats.

    Example:
        >>> segmentation_prf([["迈向", "新世纪"]], [["迈向", "新", "世纪"]])
        (0.3333333333333333, 0.5, 0.4)
    """
    for name, value in (("gold", gold), ("predicted", predicted)):
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"{name} must be a list of sentences, got {type(value).__name__}")
        for sentence in value:
            if isinstance(sentence, str) or not isinstance(sentence, (list, tuple)):
                raise TypeError(f"{name} must hold sentences as lists of words, got {type(sentence).__name__}")
            if not all(isinstance(word, str) for word in sentence):
                raise TypeError(f"{name} must hold sentences as lists of strings")
    if len(gold) != len(predicted):
        raise ValueError(f"gold and predicted must hold as many sentences: {len(gold)} vs {len(predicted)}")
    correct = n_gold = n_pred = 0
    for i, (g, p) in enumerate(zip(gold, predicted)):
        if "".join(g) != "".join(p):
            raise ValueError(f"sentence {i} differs between gold and predicted text")
        gs, ps = _spans(g), _spans(p)
        correct += len(gs & ps)
        n_gold += len(gs)
        n_pred += len(ps)
    precision = correct / n_pred if n_pred else 0.0
    recall = correct / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1
