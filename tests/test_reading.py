"""kbook.reading: span decoding against brute force, metrics on hand-computed cases, the cloze
construction on a crafted article, and the Keras parts (padding invariance, receptive field,
serialization)."""

import collections

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kbook import reading
from kbook.reading import best_span, char_f1, cloze_examples, exact_match, receptive_field

# --------------------------------------------------------------------------- best_span


def brute_force_span(start, end, max_length, mask):
    best, arg = -np.inf, None
    for s in range(len(start)):
        for e in range(s, min(len(start), s + max_length)):
            if mask[s] and mask[e] and start[s] + end[e] > best:
                best, arg = start[s] + end[e], (s, e)
    return arg, best


@st.composite
def span_problems(draw):
    batch = draw(st.integers(1, 4))
    length = draw(st.integers(1, 12))
    # small integers make ties common, which is where tie-breaking bugs hide
    values = st.one_of(st.integers(-3, 3).map(float), st.floats(-1e3, 1e3, allow_nan=False))
    start = np.array(draw(st.lists(st.lists(values, min_size=length, max_size=length), min_size=batch, max_size=batch)))
    end = np.array(draw(st.lists(st.lists(values, min_size=length, max_size=length), min_size=batch, max_size=batch)))
    mask = np.array(draw(st.lists(st.lists(st.booleans(), min_size=length, max_size=length), min_size=batch, max_size=batch)))
    mask[np.arange(batch), draw(st.lists(st.integers(0, length - 1), min_size=batch, max_size=batch))] = True
    max_length = draw(st.integers(1, 14))
    return start, end, mask, max_length


@given(span_problems())
def test_best_span_matches_brute_force(problem):
    start, end, mask, max_length = problem
    starts, ends, scores = best_span(start, end, max_length, mask)
    for b in range(len(start)):
        (s, e), score = brute_force_span(start[b], end[b], max_length, mask[b])
        assert (starts[b], ends[b]) == (s, e)
        assert scores[b] == score


def test_best_span_without_mask_and_single_example():
    assert best_span(np.array([0.0, 3.0, 1.0]), np.array([2.0, 0.0, 2.5]), max_length=2) == (1, 2, 5.5)
    # max_length 1 forces s == e
    assert best_span(np.array([5.0, 0.0]), np.array([0.0, 5.0]), max_length=1)[:2] == (0, 0)


def test_best_span_rejects_bad_input():
    with pytest.raises(ValueError, match="max_length"):
        best_span(np.zeros(3), np.zeros(3), 0)
    with pytest.raises(TypeError, match="max_length"):
        best_span(np.zeros(3), np.zeros(3), 2.0)
    with pytest.raises(ValueError, match="one shape"):
        best_span(np.zeros(3), np.zeros(4), 2)
    with pytest.raises(ValueError, match="finite"):
        best_span(np.array([0.0, np.nan]), np.zeros(2), 2)
    with pytest.raises(ValueError, match="at least one position"):
        best_span(np.zeros((1, 3)), np.zeros((1, 3)), 2, mask=np.zeros((1, 3), bool))
    with pytest.raises(TypeError, match="start_scores"):
        best_span(np.array(["a"]), np.zeros(1), 2)


# --------------------------------------------------------------------------- metrics


@pytest.mark.parametrize(
    "prediction, answer, em, f1",
    [
        ("北京", "北京", 1.0, 1.0),
        ("北京。", " 北京", 1.0, 1.0),  # punctuation and spaces do not count
        ("北京市", "北京", 0.0, 0.8),  # P = 2/3, R = 1
        ("京", "北京", 0.0, 2 / 3),  # P = 1, R = 1/2
        ("上海", "北京", 0.0, 0.0),
        ("", "北京", 0.0, 0.0),
        ("", "", 1.0, 1.0),
        ("ＡＢ", "AB", 1.0, 1.0),  # full-width letters normalise (NFKC)
        ("江江泽", "江泽民", 0.0, 2 / 3),  # multisets: one 江 in common, not two; P = R = 2/3
    ],
)
def test_metrics_on_hand_computed_cases(prediction, answer, em, f1):
    assert exact_match(prediction, answer) == em
    assert char_f1(prediction, answer) == pytest.approx(f1)


def test_metrics_reject_non_strings():
    with pytest.raises(TypeError, match="strings"):
        char_f1(3, "北京")


# --------------------------------------------------------------------------- the cloze set

