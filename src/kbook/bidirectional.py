"""Bidirectional decoding: a left-to-right and a right-to-left decoder that read each other.

See the chapter: ``notebooks/bidirectional-decoding.ipynb`` (Part IV, "Bidirectional decoding").

Issue 20 lists the decoder pair and its joint beam search under ``kbook.seq2seq``; they live here
because topic modules never import each other and ``kbook.seq2seq`` (the title chapter) is written
at the same time. Nothing here depends on it: the one-way beam search below is this module's own.

What is here:

- :func:`walk_pairs` and :func:`encode_pairs`: the chapter's task (rebuild a walk from where it
  started, its steps and where it ended) and its arrays for both directions (``PAD = 0``,
  ``BOS = 1``, ``EOS = 2``).
- :class:`SyncAttention`: dot-product attention with an optional *synchronous* mask, the
  construction of the post after Zhou et al. (2019): step ``i`` of one decoder may read steps
  ``0..i`` of the other, exactly what the other has written when both decode in lockstep.
- :class:`AddPosition`: a learned vector per position (the decoders must know where they are to
  find the other decoder's step that matters).
- :func:`pair_model`: the two GRU decoders over a source aligned with the target and, with
  ``mutual=True``, their synchronous attention to each other; shared embeddings and classifier.
- :func:`beam_search` (one direction) and :func:`joint_beam_search` (a beam of *pairs* of
  hypotheses, scored by the joint log-probability of both readings), batched over items; both
  take a plain callable, so they are tested against brute-force enumeration on toy models.
- :func:`model_step`, :func:`pick_reading`, :func:`position_accuracy`: glue and measurement.

Imports: NumPy and Keras (so the active backend) at module level, because the layer classes
subclass ``keras.layers.Layer``; importing the module registers ``kbook>SyncAttention`` and
``kbook>AddPosition``.
"""

from __future__ import annotations

import numbers

import keras
import numpy as np
from keras import ops
from kbook.config import check_int as _check_int

__all__ = [
    "PAD",
    "BOS",
    "EOS",
    "walk_pairs",
    "AddPosition",
    "encode_pairs",
    "SyncAttention",
    "pair_model",
    "beam_search",
    "joint_beam_search",
    "joint_score",
    "model_step",
    "pick_reading",
    "position_accuracy",
]

PAD, BOS, EOS = 0, 1, 2
"""Reserved token ids; data tokens start at 3."""


# --------------------------------------------------------------------------------------- data
def walk_pairs(n, length, n_symbols=10, noise=0.0, seed=None):
    """Draw ``n`` walks on the cycle ``0..n_symbols-1`` and the (noisy) record each is rebuilt from.

    A walk ``y = (y_1, ..., y_length)`` has independent uniform positions; its record (the
    source) is ``[y_1, d_1, ..., d_{length-1}, y_length]`` with the steps
    ``d_t = (y_{t+1} - y_t) mod n_symbols``: where it started, every step, where it ended. Each
    step is misrecorded with probability ``noise`` (replaced by a different step, uniformly); the
    two ends are always right. Written left to right, ``y_{t+1} = y_t + d_t``; written right to
    left, ``y_t = y_{t+1} - d_t``. Both directions start from a known end and add one step to the
    token they wrote last, so a misrecorded step spoils everything written after it: the same
    mirror-image problem for both directions.

    Returns:
        ``(sources, targets)``: lists of ``n`` int lists, of ``length + 1`` and ``length`` symbols.

    Raises:
        TypeError / ValueError: a size is not an int, ``length < 2``, ``n_symbols < 2`` or
        ``noise`` outside [0, 1].

    Example:
        >>> sources, targets = walk_pairs(1, 4, n_symbols=5, seed=3)
        >>> targets[0], sources[0]  # 4 + 1 = 0, 0 + 0 = 0, 0 + 1 = 1 (mod 5)
        ([4, 0, 0, 1], [4, 1, 0, 1, 1])
    """
    n = _check_int("n", n, 1)
    length = _check_int("length", length, 2)
    n_symbols = _check_int("n_symbols", n_symbols, 2)
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real):
        raise TypeError(f"noise must be a real number, got {type(noise).__name__}")
    if not 0.0 <= float(noise) <= 1.0:
        raise ValueError(f"noise must be in [0, 1], got {noise}")
    rng = np.random.default_rng(seed)
    walks = rng.integers(0, n_symbols, size=(n, length))
    steps = (walks[:, 1:] - walks[:, :-1]) % n_symbols
    wrong = rng.random(steps.shape) < noise
    steps = np.where(wrong, (steps + rng.integers(1, n_symbols, size=steps.shape)) % n_symbols, steps)
    sources = np.concatenate([walks[:, :1], steps, walks[:, -1:]], axis=1)
    return sources.tolist(), walks.tolist()


