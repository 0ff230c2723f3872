"""Character-level sequence-to-sequence titles: an attention decoder, a copy prior, beam search.

See the chapter: notebooks/seq2seq-titles.ipynb (Part IV, "Seq2seq titles").

The pieces, in the order the chapter uses them:

* :class:`CharVocab` — characters to ids and back (0 pad, 1 unknown, 2 begin, 3 end);
  :func:`encode_pairs` turns (source, title) strings into the padded arrays a model trains on
  (teacher forcing: the decoder reads ``<bos> + title`` and predicts ``title + <eos>``).
* :class:`CopyPrior` — a Keras layer that adds, to the decoder's logits, a learned bonus for every
  character that occurs in the source: ``logits + exp(log_scale) * present + shift``.
* :func:`title_model` — embedding shared by both sides, a convolutional encoder, a GRU decoder
  that sees the source only through dot-product attention, optionally the copy prior;
  :func:`decoding_models` splits a trained (or loaded) model into an encoder and a decoder, and
  :func:`generate` decodes titles with :func:`beam_search`.
* :func:`beam_search` — batched beam search over any next-token model (NumPy; width 1 is greedy);
  :func:`beam_steps` is the same search as a generator, so that :func:`generate` can run one search
  per article and still make one model call per step for all of them.
* :func:`rouge_l` (character LCS F1) and :func:`copy_rate` — the chapter's two measures.

Imports: NumPy and Keras (and so the active backend) at module level, because :class:`CopyPrior`
is a Keras layer registered as ``kbook>CopyPrior`` when this module is imported.
:func:`beam_search`, :func:`rouge_l`, :func:`copy_rate` and :class:`CharVocab` use NumPy only.
"""

from __future__ import annotations

import numbers
from collections import Counter

import keras
import numpy as np
from keras import ops
from kbook.config import check_int as _check_int

__all__ = [
    "CharVocab",
    "encode_pairs",
    "CopyPrior",
    "title_model",
    "decoding_models",
    "generate",
    "beam_search",
    "beam_steps",
    "lcs_length",
    "rouge_l",
    "copy_rate",
    "PAD",
    "UNK",
    "BOS",
    "EOS",
]

PAD, UNK, BOS, EOS = 0, 1, 2, 3
_SPECIALS = ("<pad>", "<unk>", "<bos>", "<eos>")


# --------------------------------------------------------------------------- beam search


def beam_search(step_log_probs, bos_id, eos_id, beam_width, max_len, length_penalty=0.0):
    """Beam search over a next-token model; ``beam_width=1`` is greedy decoding.

    At every step each live hypothesis is extended by every token, and the ``beam_width``
    extensions with the highest summed log-probability are kept; those that end in ``eos_id``
    leave the beam and are kept aside as finished. The search stops when no hypothesis is live,
    when ``max_len`` tokens have been generated, or (``length_penalty == 0`` only, where scores can
    only fall) when ``beam_width`` finished hypotheses all score at least as well as the best live
    one. The model is called once per step, on all live hypotheses at once.

    Args:
        step_log_probs: a callable taking an int array ``(n, t)`` of prefixes (each starting with
            ``bos_id``) and returning ``(n, V)`` log-probabilities of the next token.
        bos_id, eos_id: token ids in ``[0, V)``.
        beam_width: number of hypotheses kept per step, >= 1.
        max_len: most tokens generated (``eos_id`` included), >= 1.
        length_penalty: >= 0; final scores are ``sum(log p) / len(tokens) ** length_penalty``
            (0: the plain sum, which favours short outputs).

    Returns:
        Up to ``beam_width`` pairs ``(tokens, score)``, best first: ``tokens`` a list of ints
        without ``bos_id``, ending in ``eos_id`` when the hypothesis finished (otherwise it has
        ``max_len`` tokens), ``score`` a float.

    Raises:
        TypeError: ``step_log_probs`` is not callable, or an id/width/length is not an int.
        ValueError: bad widths, lengths, penalty or ids, or the model returns log-probabilities of
            the wrong shape, NaN or +inf.

    Example:
        >>> logp = np.log(np.array([[0.1, 0.6, 0.3], [0.5, 0.1, 0.4], [0.4, 0.4, 0.2]]))
        >>> markov = lambda prefixes: logp[prefixes[:, -1]]  # next token depends on the last one
        >>> [(tokens, round(score, 3)) for tokens, score in beam_search(markov, 0, 2, 2, 3)]
        [([2], -1.204), ([1, 2], -1.427)]
    """
    if not callable(step_log_probs):
        raise TypeError(f"step_log_probs must be callable, got {type(step_log_probs).__name__}")
    search = beam_steps(bos_id, eos_id, beam_width, max_len, length_penalty)
    prefixes = next(search)
    while True:
        try:
            prefixes = search.send(step_log_probs(prefixes.copy()))
        except StopIteration as done:
            return done.value


