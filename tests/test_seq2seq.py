"""Tests for kbook.seq2seq: beam search against exhaustive enumeration, the measures against hand
computations and brute force, the copy prior against NumPy, the model's save/load and decoding."""

from __future__ import annotations

import itertools

import keras
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kbook.seq2seq import (
    BOS,
    EOS,
    CharVocab,
    CopyPrior,
    beam_search,
    copy_rate,
    decoding_models,
    encode_pairs,
    generate,
    lcs_length,
    rouge_l,
    title_model,
)

# ------------------------------------------------------------------ beam search on Markov models


@st.composite
def markov_models(draw):
    """A first-order Markov model over V tokens: row i is log p(next | last token i)."""
    vocab = draw(st.integers(2, 4))
    weights = draw(
        st.lists(st.lists(st.floats(0.01, 1.0), min_size=vocab, max_size=vocab), min_size=vocab, max_size=vocab)
    )
    probs = np.array(weights) / np.sum(weights, axis=1, keepdims=True)
    bos = draw(st.integers(0, vocab - 1))
    eos = draw(st.integers(0, vocab - 1).filter(lambda e: e != bos))
    return np.log(probs), bos, eos


def markov_step(logp, calls=None):
    def step(prefixes):
        prefixes = np.asarray(prefixes)
        if calls is not None:
            calls.append(prefixes.copy())
        return logp[prefixes[:, -1]]

    return step


def enumerate_all(logp, bos, eos, max_len, length_penalty):
    """Every sequence beam search could return (ends in eos, or has max_len tokens), scored."""
    vocab = len(logp)
    out = []
    for length in range(1, max_len + 1):
        for tokens in itertools.product(range(vocab), repeat=length):
            if eos in tokens[:-1] or (length < max_len and tokens[-1] != eos):
                continue
            total, last = 0.0, bos
            for token in tokens:
                total += logp[last, token]
                last = token
            out.append((list(tokens), total / length**length_penalty if length_penalty else total))
    return sorted(out, key=lambda pair: -pair[1])


@given(markov_models(), st.integers(1, 3), st.sampled_from([0.0, 0.5, 1.0]))
def test_a_wide_beam_is_the_exhaustive_optimum(model, max_len, length_penalty):
    logp, bos, eos = model
    width = len(logp) ** max_len
    found = beam_search(markov_step(logp), bos, eos, width, max_len, length_penalty)
    exact = enumerate_all(logp, bos, eos, max_len, length_penalty)
    assert len(found) == min(width, len(exact))
    np.testing.assert_allclose([s for _, s in found], [s for _, s in exact[: len(found)]], rtol=1e-9, atol=1e-12)
    scores = dict((tuple(t), s) for t, s in exact)
    for tokens, score in found:  # every returned hypothesis is a valid sequence with its own score
        assert scores[tuple(tokens)] == pytest.approx(score, rel=1e-9, abs=1e-12)


@given(markov_models(), st.integers(1, 5), st.sampled_from([0.0, 1.0]))
def test_beam_width_one_is_greedy(model, max_len, length_penalty):
    logp, bos, eos = model
    tokens, last, total = [], bos, 0.0
    while len(tokens) < max_len:
        token = int(np.argmax(logp[last]))
        tokens.append(token)
        total += logp[last, token]
        last = token
        if token == eos:
            break
    [(found, score)] = beam_search(markov_step(logp), bos, eos, 1, max_len, length_penalty)
    assert found == tokens
    assert score == pytest.approx(total / len(tokens) ** length_penalty)


@given(markov_models(), st.integers(1, 5), st.integers(1, 6), st.sampled_from([0.0, 0.7]))
def test_scores_are_sums_of_step_log_probs_and_calls_are_batched(model, max_len, width, length_penalty):
    logp, bos, eos = model
    calls = []
    found = beam_search(markov_step(logp, calls), bos, eos, width, max_len, length_penalty)
    assert 1 <= len(found) <= width
    assert [s for _, s in found] == sorted((s for _, s in found), reverse=True)
    for tokens, score in found:
        assert (tokens[-1] == eos and eos not in tokens[:-1]) or (len(tokens) == max_len and eos not in tokens)
        prefix, total = [bos], 0.0
        for token in tokens:  # the model's own log-probabilities, one call per prefix
            total += markov_step(logp)(np.array([prefix]))[0, token]
            prefix.append(token)
        assert score == pytest.approx(total / len(tokens) ** length_penalty if length_penalty else total)
    # one call per step, each on at most `width` prefixes of equal length that start with bos
    assert 1 <= len(calls) <= max_len
    for t, prefixes in enumerate(calls, start=1):
        assert prefixes.shape[1] == t and 1 <= len(prefixes) <= width and (prefixes[:, 0] == bos).all()