def encode_pairs(sources, targets):
    """Arrays for training both decoders; symbols become ids ``symbol + 3``, padding is 0.

    Each source must be one symbol longer than its target and aligned with it, as
    :func:`walk_pairs` makes them: the left-to-right decoder reads source symbol ``i`` at its step
    ``i``, the right-to-left decoder reads the source backwards. All targets have one length ``n``.

    Returns:
        A dict of int32 arrays, each (items, n + 1): ``l_src``, ``l_in`` = ``[BOS, y1..yn]``,
        ``l_out`` = ``[y1..yn, EOS]``; ``r_src`` (the source reversed), ``r_in`` = ``[BOS, yn..y1]``,
        ``r_out`` = ``[yn..y1, EOS]``.

    Raises:
        ValueError: different numbers of sources and targets, ragged targets, a source that is
            not one longer than its target, or a negative symbol.

    Example:
        >>> a = encode_pairs([[2, 0, 1]], [[2, 1]])
        >>> a["l_in"][0].tolist(), a["l_out"][0].tolist(), a["r_src"][0].tolist(), a["r_out"][0].tolist()
        ([1, 5, 4], [5, 4, 2], [4, 3, 5], [4, 5, 2])
    """
    if len(sources) != len(targets) or len(targets) == 0:
        raise ValueError(f"need as many sources as targets (at least one), got {len(sources)} and {len(targets)}")
    lengths = {len(y) for y in targets}
    if len(lengths) != 1:
        raise ValueError(f"all targets must have one length, got lengths {sorted(lengths)}")
    n = lengths.pop()
    src = np.asarray(sources)
    tgt = np.asarray(targets)
    if src.ndim != 2 or src.shape[1] != n + 1:
        raise ValueError(f"each source must have {n + 1} symbols (one more than its target), got shape {src.shape}")
    if (src < 0).any() or (tgt < 0).any():
        raise ValueError("symbols must be >= 0")
    src, tgt = src.astype(np.int32) + 3, tgt.astype(np.int32) + 3
    m = len(tgt)
    bos = np.full((m, 1), BOS, np.int32)
    eos = np.full((m, 1), EOS, np.int32)
    return {
        "l_src": src, "l_in": np.concatenate([bos, tgt], 1), "l_out": np.concatenate([tgt, eos], 1),
        "r_src": src[:, ::-1].copy(), "r_in": np.concatenate([bos, tgt[:, ::-1]], 1),
        "r_out": np.concatenate([tgt[:, ::-1], eos], 1),
    }


# ------------------------------------------------------------------------------------- model
@keras.saving.register_keras_serializable(package="kbook")
class AddPosition(keras.layers.Layer):
    """Add a learned vector per position: (batch, steps, units) -> same shape, steps <= max_len.

    Example:
        >>> layer = AddPosition(5, 3)
        >>> tuple(layer(np.zeros((2, 4, 3), "float32")).shape)
        (2, 4, 3)
    """

    def __init__(self, max_len, units, **kwargs):
        super().__init__(**kwargs)
        self.max_len = _check_int("max_len", max_len, 1)
        self.units = _check_int("units", units, 1)

    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[-1] != self.units:
            raise ValueError(f"AddPosition expects (batch, steps, {self.units}), got {input_shape}")
        if input_shape[1] is not None and input_shape[1] > self.max_len:
            raise ValueError(f"AddPosition got {input_shape[1]} steps, more than max_len={self.max_len}")
        self.table = self.add_weight(name="table", shape=(self.max_len, self.units),
                                     initializer=keras.initializers.RandomNormal(stddev=0.5))

    def call(self, inputs):
        return inputs + ops.expand_dims(self.table[: ops.shape(inputs)[1]], 0)

    def get_config(self):
        return {**super().get_config(), "max_len": self.max_len, "units": self.units}