def beam_steps(bos_id, eos_id, beam_width, max_len, length_penalty=0.0):
    """:func:`beam_search` as a generator, so that many searches can share one model call.

    It yields the live prefixes (int ``(n, t)``) and expects their ``(n, V)`` log-probabilities
    back through ``send``; its return value (``StopIteration.value``) is the result of
    :func:`beam_search`. Arguments as there.

    Example:
        >>> search = beam_steps(bos_id=0, eos_id=1, beam_width=1, max_len=3)
        >>> next(search)
        array([[0]])
        >>> try:
        ...     search.send(np.log([[0.2, 0.8]]))
        ... except StopIteration as done:
        ...     print(done.value)
        [([1], -0.2231435513142097)]
    """
    bos_id = _check_int("bos_id", bos_id, 0)
    eos_id = _check_int("eos_id", eos_id, 0)
    beam_width = _check_int("beam_width", beam_width, 1)
    max_len = _check_int("max_len", max_len, 1)
    if isinstance(length_penalty, bool) or not isinstance(length_penalty, numbers.Real):
        raise TypeError(f"length_penalty must be a real number, got {type(length_penalty).__name__}")
    length_penalty = float(length_penalty)
    if not (np.isfinite(length_penalty) and length_penalty >= 0):
        raise ValueError(f"length_penalty must be finite and >= 0, got {length_penalty}")
    return (yield from _beam_steps(bos_id, eos_id, beam_width, max_len, length_penalty))


def _beam_steps(bos_id, eos_id, beam_width, max_len, length_penalty):
    def final(tokens, total):
        return total / len(tokens) ** length_penalty if length_penalty else total

    live = np.full((1, 1), bos_id, dtype=np.int64)  # (n, t) prefixes, bos first
    live_scores = np.zeros(1)  # summed log-probabilities
    finished: list[tuple[list[int], float]] = []
    for step in range(max_len):
        logp = np.asarray((yield live), dtype=np.float64)
        if logp.ndim != 2 or logp.shape[0] != len(live):
            raise ValueError(
                f"step_log_probs must return an array of shape ({len(live)}, V) for {len(live)} "
                f"prefixes, got shape {logp.shape}"
            )
        vocab = logp.shape[1]
        if step == 0 and not (bos_id < vocab and eos_id < vocab):
            raise ValueError(f"bos_id and eos_id must be < V = {vocab}, got {bos_id} and {eos_id}")
        if np.isnan(logp).any() or np.isposinf(logp).any():
            raise ValueError("step_log_probs returned NaN or +inf; log-probabilities must be <= 0 or -inf")
        totals = (live_scores[:, None] + logp).ravel()
        possible = np.flatnonzero(totals > -np.inf)
        if possible.size == 0:
            live = live[:0]
            break
        # the beam_width best extensions; a stable sort keeps ties in (hypothesis, token) order
        best = possible[np.argsort(-totals[possible], kind="stable")[:beam_width]]
        rows, tokens = np.divmod(best, vocab)
        ends = tokens == eos_id
        for row, token, total in zip(rows[ends], tokens[ends], totals[best][ends]):
            finished.append((live[row, 1:].tolist() + [int(token)], float(total)))
        keep = ~ends
        live = np.concatenate([live[rows[keep]], tokens[keep, None]], axis=1)
        live_scores = totals[best][keep]
        if len(live) == 0:
            break
        if length_penalty == 0 and len(finished) >= beam_width:
            worst_kept = sorted((score for _, score in finished), reverse=True)[beam_width - 1]
            if worst_kept >= live_scores.max():
                live = live[:0]
                break
    ended = [(row[1:].tolist(), float(total)) for row, total in zip(live, live_scores)]
    results = [(tokens, final(tokens, total)) for tokens, total in finished + ended]
    results.sort(key=lambda pair: -pair[1])  # stable: finished before ended on ties
    return results[:beam_width]