def test_finished_hypotheses_are_kept():
    # from bos (0): eos (1) at once has p = 0.4; tokens 2 and 3 (0.3 each) lead to eos with p = 0.5
    # at best, so their finished scores (0.15) lose to the early 0.4 that left the beam at step 1
    p = np.array([[0.0, 0.4, 0.3, 0.3], [0.25] * 4, [0.0, 0.5, 0.3, 0.2], [0.0, 0.5, 0.2, 0.3]])
    with np.errstate(divide="ignore"):
        logp = np.log(p)
    found = beam_search(markov_step(logp), 0, 1, beam_width=2, max_len=4)
    assert found[0] == ([1], pytest.approx(np.log(0.4)))
    assert found[1][0] in ([2, 1], [3, 1]) and found[1][1] == pytest.approx(np.log(0.15))
    # a finished hypothesis stays in the results while the others go on: [1] left at step 1
    found = beam_search(markov_step(logp), 0, 1, beam_width=3, max_len=2)
    assert [tokens for tokens, _ in found] in ([[1], [2, 1], [3, 1]], [[1], [3, 1], [2, 1]])


def test_impossible_tokens_are_never_chosen():
    with np.errstate(divide="ignore"):
        logp = np.log(np.array([[0.0, 0.5, 0.5], [0.2, 0.2, 0.6], [0.0, 1.0, 0.0]]))
    found = beam_search(markov_step(logp), 0, 1, beam_width=5, max_len=3)
    assert all(np.isfinite(score) for _, score in found)
    assert sorted(tuple(t) for t, _ in found) == [(1,), (2, 1)]


def test_beam_search_bad_arguments():
    logp = np.log(np.full((3, 3), 1 / 3))
    step = markov_step(logp)
    with pytest.raises(TypeError, match="callable"):
        beam_search(None, 0, 1, 2, 3)
    with pytest.raises(ValueError, match="beam_width"):
        beam_search(step, 0, 1, 0, 3)
    with pytest.raises(TypeError, match="beam_width"):
        beam_search(step, 0, 1, 1.5, 3)
    with pytest.raises(ValueError, match="max_len"):
        beam_search(step, 0, 1, 2, 0)
    with pytest.raises(ValueError, match="length_penalty"):
        beam_search(step, 0, 1, 2, 3, length_penalty=-1.0)
    with pytest.raises(ValueError, match="bos_id"):
        beam_search(step, -1, 1, 2, 3)
    with pytest.raises(ValueError, match="< V"):
        beam_search(step, 0, 7, 2, 3)
    with pytest.raises(ValueError, match="shape"):
        beam_search(lambda prefixes: np.zeros(3), 0, 1, 2, 3)
    with pytest.raises(ValueError, match="NaN"):
        beam_search(lambda prefixes: np.full((len(prefixes), 3), np.nan), 0, 1, 2, 3)


# ------------------------------------------------------------------ measures


def test_rouge_l_hand_computed():
    # LCS("李鹏会见外宾", "李鹏总理会见美国客人") = 李鹏会见, 4 characters: P = 4/6, R = 4/10,
    # F1 = 2 * (2/3) * (2/5) / (2/3 + 2/5) = (8/15) / (16/15) = 1/2
    assert rouge_l("李鹏会见外宾", "李鹏总理会见美国客人") == pytest.approx(0.5)
    # LCS("ABCBDAB", "BDCABA") = 4 (BCBA): P = 4/7, R = 4/6, F1 = 2*(4/7)*(2/3)/(4/7+2/3) = 8/13
    assert rouge_l("ABCBDAB", "BDCABA") == pytest.approx(8 / 13)
    assert rouge_l("新年", "新年") == 1.0
    assert rouge_l("", "新年") == 0.0 and rouge_l("甲乙", "丙丁") == 0.0
    with pytest.raises(TypeError):
        rouge_l(["新"], "新")


@given(st.text("abc", max_size=7), st.text("abc", max_size=7))
def test_lcs_against_brute_force(a, b):
    best = 0
    for size in range(len(a) + 1):  # the longest subsequence of a that is also one of b
        for picked in itertools.combinations(a, size):
            it = iter(b)
            if all(char in it for char in picked):
                best = max(best, size)
    assert lcs_length(a, b) == best == lcs_length(b, a)


def test_copy_rate():
    assert copy_rate("李鹏会见外宾", "国务院总理李鹏今天会见了美国客人") == pytest.approx(4 / 6)
    assert np.isnan(copy_rate("", "abc"))
    with pytest.raises(TypeError):
        copy_rate("a", None)