@keras.saving.register_keras_serializable(package="kbook")
class SyncAttention(keras.layers.Layer):
    """Single-head scaled dot-product attention, optionally *synchronous*.

    Called on ``[query, keys, key_ids]``: ``query`` (batch, Tq, d_q), ``keys`` (batch, Tk, d_k)
    (also the values), ``key_ids`` (batch, Tk) the token ids behind the keys; keys whose id is
    ``PAD`` (0) are never attended. With ``synchronous=True`` query step ``i`` may also attend only
    to key steps ``j <= i``: one decoder at step ``i`` reads what the other decoder has written in
    its first ``i`` steps, which is all that exists when both decode in lockstep.

    Returns ``(context, weights)``: (batch, Tq, units) and (batch, Tq, Tk); weights are zero on
    masked keys and every row sums to one (key step 0, the other decoder's BOS, is always visible).

    Example:
        >>> layer = SyncAttention(4, synchronous=True)
        >>> q = np.ones((1, 3, 2), "float32"); k = np.ones((1, 3, 5), "float32")
        >>> _, w = layer([q, k, np.array([[1, 5, 0]])])
        >>> np.round(keras.ops.convert_to_numpy(w)[0], 3).tolist()
        [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.5, 0.5, 0.0]]
    """

    def __init__(self, units, synchronous=False, **kwargs):
        super().__init__(**kwargs)
        self.units = _check_int("units", units, 1)
        if not isinstance(synchronous, bool):
            raise TypeError(f"synchronous must be a bool, got {type(synchronous).__name__}")
        self.synchronous = synchronous
        self.q_proj = keras.layers.Dense(self.units, use_bias=False, name="query")
        self.k_proj = keras.layers.Dense(self.units, use_bias=False, name="key")
        self.v_proj = keras.layers.Dense(self.units, use_bias=False, name="value")

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 3:
            raise ValueError("SyncAttention expects [query, keys, key_ids]")
        q_shape, k_shape, _ = input_shape
        if len(q_shape) != 3 or len(k_shape) != 3:
            raise ValueError(f"query and keys must be rank 3 (batch, steps, features), got {q_shape} and {k_shape}")
        self.q_proj.build(q_shape)
        self.k_proj.build(k_shape)
        self.v_proj.build(k_shape)

    def call(self, inputs):
        query, keys, key_ids = inputs
        q, k, v = self.q_proj(query), self.k_proj(keys), self.v_proj(keys)
        logits = ops.einsum("bqd,bkd->bqk", q, k) / float(np.sqrt(self.units))
        visible = ops.expand_dims(ops.not_equal(key_ids, PAD), 1)  # (b, 1, Tk)
        if self.synchronous:
            tq, tk = ops.shape(query)[1], ops.shape(keys)[1]
            rows = ops.expand_dims(ops.arange(tq), 1)
            cols = ops.expand_dims(ops.arange(tk), 0)
            visible = ops.logical_and(visible, ops.expand_dims(cols <= rows, 0))
        # stable masked softmax: masked logits get the dtype's lowest value, their weight is zeroed
        logits = ops.where(visible, logits, ops.full_like(logits, -1e9))
        logits = logits - ops.max(logits, axis=-1, keepdims=True)
        weights = ops.exp(logits) * ops.cast(visible, logits.dtype)
        weights = weights / ops.maximum(ops.sum(weights, axis=-1, keepdims=True), 1e-30)
        return ops.einsum("bqk,bkd->bqd", weights, v), weights

    def compute_output_shape(self, input_shape):
        q_shape, k_shape, _ = input_shape
        return (tuple(q_shape[:2]) + (self.units,), tuple(q_shape[:2]) + (k_shape[1],))

    def get_config(self):
        return {**super().get_config(), "units": self.units, "synchronous": self.synchronous}