# --------------------------------------------------------------------------- measures


def lcs_length(a, b) -> int:
    """Length of the longest common subsequence of two sequences (dynamic programming).

    Example:
        >>> lcs_length("ABCBDAB", "BDCABA")
        4
    """
    a, b = list(a), list(b)
    if not a or not b:
        return 0
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def rouge_l(candidate: str, reference: str) -> float:
    """Character-level ROUGE-L F1: ``2 P R / (P + R)`` with ``P = LCS/len(candidate)``,
    ``R = LCS/len(reference)``; 0 when either is empty or nothing is shared.

    Example:
        >>> round(rouge_l("李鹏会见外宾", "李鹏总理会见美国客人"), 4)  # LCS 李鹏会见 = 4
        0.5
    """
    if not isinstance(candidate, str) or not isinstance(reference, str):
        raise TypeError("rouge_l(candidate, reference) takes two strings")
    lcs = lcs_length(candidate, reference)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(candidate), lcs / len(reference)
    return 2 * precision * recall / (precision + recall)


def copy_rate(title: str, source: str) -> float:
    """Fraction of the characters of ``title`` that occur somewhere in ``source`` (NaN for an
    empty title, which has no characters to count).

    Example:
        >>> copy_rate("李鹏会见外宾", "国务院总理李鹏今天会见了美国客人")
        0.6666666666666666
    """
    if not isinstance(title, str) or not isinstance(source, str):
        raise TypeError("copy_rate(title, source) takes two strings")
    if not title:
        return float("nan")
    present = set(source)
    return sum(char in present for char in title) / len(title)


# --------------------------------------------------------------------------- vocabulary and arrays