ARTICLE = [
    [("新华社", "nt"), ("北京", "ns"), ("１月", "t"), ("１日", "t"), ("电", "n"), ("，", "w"),
     ("国家", "n"), ("主席", "n"), ("江", "nr"), ("泽民", "nr"), ("在", "p"), ("人民", "n"),
     ("大会堂", "n"), ("会见", "v"), ("了", "u"), ("客人", "n"), ("。", "w")],
    [("江", "nr"), ("泽民", "nr"), ("说", "v"), ("，", "w"), ("北京", "ns"), ("欢迎", "v"),
     ("朋友", "n"), ("。", "w"), ("会见", "v"), ("结束", "v"), ("后", "f"), ("客人", "n"),
     ("前往", "v"), ("上海", "ns"), ("。", "w")],
    [("客人", "n"), ("将", "d"), ("参观", "v"), ("上海", "ns"), ("浦东", "ns"), ("。", "w")],
]


def test_entity_mentions_merge_surname_and_given_name():
    mentions = reading.entity_mentions(ARTICLE[0])
    assert (15, 18, "江泽民", "person") in mentions  # 新华社北京１月１日电，国家主席 is 15 characters
    assert [m[2] for m in mentions] == ["新华社", "北京", "江泽民"]
    assert reading.entity_mentions(ARTICLE[2]) == [(5, 9, "上海浦东", "place")]  # after 客人将参观


def test_cloze_blank_and_answer_span_agree():
    examples, _ = cloze_examples(ARTICLE, article_id=7, context=2)
    assert examples
    for example in examples:
        answer, passage, question = example["answer"], example["passage"], example["question"]
        # the blank stands where the answer stood: putting the answer back restores a sentence
        # of the article
        blank = reading.BLANKS[example["type"]]
        assert question[example["blank_at"]] == blank
        restored = question.replace(blank, answer)
        assert any(restored in "".join(w for w, _ in line) for line in ARTICLE)
        # every listed start is an occurrence, and every occurrence is listed
        assert example["answer_starts"]
        for start in example["answer_starts"]:
            assert passage[start:start + len(answer)] == answer
        assert len(example["answer_starts"]) == passage.count(answer)  # no overlapping answers here
        assert example["article"] == 7


def test_no_question_leaks_its_answer():
    examples, _ = cloze_examples(ARTICLE, context=2)
    for example in examples:
        assert example["answer"] not in example["question"]
        assert example["question"] not in example["passage"]


def test_the_expected_questions_and_the_drop_reasons():
    examples, dropped = cloze_examples(ARTICLE, context=2)
    found = {(e["question"], e["answer"]) for e in examples}
    # 江泽民 in sentence 1 is asked (he is named in sentence 2), 上海 in sentence 3 is asked
    assert ("新华社北京１月１日电，国家主席Ⓟ在人民大会堂会见了客人。", "江泽民") in found
    assert ("会见结束后客人前往Ⓛ。", "上海") in found
    # 新华社 appears nowhere else: absent from its passage, not asked
    assert all(answer != "新华社" for _, answer in found)
    assert dropped["absent"] >= 1


def test_string_matchable_questions_are_dropped():
    # the passage repeats the blank's neighbours verbatim around the answer: a string matcher
    # answers it, so the construction must drop it
    line = [("张", "nr"), ("三", "nr"), ("访问", "v"), ("了", "u"), ("巴黎", "ns"), ("。", "w")]
    other = [("报道", "v"), ("说", "v"), ("访问", "v"), ("了", "u"), ("巴黎", "ns"), ("。", "w")]
    examples, dropped = cloze_examples([line, other], context=2)
    assert all(e["answer"] != "巴黎" for e in examples)
    assert dropped["string_match"] == 2  # both sentences' 巴黎 questions
    # the same article with different neighbours keeps the question
    other2 = [("巴黎", "ns"), ("很", "d"), ("美", "a"), ("。", "w")]
    kept, _ = cloze_examples([line, other2], context=2)
    assert any(e["answer"] == "巴黎" and e["question"] == "张三访问了Ⓛ。" for e in kept)


def test_split_by_article_keeps_articles_whole():
    examples = [{"article": a % 13} for a in range(100)]
    parts = reading.split_by_article(examples, seed=3)
    sets = [{e["article"] for e in part} for part in parts]
    assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
    assert sum(len(p) for p in parts) == 100
    with pytest.raises(ValueError, match="fractions"):
        reading.split_by_article(examples, (0.5, 0.5, 0.5))