def pair_model(vocab_size, target_len, units=64, mutual=True):
    """The decoder pair: a left-to-right and a right-to-left GRU decoder over an aligned source.

    At step ``i`` a decoder reads its previous token and the source symbol of that step (token,
    source and position embeddings, summed), so what it writes next depends on what it wrote
    last: a wrong token feeds the next step. With ``mutual=True`` each decoder also attends
    (synchronously, :class:`SyncAttention`, the post's construction) to the other decoder's
    hidden states; ``mutual=False`` gives two independent one-way decoders (the baseline). The
    two directions share the token embeddings and the output layers.

    Inputs: a dict of int arrays (batch, target_len + 1): ``l_src``, ``l_in``, ``r_src``, ``r_in``
    (see :func:`encode_pairs`). Outputs: a dict ``{"l2r": logits, "r2l": logits}``, each
    (batch, target_len + 1, vocab_size). The partner-attention layers are named
    ``"l2r_reads_r2l"`` and ``"r2l_reads_l2r"``; their second output is the attention weights.

    Example:
        >>> m = pair_model(8, 4, units=8)
        >>> ones = np.ones((2, 5), "int32")
        >>> out = m({"l_src": ones, "l_in": ones, "r_src": ones, "r_in": ones})
        >>> tuple(out["l2r"].shape), tuple(out["r2l"].shape)
        ((2, 5, 8), (2, 5, 8))
    """
    vocab_size = _check_int("vocab_size", vocab_size, 4)
    target_len = _check_int("target_len", target_len, 1)
    units = _check_int("units", units, 2)
    if not isinstance(mutual, bool):
        raise TypeError(f"mutual must be a bool, got {type(mutual).__name__}")
    layers = keras.layers
    steps = target_len + 1
    inputs = {name: keras.Input((steps,), dtype="int32", name=name) for name in ("l_src", "l_in", "r_src", "r_in")}
    embed = layers.Embedding(vocab_size, units, name="token_embedding")
    embed_src = layers.Embedding(vocab_size, units, name="source_embedding")

    def decoder(side):
        summed = layers.Add(name=f"{side}_inputs")([embed(inputs[f"{side}_in"]), embed_src(inputs[f"{side}_src"])])
        positioned = AddPosition(steps, units, name=f"{side}_position")(summed)
        return layers.GRU(units, return_sequences=True, name=f"{side}_decoder")(positioned)

    hl, hr = decoder("l"), decoder("r")
    feats_l, feats_r = [hl], [hr]
    if mutual:
        feats_l.append(SyncAttention(units, synchronous=True, name="l2r_reads_r2l")([hl, hr, inputs["r_in"]])[0])
        feats_r.append(SyncAttention(units, synchronous=True, name="r2l_reads_l2r")([hr, hl, inputs["l_in"]])[0])
        feats_l = layers.Concatenate(name="l2r_features")(feats_l)
        feats_r = layers.Concatenate(name="r2l_features")(feats_r)
    else:
        feats_l, feats_r = feats_l[0], feats_r[0]
    hidden = layers.Dense(units, activation="tanh", name="hidden")
    classify = layers.Dense(vocab_size, name="classifier")
    outputs = {
        "l2r": layers.Identity(name="l2r")(classify(hidden(feats_l))),
        "r2l": layers.Identity(name="r2l")(classify(hidden(feats_r))),
    }
    return keras.Model(inputs, outputs, name="mutual_pair" if mutual else "independent_pair")


# ----------------------------------------------------------------------------------- search
def _check_search_args(batch_size, bos_id, eos_id, pad_id, beam_width, max_len):
    batch_size = _check_int("batch_size", batch_size, 1)
    beam_width = _check_int("beam_width", beam_width, 1)
    max_len = _check_int("max_len", max_len, 1)
    ids = [_check_int(n, v, 0) for n, v in (("bos_id", bos_id), ("eos_id", eos_id), ("pad_id", pad_id))]
    if len(set(ids)) != 3:
        raise ValueError(f"bos_id, eos_id and pad_id must differ, got {ids}")
    return batch_size, beam_width, max_len


def _log_probs(value, shape, name):
    lp = np.asarray(value, dtype=np.float64)
    if lp.ndim != 3 or lp.shape[:2] != shape:
        raise ValueError(f"{name} must return an array of shape {shape + ('V',)}, got {lp.shape}")
    if np.isnan(lp).any() or (lp == np.inf).any():
        raise ValueError(f"{name} returned NaN or +inf log-probabilities")
    return lp


def _usable(lp, finished, pad_id, bos_id):
    """Continuation scores: live hypotheses may not emit pad/bos; finished ones emit pad for free."""
    lp = lp.copy()
    lp[..., [pad_id, bos_id]] = -np.inf
    lp[finished] = -np.inf
    lp[finished, pad_id] = 0.0
    return lp


def _strip(tokens, eos_id, pad_id):
    out = []
    for t in tokens:
        if t == pad_id:
            break
        out.append(int(t))
        if t == eos_id:
            break
    return out