class CharVocab:
    """Characters <-> ids: 0 ``<pad>``, 1 ``<unk>``, 2 ``<bos>``, 3 ``<eos>``, then the characters
    seen at least ``min_count`` times in ``texts``, most frequent first.

    Example:
        >>> vocab = CharVocab(["新年好", "新年"], min_count=2)
        >>> len(vocab), vocab.encode("新年快"), vocab.decode([5, 4, 3, 5])  # ties: by code point
        (6, [5, 4, 1], '新年')
    """

    def __init__(self, texts, min_count: int = 1):
        min_count = _check_int("min_count", min_count, 1)
        if isinstance(texts, str):
            raise TypeError("texts must be an iterable of strings, not one string")
        counts = Counter()
        for text in texts:
            if not isinstance(text, str):
                raise TypeError(f"texts must hold strings, got {type(text).__name__}")
            counts.update(text)
        chars = [c for c, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n >= min_count]
        self.chars = list(_SPECIALS) + chars
        self.index = {c: i for i, c in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        """Ids of the characters of ``text`` (``<unk>`` for characters outside the vocabulary)."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        return [self.index.get(c, UNK) for c in text]

    def decode(self, ids) -> str:
        """Characters of ``ids`` up to the first ``<eos>``; ``<pad>``/``<bos>`` skipped, ``<unk>`` as ``□``."""
        out = []
        for i in ids:
            i = int(i)
            if i == EOS:
                break
            if i in (PAD, BOS):
                continue
            out.append("□" if i == UNK else self.chars[i])
        return "".join(out)


def encode_pairs(vocab: CharVocab, sources, titles, source_len: int, title_len: int):
    """Pad and encode (source, title) pairs for teacher forcing.

    Sources are cut to their first ``source_len`` characters, titles to ``title_len``.

    Returns:
        ``(x, y_in, y_out)``: int32 arrays ``(n, source_len)``, ``(n, title_len + 1)`` and
        ``(n, title_len + 1)``; ``y_in = <bos> + title`` and ``y_out = title + <eos>``, padded
        with 0. The model reads ``x`` and ``y_in`` and is trained to predict ``y_out``
        (``y_out != 0`` marks the positions that count in the loss).

    Example:
        >>> vocab = CharVocab(["新年好"])
        >>> x, y_in, y_out = encode_pairs(vocab, ["新年好"], ["新年"], source_len=4, title_len=3)
        >>> x.tolist(), y_in.tolist(), y_out.tolist()
        ([[6, 5, 4, 0]], [[2, 6, 5, 0]], [[6, 5, 3, 0]])
    """
    if not isinstance(vocab, CharVocab):
        raise TypeError(f"vocab must be a CharVocab, got {type(vocab).__name__}")
    source_len = _check_int("source_len", source_len, 1)
    title_len = _check_int("title_len", title_len, 1)
    sources, titles = list(sources), list(titles)
    if len(sources) != len(titles):
        raise ValueError(f"sources and titles must have the same length, got {len(sources)} and {len(titles)}")
    x = np.zeros((len(sources), source_len), np.int32)
    y_in = np.zeros((len(titles), title_len + 1), np.int32)
    y_out = np.zeros_like(y_in)
    for i, (source, title) in enumerate(zip(sources, titles)):
        s, t = vocab.encode(source[:source_len]), vocab.encode(title[:title_len])
        x[i, : len(s)] = s
        y_in[i, : len(t) + 1] = [BOS] + t
        y_out[i, : len(t) + 1] = t + [EOS]
    return x, y_in, y_out


# --------------------------------------------------------------------------- Keras parts


@keras.saving.register_keras_serializable(package="kbook")
class CopyPrior(keras.layers.Layer):
    """Add a learned bonus to the logits of characters that occur in the source.

    ``present[b, v]`` is 1 when token ``v`` occurs among the non-padding ids of ``source[b]``, else
    0; the output is ``logits + (exp(log_scale) * present + shift)[:, None, :]`` with ``log_scale``
    and ``shift`` learned vectors of length V, both starting at 0 (so at first every source
    character gets +1). Padding (id ``pad_id``) never counts as present.

    Inputs: ``[source, logits]`` — int ``(batch, source_len)`` and float ``(batch, steps, V)``.
    Output: float ``(batch, steps, V)``.

    Example:
        >>> layer = CopyPrior()
        >>> out = layer([np.array([[2, 0]]), np.zeros((1, 1, 4), "float32")])
        >>> keras.ops.convert_to_numpy(out).tolist()
        [[[0.0, 0.0, 1.0, 0.0]]]
    """

    def __init__(self, pad_id: int = PAD, **kwargs):
        super().__init__(**kwargs)
        self.pad_id = _check_int("pad_id", pad_id, 0)

    def build(self, input_shape):
        source_shape, logits_shape = input_shape
        vocab = logits_shape[-1]
        if vocab is None:
            raise ValueError("CopyPrior needs the logits' last dimension (the vocabulary size) to be known")
        self.log_scale = self.add_weight(shape=(vocab,), initializer="zeros", name="log_scale")
        self.shift = self.add_weight(shape=(vocab,), initializer="zeros", name="shift")

    def present(self, source, vocab):
        """``(batch, V)`` float: 1 where a token occurs in the (unpadded) source."""
        # scatter-add a 1 at (row, id) for every non-padding position, then clip the counts at 1
        # (a one-hot of the whole source would cost batch * source_len * V floats)
        source = ops.cast(source, "int32")
        batch, length = ops.shape(source)[0], ops.shape(source)[1]
        flat = ops.reshape(source + ops.arange(batch, dtype="int32")[:, None] * vocab, (-1, 1))
        ones = ops.reshape(ops.cast(ops.not_equal(source, self.pad_id), "float32"), (-1,))
        counts = ops.scatter(flat, ones, (batch * vocab,))
        return ops.reshape(ops.minimum(counts, 1.0), (batch, vocab))

    def prior(self, source, vocab):
        return ops.exp(self.log_scale) * self.present(source, vocab) + self.shift

    def call(self, inputs):
        source, logits = inputs
        vocab = ops.shape(logits)[-1]
        return logits + ops.cast(self.prior(source, vocab), logits.dtype)[:, None, :]

    def compute_output_shape(self, input_shape):
        return input_shape[1]

    def get_config(self):
        return {**super().get_config(), "pad_id": self.pad_id}


def title_model(vocab_size: int, source_len: int, title_len: int, *, embed_dim: int = 64,
                units: int = 64, copy_prior: bool = True) -> keras.Model:
    """A small version of the post's model: a character embedding shared by both sides, an
    encoder, a GRU decoder, dot-product attention from each decoder step to the encoder states, a
    hidden layer and the output logits, then (``copy_prior=True``) :class:`CopyPrior`.

    The encoder is two convolutions of width 3 with a residual connection (the post used a
    bidirectional LSTM; convolutions train several times faster on a CPU). The decoder is causal
    (a left-to-right GRU) and sees the source only through attention, so a title prefix of any
    length can be scored by running the decoder on it (:func:`decoding_models`).

    Inputs: ``source`` int ``(batch, source_len)`` (0 = padding), ``title_in`` int
    ``(batch, title_len + 1)`` (``<bos>`` + title). Output: logits ``(batch, title_len + 1, V)``.

    Example:
        >>> model = title_model(vocab_size=10, source_len=5, title_len=3, embed_dim=8, units=8)
        >>> [tuple(t.shape) for t in model.outputs]
        [(None, 4, 10)]
    """
    vocab_size = _check_int("vocab_size", vocab_size, 5)
    source_len = _check_int("source_len", source_len, 1)
    title_len = _check_int("title_len", title_len, 1)
    embed_dim = _check_int("embed_dim", embed_dim, 1)
    units = _check_int("units", units, 1)
    if not isinstance(copy_prior, bool):
        raise TypeError(f"copy_prior must be a bool, got {type(copy_prior).__name__}")
    layers = {
        "embedding": keras.layers.Embedding(vocab_size, embed_dim, name="embedding"),
        "conv1": keras.layers.Conv1D(units, 3, padding="same", activation="relu", name="conv1"),
        "conv2": keras.layers.Conv1D(units, 3, padding="same", activation="relu", name="conv2"),
        "residual": keras.layers.Add(name="residual"),
        "decoder": keras.layers.GRU(units, return_sequences=True, name="decoder"),
        "attention": keras.layers.Attention(use_scale=True, name="attention"),
        "concat": keras.layers.Concatenate(name="concat"),
        "hidden": keras.layers.Dense(units, activation="relu", name="hidden"),
        "logits": keras.layers.Dense(vocab_size, name="logits"),
    }
    if copy_prior:
        layers["copy_prior"] = CopyPrior(name="copy_prior")
    source = keras.Input((source_len,), dtype="int32", name="source")
    title_in = keras.Input((title_len + 1,), dtype="int32", name="title_in")
    logits = _decode(layers, source, _encode(layers, source), title_in)
    return keras.Model([source, title_in], logits, name="title_model" + ("_prior" if copy_prior else ""))


def _encode(layers, source):
    first = layers["conv1"](layers["embedding"](source))
    return layers["residual"]([first, layers["conv2"](first)])


def _decode(layers, source, states, title_in, last_only=False):
    queries = layers["decoder"](layers["embedding"](title_in))
    if last_only:
        queries = queries[:, -1:, :]
    context = layers["attention"]([queries, states], mask=[None, ops.not_equal(source, PAD)])
    logits = layers["logits"](layers["hidden"](layers["concat"]([queries, context])))
    if "copy_prior" in layers:
        logits = layers["copy_prior"]([source, logits])
    return logits


def decoding_models(model: keras.Model):
    """Split a :func:`title_model` (trained, or loaded with ``keras.models.load_model``) into an
    encoder ``source -> states`` and a next-character model ``(source, states, prefix) -> logits``
    that share its layers, so that beam search encodes each source once.

    The prefix has any length ``t`` (``<bos>`` first) and the logits are those of the character
    after it, shape ``(batch, 1, V)``.

    Returns:
        ``(encoder, decoder)``, two ``keras.Model``.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    layers = {layer.name: layer for layer in model.layers}
    missing = {"embedding", "conv1", "conv2", "residual", "decoder", "attention", "hidden", "logits"} - set(layers)
    if missing:
        raise ValueError(f"model is not a title_model: it lacks the layers {sorted(missing)}")
    source_len = model.inputs[0].shape[1]
    source = keras.Input((source_len,), dtype="int32", name="source")
    encoder = keras.Model(source, _encode(layers, source), name="title_encoder")
    states = keras.Input((source_len, layers["conv2"].filters), name="states")
    prefix = keras.Input((None,), dtype="int32", name="prefix")
    logits = _decode(layers, source, states, prefix, last_only=True)
    return encoder, keras.Model([source, states, prefix], logits, name="title_decoder")


def _log_softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def generate(model, x, beam_width: int = 1, length_penalty: float = 0.0, *, models=None, chunk: int = 256):
    """Titles for the encoded sources ``x`` (int ``(n, source_len)``) by beam search.

    One :func:`beam_steps` search runs per source; at every step the live prefixes of all of them
    go through the decoder in one batch (padded to a multiple of ``chunk`` rows, so that few
    distinct shapes are compiled). ``<pad>``, ``<unk>`` and ``<bos>`` are never generated.

    Args:
        model: a :func:`title_model`.
        x: int array ``(n, source_len)``.
        beam_width, length_penalty: as in :func:`beam_search`; ``max_len`` is the model's title
            length + 1 (room for ``<eos>``).
        models: ``decoding_models(model)``, to reuse across calls (built when None).

    Returns:
        ``n`` lists of token ids: each source's best hypothesis (``<eos>`` included when it
        finished).
    """
    encoder, decoder = models if models is not None else decoding_models(model)
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != encoder.inputs[0].shape[1]:
        raise ValueError(f"x must have shape (n, {encoder.inputs[0].shape[1]}), got {x.shape}")
    chunk = _check_int("chunk", chunk, 1)
    if len(x) == 0:
        return []
    max_len = model.inputs[1].shape[1]
    states = np.asarray(keras.ops.convert_to_numpy(encoder.predict_on_batch(x)))
    searches = {i: beam_steps(BOS, EOS, beam_width, max_len, length_penalty) for i in range(len(x))}
    prefixes = {i: next(search) for i, search in searches.items()}
    best: dict[int, list[int]] = {}
    while searches:
        order = list(searches)
        owner = np.concatenate([np.full(len(prefixes[i]), i) for i in order])
        batch = np.concatenate([prefixes[i] for i in order]).astype(np.int32)
        rows = -(-len(batch) // chunk) * chunk
        pad = rows - len(batch)
        xs = np.concatenate([x[owner], np.zeros((pad, x.shape[1]), x.dtype)]).astype(np.int32)
        ss = np.concatenate([states[owner], np.zeros((pad,) + states.shape[1:], states.dtype)])
        ps = np.concatenate([batch, np.full((pad, batch.shape[1]), BOS, np.int32)])
        logits = np.asarray(keras.ops.convert_to_numpy(decoder.predict_on_batch([xs, ss, ps])))
        logp = _log_softmax(logits[: len(batch), -1].astype(np.float64))
        logp[:, [PAD, UNK, BOS]] = -np.inf
        start = 0
        for i in order:
            n = len(prefixes[i])
            try:
                prefixes[i] = searches[i].send(logp[start : start + n])
            except StopIteration as done:
                best[i] = done.value[0][0] if done.value else []
                del searches[i], prefixes[i]
            start += n
    return [best[i] for i in range(len(x))]