def test_baselines_on_a_hand_made_example():
    example = {
        "type": "place",
        "question_tokens": [("代表团", "n"), ("抵达", "v"), ("Ⓛ", "blank"), ("。", "w")],
        "passage": "李明说北京好。李明说北京大。代表团抵达上海。",
        "passage_entities": [(0, 2, "李明", "person"), (3, 5, "北京", "place"), (7, 9, "李明", "person"),
                             (10, 12, "北京", "place"), (19, 21, "上海", "place")],
    }
    assert reading.most_frequent_entity(example) == "李明"  # 2 mentions, earlier than 北京
    assert reading.most_frequent_entity(example, same_type=True) == "北京"
    assert reading.nearest_entity(example) == "上海"  # next to 代表团抵达


def test_baselines_reject_bad_examples():
    with pytest.raises(TypeError, match="example"):
        reading.most_frequent_entity(["not", "a", "dict"])
    with pytest.raises(ValueError, match="passage_entities"):
        reading.most_frequent_entity({"type": "place"})
    with pytest.raises(ValueError, match="blank"):
        reading.nearest_entity({"type": "place", "question_tokens": [("a", "n")], "passage": "",
                                "passage_entities": []})


def test_cloze_rejects_bad_input():
    with pytest.raises(TypeError, match="article_lines"):
        cloze_examples("not a list")
    with pytest.raises(ValueError, match="max_passage"):
        cloze_examples(ARTICLE, max_passage=0)
    with pytest.raises(TypeError, match="pairs"):
        cloze_examples([[("a", 1)]])


# --------------------------------------------------------------------------- encoding


def test_word_ids_are_broadcast_to_characters():
    words = {"北京": 2, "大学": 3}
    ids = reading.word_ids_per_char(["北京大学生", "北京"], words, 6)
    # jieba's own segmentation: every character carries its word's id (1 for unknown words)
    import jieba

    for row, text in enumerate(["北京大学生", "北京"]):
        expected = [words.get(w, 1) for w in jieba.lcut(text) for _ in w]
        assert ids[row, :len(text)].tolist() == expected
        assert (ids[row, len(text):] == 0).all()
    with pytest.raises(ValueError, match="join back"):
        reading.word_ids_per_char(["ab"], {}, 3, segment=lambda t: ["a"])


def test_encoded_targets_and_features_agree_with_the_examples():
    examples, _ = cloze_examples(ARTICLE, context=2)
    vocab = reading.char_vocabulary([e["passage"] for e in examples])
    inputs, targets = reading.encode_examples(examples, vocab, {}, 40, 60)
    for row, example in enumerate(examples):
        starts = np.nonzero(targets[row, :, 0])[0].tolist()
        ends = np.nonzero(targets[row, :, 1])[0].tolist()
        assert starts == example["answer_starts"]
        assert [example["passage"][s:e + 1] for s, e in zip(starts, ends)] == [example["answer"]] * len(starts)
        # in this article every answer occurrence lies inside a mention of its type: a candidate
        assert inputs[4][row, starts, 1].all()
        assert inputs[2][row, :len(example["passage"])].all() and not inputs[2][row, len(example["passage"]):].any()


def test_char_vocabulary_and_encoding():
    vocab = reading.char_vocabulary(["aab", "bc", "a"], min_count=2)
    assert vocab == {"a": 2, "b": 3}
    assert reading.encode_chars(["abc"], vocab, 4).tolist() == [[2, 3, 1, 0]]


def test_receptive_field_formula_and_errors():
    assert receptive_field(3, [1]) == 3
    assert receptive_field(3, [1, 2, 4]) == 15
    assert receptive_field(5, [1, 1]) == 9
    with pytest.raises(ValueError, match="dilations"):
        receptive_field(3, [1, 0])
    with pytest.raises(TypeError, match="dilations"):
        receptive_field(3, 2)


# --------------------------------------------------------------------------- Keras parts