def beam_search(step_log_probs, batch_size, bos_id, eos_id, beam_width, max_len, pad_id=0):
    """One-way beam search, batched over ``batch_size`` independent items.

    ``step_log_probs(prefixes)`` takes an int array (batch_size, beam_width, t) of prefixes (each
    starting with ``bos_id``; a finished hypothesis is padded with ``pad_id`` after its
    ``eos_id``) and returns (batch_size, beam_width, V) log-probabilities of the next token. The
    batch shape never changes, so a compiled model is traced once. A hypothesis ends with
    ``eos_id`` or at ``max_len`` tokens; ``pad_id`` and ``bos_id`` are never emitted.

    Returns:
        One list per item of up to ``beam_width`` ``(tokens, score)`` pairs, best first: ``tokens``
        without ``bos_id`` (ending with ``eos_id`` if finished), ``score`` the sum of their
        log-probabilities. ``beam_width=1`` is greedy decoding.

    Example:
        >>> table = np.log([[.1, .1, .2, .6], [.1, .1, .7, .1]])  # after BOS, after token 3
        >>> step = lambda p: np.broadcast_to(table[(p[..., -1] == 3).astype(int)], p.shape[:2] + (4,))
        >>> [(t, round(s, 3)) for t, s in beam_search(step, 1, 1, 2, 2, 3)[0]]
        [([3, 2], -0.868), ([2], -1.609)]
    """
    batch_size, beam_width, max_len = _check_search_args(batch_size, bos_id, eos_id, pad_id, beam_width, max_len)
    if not callable(step_log_probs):
        raise TypeError("step_log_probs must be callable")
    b, k = batch_size, beam_width
    seqs = np.full((b, k, 1), bos_id, dtype=np.int64)
    scores = np.full((b, k), -np.inf)
    scores[:, 0] = 0.0
    finished = np.zeros((b, k), dtype=bool)
    for _ in range(max_len):
        alive = np.isfinite(scores)
        if np.all(finished | ~alive):
            break
        lp = _log_probs(step_log_probs(seqs.copy()), (b, k), "step_log_probs")
        v = lp.shape[-1]
        cand = scores[..., None] + _usable(lp, finished, pad_id, bos_id)
        flat = cand.reshape(b, k * v)
        order = np.argsort(-flat, axis=1, kind="stable")[:, :k]
        parent, token = order // v, order % v
        rows = np.arange(b)[:, None]
        seqs = np.concatenate([seqs[rows, parent], token[..., None]], axis=2)
        finished = finished[rows, parent] | (token == eos_id)
        scores = flat[rows, order]
    results = []
    for i in range(b):
        keep = np.isfinite(scores[i])
        results.append([(_strip(seqs[i, j, 1:], eos_id, pad_id), float(scores[i, j])) for j in np.flatnonzero(keep)])
    return results