def test_vocab_and_teacher_forcing_arrays():
    vocab = CharVocab(["新年好", "新年快乐"], min_count=2)
    assert vocab.chars[4:] == ["年", "新"] or vocab.chars[4:] == ["新", "年"]
    x, y_in, y_out = encode_pairs(vocab, ["新年好呀呀呀"], ["新年"], source_len=4, title_len=3)
    assert x.shape == (1, 4) and (x[0, 2:] == 1).all()  # 好 and 呀 are rare: <unk>
    assert y_in[0].tolist() == [BOS] + vocab.encode("新年") + [0]
    assert y_out[0].tolist() == vocab.encode("新年") + [EOS, 0]
    assert vocab.decode(y_out[0]) == "新年"
    with pytest.raises(ValueError, match="same length"):
        encode_pairs(vocab, ["a"], [], 3, 3)
    with pytest.raises(TypeError, match="one string"):
        CharVocab("新年")


# ------------------------------------------------------------------ Keras parts


def test_copy_prior_against_numpy():
    rng = np.random.default_rng(0)
    vocab, batch, length, steps = 9, 3, 6, 4
    source = rng.integers(0, vocab, (batch, length)).astype("int32")
    source[0, 3:] = 0  # padding never counts as present
    logits = rng.normal(size=(batch, steps, vocab)).astype("float32")
    layer = CopyPrior()
    layer([source, logits])
    log_scale, shift = rng.normal(size=vocab).astype("float32"), rng.normal(size=vocab).astype("float32")
    layer.set_weights([log_scale, shift])
    present = np.zeros((batch, vocab), "float32")
    for b in range(batch):
        for token in source[b]:
            if token != 0:
                present[b, token] = 1.0
    expected = logits + (np.exp(log_scale) * present + shift)[:, None, :]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer([source, logits])), expected, rtol=1e-5, atol=1e-5)
    assert CopyPrior.from_config(layer.get_config()).pad_id == 0


def small_model(copy_prior=True, seed=0):
    keras.utils.set_random_seed(seed)
    return title_model(vocab_size=12, source_len=6, title_len=4, embed_dim=8, units=8, copy_prior=copy_prior)


def test_model_save_load_and_decoder_agree(tmp_path):
    model = small_model()
    rng = np.random.default_rng(1)
    x = rng.integers(4, 12, (3, 6)).astype("int32")
    x[0, 4:] = 0
    y = rng.integers(4, 12, (3, 5)).astype("int32")
    y[:, 0] = BOS
    path = tmp_path / "titles.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    full = keras.ops.convert_to_numpy(model([x, y]))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded([x, y])), full, rtol=1e-5, atol=1e-5)
    # the split decoder scores a prefix of length t exactly as the full model's step t - 1
    encoder, decoder = decoding_models(loaded)
    states = keras.ops.convert_to_numpy(encoder(x))
    for t in (1, 5):
        step = keras.ops.convert_to_numpy(decoder([x, states, y[:, :t]]))
        np.testing.assert_allclose(step[:, 0], full[:, t - 1], rtol=1e-4, atol=1e-5)


def test_generate_matches_beam_search_on_the_full_model(width=2):
    model = small_model(copy_prior=False, seed=2)
    rng = np.random.default_rng(3)
    x = rng.integers(4, 12, (2, 6)).astype("int32")
    out = generate(model, x, beam_width=width, chunk=4)
    steps = 5  # title_len + 1
    for i in range(len(x)):

        def step(prefixes, i=i):
            n, t = prefixes.shape
            y = np.zeros((n, steps), "int32")
            y[:, :t] = prefixes
            logits = keras.ops.convert_to_numpy(model([np.repeat(x[i : i + 1], n, 0), y]))[:, t - 1].astype("float64")
            logp = logits - logits.max(-1, keepdims=True)
            logp -= np.log(np.exp(logp).sum(-1, keepdims=True))
            logp[:, :3] = -np.inf  # pad, unk, bos are never generated
            return logp

        assert out[i] == beam_search(step, BOS, EOS, width, steps)[0][0]


def test_model_bad_arguments():
    with pytest.raises(ValueError, match="vocab_size"):
        title_model(vocab_size=3, source_len=4, title_len=2)
    with pytest.raises(TypeError, match="copy_prior"):
        title_model(vocab_size=10, source_len=4, title_len=2, copy_prior=1)
    with pytest.raises(ValueError, match="lacks the layers"):
        decoding_models(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]))
    with pytest.raises(ValueError, match="shape"):
        generate(small_model(), np.zeros((2, 5), "int32"))