def _stack(dilations, kernel_size=3, dim=4, seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((None, dim))
    masked = keras.layers.Masking(0.0)(inputs)
    h = masked
    for d in dilations:
        h = reading.DilatedGatedConv1D(kernel_size, d)(h)
    return keras.Model(inputs, h)


@pytest.mark.parametrize("dilations", [[1], [1, 2], [1, 2, 4], [2, 3]])
def test_receptive_field_is_measured_as_the_formula_says(dilations):
    import keras

    model = _stack(dilations, kernel_size=3)
    length, centre = 41, 20
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1, length, 4)).astype("float32") + 3.0  # no exact zeros: Masking keeps all
    y = keras.ops.convert_to_numpy(model(x))
    x2 = x.copy()
    x2[0, centre] += 5.0
    y2 = keras.ops.convert_to_numpy(model(x2))
    changed = np.nonzero(np.abs(y2 - y).max(axis=-1)[0] > 1e-6)[0]
    # the outputs that see the perturbed input span a centred window as wide as the formula says
    half = (receptive_field(3, dilations) - 1) // 2
    assert changed.min() == centre - half and changed.max() == centre + half
    # and inside it exactly the offsets reachable by one tap per layer (brute force over taps):
    # with dilations (2, 3) offsets ±4 are unreachable, the "gridding" holes
    reachable = {0}
    for d in dilations:
        reachable = {r + tap * d for r in reachable for tap in (-1, 0, 1)}
    assert set((changed - centre).tolist()) == reachable


def test_padding_never_changes_real_steps():
    import keras

    model = _stack([1, 2, 4])
    rng = np.random.default_rng(2)
    real = rng.normal(size=(1, 9, 4)).astype("float32") + 3.0
    alone = keras.ops.convert_to_numpy(model(real))
    # pad with zeros (what Masking reads as padding), then check the real steps are unchanged
    padded = np.concatenate([real, np.zeros((1, 7, 4), "float32")], axis=1)
    out = keras.ops.convert_to_numpy(model(padded))
    np.testing.assert_allclose(out[:, :9], alone, atol=1e-6)
    assert np.all(out[:, 9:] == 0)


def test_garbage_in_padding_changes_nothing_but_would_without_the_mask():
    import keras

    layer = reading.DilatedGatedConv1D(3, 2)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 12, 5)).astype("float32")
    mask = np.ones((2, 12), bool)
    mask[:, 8:] = False
    garbage = x.copy()
    garbage[:, 8:] = rng.normal(size=(2, 4, 5)) * 100
    a = keras.ops.convert_to_numpy(layer(x, mask=mask))
    b = keras.ops.convert_to_numpy(layer(garbage, mask=mask))
    np.testing.assert_allclose(a[:, :8], b[:, :8], atol=1e-5)
    # the control: without the mask the garbage does reach real steps 6 and 7 (dilation 2)
    c = keras.ops.convert_to_numpy(layer(garbage))
    assert np.abs(c[:, 6:8] - a[:, 6:8]).max() > 1e-3


def test_gated_residual_formula_against_numpy():
    import keras

    layer = reading.DilatedGatedConv1D(3, 1)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(1, 6, 2)).astype("float32")
    y = keras.ops.convert_to_numpy(layer(x))
    kernel, bias = (keras.ops.convert_to_numpy(w) for w in layer.conv.weights)  # (3, 2, 4), (4,)
    padded = np.pad(x[0], ((1, 1), (0, 0)))
    h = np.stack([sum(padded[t + k] @ kernel[k] for k in range(3)) + bias for t in range(6)])
    value, gate = h[:, :2], h[:, 2:]
    sigma = 1 / (1 + np.exp(-gate))
    np.testing.assert_allclose(y[0], x[0] * (1 - sigma) + value * sigma, rtol=1e-5, atol=1e-6)


def test_layer_arguments_are_checked():
    with pytest.raises(ValueError, match="odd"):
        reading.DilatedGatedConv1D(kernel_size=2)
    with pytest.raises(TypeError, match="dilation_rate"):
        reading.DilatedGatedConv1D(dilation_rate=1.5)
    with pytest.raises(ValueError, match="dropout"):
        reading.DilatedGatedConv1D(dropout=1.0)
    with pytest.raises(ValueError, match="char_vocab_size"):
        reading.CharWordEmbedding(1, 5, 4)


def test_char_word_embedding_adds_the_projected_word_vector():
    import keras

    layer = reading.CharWordEmbedding(10, 6, 3, word_dim=2)
    chars, words = np.array([[4, 5, 0]]), np.array([[2, 2, 0]])
    y = keras.ops.convert_to_numpy(layer([chars, words]))
    c = keras.ops.convert_to_numpy(layer.chars.embeddings)
    w = keras.ops.convert_to_numpy(layer.words.embeddings)
    p = keras.ops.convert_to_numpy(layer.project.kernel)
    np.testing.assert_allclose(y[0], c[[4, 5, 0]] + w[[2, 2, 0]] @ p, rtol=1e-5, atol=1e-6)
    assert keras.ops.convert_to_numpy(layer.compute_mask([chars, words])).tolist() == [[True, True, False]]