def joint_beam_search(step_log_probs, batch_size, bos_id, eos_id, beam_width, max_len, pad_id=0):
    """Beam search over *pairs* (left-to-right hypothesis, right-to-left hypothesis) in lockstep.

    ``step_log_probs(left, right)`` takes two int arrays (batch_size, beam_width, t): the prefixes
    of the two members of every pair (each starting with ``bos_id``, a finished member padded with
    ``pad_id``), and returns two (batch_size, beam_width, V) arrays: the next-token
    log-probabilities of the left-to-right decoder given both prefixes, and of the right-to-left
    decoder given both. A pair's score is the joint log-probability of its two members,
    :func:`joint_score`: the sum over steps of both decoders' log-probabilities of the tokens they
    wrote, each conditioned on the other's prefix at that step. Each step extends every pair by the
    best ``beam_width`` tokens of each side (enough to find the best ``beam_width`` extensions) and
    keeps the best ``beam_width`` pairs. A member ends with ``eos_id`` or at ``max_len`` tokens;
    the search ends when every pair's members have.

    Returns:
        One list per item of up to ``beam_width`` dicts, best first, with keys ``left``, ``right``
        (token lists without ``bos_id``; ``right`` in right-to-left order), ``score`` (joint),
        ``left_score``, ``right_score`` (each decoder's own share).

    Example:
        >>> def step(left, right):  # a toy pair: left likes 3 then EOS, right copies left's first token
        ...     lp = np.full(left.shape[:2] + (5,), np.log(0.1))
        ...     lp[..., 3] = np.where(left[..., -1] == 1, np.log(0.6), np.log(0.1))
        ...     lp[..., 2] = np.where(left[..., -1] == 1, np.log(0.1), np.log(0.6))
        ...     return lp, lp
        >>> best = joint_beam_search(step, 1, 1, 2, 3, 3)[0][0]
        >>> best["left"], best["right"], round(best["score"], 3)
        ([3, 2], [3, 2], -2.043)
    """
    batch_size, beam_width, max_len = _check_search_args(batch_size, bos_id, eos_id, pad_id, beam_width, max_len)
    if not callable(step_log_probs):
        raise TypeError("step_log_probs must be callable")
    b, k = batch_size, beam_width
    rows = np.arange(b)[:, None]
    left = np.full((b, k, 1), bos_id, dtype=np.int64)
    right = left.copy()
    scores = np.full((b, k), -np.inf)
    scores[:, 0] = 0.0
    side_scores = np.zeros((b, k, 2))
    fin = np.zeros((b, k, 2), dtype=bool)
    for _ in range(max_len):
        alive = np.isfinite(scores)
        if np.all(fin.all(axis=2) | ~alive):
            break
        out = step_log_probs(left.copy(), right.copy())
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise ValueError("step_log_probs must return a pair (left_log_probs, right_log_probs)")
        lp_l = _usable(_log_probs(out[0], (b, k), "step_log_probs (left)"), fin[..., 0], pad_id, bos_id)
        lp_r = _usable(_log_probs(out[1], (b, k), "step_log_probs (right)"), fin[..., 1], pad_id, bos_id)
        v = lp_l.shape[-1]
        if lp_r.shape[-1] != v:
            raise ValueError(f"left and right log-probabilities disagree on V: {v} vs {lp_r.shape[-1]}")
        c = min(k, v)
        top_l = np.argsort(-lp_l, axis=2, kind="stable")[..., :c]  # (b, k, c)
        top_r = np.argsort(-lp_r, axis=2, kind="stable")[..., :c]
        val_l = np.take_along_axis(lp_l, top_l, 2)
        val_r = np.take_along_axis(lp_r, top_r, 2)
        cand = scores[..., None, None] + val_l[..., :, None] + val_r[..., None, :]  # (b, k, c, c)
        flat = cand.reshape(b, k * c * c)
        order = np.argsort(-flat, axis=1, kind="stable")[:, :k]
        parent, rest = order // (c * c), order % (c * c)
        il, ir = rest // c, rest % c
        tok_l = top_l[rows, parent, il]
        tok_r = top_r[rows, parent, ir]
        side_scores = side_scores[rows, parent] + np.stack([val_l[rows, parent, il], val_r[rows, parent, ir]], -1)
        left = np.concatenate([left[rows, parent], tok_l[..., None]], axis=2)
        right = np.concatenate([right[rows, parent], tok_r[..., None]], axis=2)
        fin = fin[rows, parent] | np.stack([tok_l == eos_id, tok_r == eos_id], -1)
        scores = flat[rows, order]
    results = []
    for i in range(b):
        items = []
        for j in np.flatnonzero(np.isfinite(scores[i])):
            items.append({
                "left": _strip(left[i, j, 1:], eos_id, pad_id),
                "right": _strip(right[i, j, 1:], eos_id, pad_id),
                "score": float(scores[i, j]),
                "left_score": float(side_scores[i, j, 0]),
                "right_score": float(side_scores[i, j, 1]),
            })
        results.append(items)
    return results


def joint_score(step_log_probs, left, right, bos_id, eos_id, pad_id=0):
    """The joint log-probability of one pair, step by step (the objective of :func:`joint_beam_search`).

    ``left`` and ``right`` are token lists without ``bos_id`` (each ending with ``eos_id`` or cut at
    the search's ``max_len``); ``step_log_probs`` is called with batch_size = beam_width = 1.
    Returns ``(joint, left_share, right_share)``.

    Example:
        >>> step = lambda l, r: (np.log(np.full(l.shape[:2] + (4,), .25)),) * 2
        >>> np.round(joint_score(step, [3, 2], [2], 1, 2), 4).tolist()
        [-4.1589, -2.7726, -1.3863]
    """
    shares = [0.0, 0.0]
    for t in range(max(len(left), len(right))):
        pre = []
        for seq in (left, right):
            body = list(seq[:t]) + [pad_id] * (t - len(seq[:t]))
            pre.append(np.array([[[bos_id] + body]], dtype=np.int64))
        lp = step_log_probs(pre[0], pre[1])
        for side, seq in enumerate((left, right)):
            if t < len(seq):
                shares[side] += float(np.asarray(lp[side], dtype=np.float64)[0, 0, seq[t]])
    return shares[0] + shares[1], shares[0], shares[1]


def model_step(model, arrays, part="both"):
    """A ``step_log_probs`` for :func:`beam_search` / :func:`joint_beam_search` from a pair model.

    ``arrays`` holds ``l_src`` and ``r_src`` (batch, target_len + 1) from :func:`encode_pairs`.
    ``part`` is ``"l2r"`` or ``"r2l"`` (one-way decoding: the other decoder's input is all
    padding, which an independent pair ignores and a mutual pair cannot see) or ``"both"`` (the
    joint search). Prefixes are padded to the model's length, the whole model runs once per step
    on (batch * beam_width) rows, and the log-softmax of the logits at the last prefix position is
    returned (rerunning the prefix is exact: the GRUs and the synchronous attention are causal).
    """
    if part not in ("l2r", "r2l", "both"):
        raise ValueError(f"part must be 'l2r', 'r2l' or 'both', got {part!r}")
    l_src, r_src = np.asarray(arrays["l_src"]), np.asarray(arrays["r_src"])
    steps = l_src.shape[1]

    def run(left, right):
        b, k, t = left.shape
        if b != len(l_src):
            raise ValueError(f"the search has {b} items, arrays have {len(l_src)}")
        if t > steps:
            raise ValueError(f"prefix of {t} tokens is longer than the model's {steps}")
        pad = lambda p: np.pad(p.reshape(b * k, t), ((0, 0), (0, steps - t))).astype("int32")
        feed = {"l_src": np.repeat(l_src, k, axis=0).astype("int32"), "l_in": pad(left),
                "r_src": np.repeat(r_src, k, axis=0).astype("int32"), "r_in": pad(right)}
        out = model.predict_on_batch(feed)
        res = []
        for name in ("l2r", "r2l"):
            logits = np.asarray(out[name], dtype=np.float64)[:, t - 1, :]
            logits = logits - logits.max(-1, keepdims=True)
            lp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
            res.append(lp.reshape(b, k, -1))
        return res

    if part == "both":
        return run
    if part == "l2r":
        return lambda p: run(p, np.zeros_like(p))[0]
    return lambda p: run(np.zeros_like(p), p)[1]


def pick_reading(pair, eos_id=EOS):
    """The post's rule: of a joint hypothesis, keep the reading whose own decoder scored it higher.

    Returns the tokens in left-to-right order without ``eos_id`` (the right-to-left member reversed).

    Example:
        >>> pick_reading({"left": [3, 4, 2], "right": [5, 3, 2], "left_score": -2.0, "right_score": -1.0})
        [3, 5]
    """
    use_left = pair["left_score"] >= pair["right_score"]
    tokens = [t for t in (pair["left"] if use_left else pair["right"]) if t != eos_id]
    return tokens if use_left else tokens[::-1]


def position_accuracy(predictions, targets, max_positions, from_end=False):
    """Accuracy per position: the share of targets long enough whose token there is reproduced.

    Position ``p`` counts from the start (``from_end=False``) or from the end (``p = 0`` the last
    token). A prediction too short to have position ``p`` is wrong there.

    Returns:
        ``(accuracy, count)``: float array (max_positions,) (NaN where no target is long enough)
        and the number of targets with that position.

    Example:
        >>> acc, n = position_accuracy([[1, 2, 3], [1, 5]], [[1, 2, 3], [1, 2, 3]], 3)
        >>> acc.tolist(), n.tolist()
        ([1.0, 0.5, 0.5], [2, 2, 2])
    """
    max_positions = _check_int("max_positions", max_positions, 1)
    if len(predictions) != len(targets):
        raise ValueError(f"predictions and targets differ in number: {len(predictions)} vs {len(targets)}")
    hits = np.zeros(max_positions)
    count = np.zeros(max_positions, dtype=np.int64)
    for pred, gold in zip(predictions, targets):
        pred, gold = list(pred), list(gold)
        if from_end:
            pred, gold = pred[::-1], gold[::-1]
        for p in range(min(len(gold), max_positions)):
            count[p] += 1
            hits[p] += p < len(pred) and pred[p] == gold[p]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, hits / np.maximum(count, 1), np.nan), count