def test_span_loss_against_numpy():
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(2, 5, 2)).astype("float32")
    y = np.zeros((2, 5, 2), "float32")
    y[0, [1, 3], 0] = 1  # two occurrences of the answer
    y[0, [2, 4], 1] = 1
    y[1, 0, :] = 1
    import keras

    got = keras.ops.convert_to_numpy(reading.span_loss(y, logits))

    def lse(v):
        return np.log(np.exp(v).sum())

    for b in range(2):
        expected = sum(lse(logits[b, :, k]) - lse(logits[b, y[b, :, k] == 1, k]) for k in range(2))
        assert got[b] == pytest.approx(expected, rel=1e-5)


def _reader_inputs(rng, batch=3, tq=5, tp=14, pad_from=10):
    q_chars = rng.integers(2, 40, (batch, tq)).astype("int32")
    q_words = rng.integers(2, 20, (batch, tq)).astype("int32")
    p_chars = rng.integers(2, 40, (batch, tp)).astype("int32")
    p_words = rng.integers(2, 20, (batch, tp)).astype("int32")
    p_chars[:, pad_from:] = 0
    p_words[:, pad_from:] = 0
    q_chars[0, 3:] = 0
    q_words[0, 3:] = 0
    match = rng.integers(0, 2, (batch, tp, 1)).astype("float32")
    return [q_chars, q_words, p_chars, p_words, match]


def test_reader_ignores_padding_and_survives_save_and_load(tmp_path):
    import keras

    keras.utils.set_random_seed(0)
    model = reading.build_reader(40, 20, dim=8, question_dilations=(1,), passage_dilations=(1, 2), n_features=1)
    rng = np.random.default_rng(6)
    x = _reader_inputs(rng)
    y = keras.ops.convert_to_numpy(model(x))
    assert np.all(y[:, 10:] == -1e4)  # padded passage steps can never be chosen
    # the passage truncated to its real length gives the same logits; garbage match features on
    # padded steps change nothing
    short = [x[0], x[1], x[2][:, :10], x[3][:, :10], x[4][:, :10]]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(short)), y[:, :10], atol=1e-5)
    # (the question's padding is checked on QuestionAttention itself, below)
    path = tmp_path / "reader.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x)), y, atol=1e-6)


def test_reader_learns_a_toy_task():
    # the answer is always the character right after the marker id 39: a reader that honours its
    # inputs learns it within a few epochs
    import keras

    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(7)
    n, tp = 128, 10
    p_chars = rng.integers(2, 30, (n, tp)).astype("int32")
    where = rng.integers(0, tp - 1, n)
    p_chars[np.arange(n), where] = 39
    y = np.zeros((n, tp, 2), "float32")
    y[np.arange(n), where + 1, :] = 1
    x = [np.full((n, 2), 5, "int32"), np.full((n, 2), 3, "int32"), p_chars,
         np.full((n, tp), 2, "int32"), np.zeros((n, tp, 1), "float32")]
    model = reading.build_reader(40, 5, dim=16, question_dilations=(1,), passage_dilations=(1, 1), dropout=0.0,
                                 n_features=1)
    model.compile(keras.optimizers.Adam(1e-2), loss=reading.span_loss)
    model.fit(x, y, epochs=10, batch_size=32, verbose=0)
    logits = keras.ops.convert_to_numpy(model(x))
    starts, ends, _ = best_span(logits[..., 0], logits[..., 1], 3)
    assert np.mean((starts == where + 1) & (ends == where + 1)) > 0.9


def test_question_attention_ignores_question_padding_and_pools_to_zero_when_empty():
    import keras

    layer = reading.QuestionAttention(4)
    rng = np.random.default_rng(8)
    p = rng.normal(size=(1, 3, 2)).astype("float32")
    q = rng.normal(size=(1, 4, 2)).astype("float32")
    q_mask = np.array([[True, True, False, False]])
    a = keras.ops.convert_to_numpy(layer([p, q], mask=[None, q_mask]))
    q2 = q.copy()
    q2[0, 2:] = 50.0
    b = keras.ops.convert_to_numpy(layer([p, q2], mask=[None, q_mask]))
    np.testing.assert_allclose(a, b, atol=1e-6)
    empty = keras.ops.convert_to_numpy(layer([p, q], mask=[None, np.zeros((1, 4), bool)]))
    assert np.all(np.isfinite(empty)) and np.all(empty == 0)


def test_counts_are_counters():
    _, dropped = cloze_examples(ARTICLE)
    assert isinstance(dropped, collections.Counter)
