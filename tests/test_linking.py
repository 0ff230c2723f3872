"""Tests for kbook.linking: data construction on crafted snippets (labels, masking, no leak of the
label into a context, KB only from its own articles), the alias table and metrics on
hand-computed cases, string similarity against scikit-learn, and the Keras scorer (padding
invariance, serialization, TF and JAX)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kbook import linking as L


def tok(text):
    """'国务院/nt 总理/n 李/nr 鹏/nr' -> [(word, tag), ...]"""
    return [tuple(t.rsplit("/", 1)) for t in text.split()]


LINES = [
    tok("李/nr 鹏/nr 会见/v 客人/n"),  # 0 title of article 0
    tok("国务院/nt 总理/n 李/nr 鹏/nr 今天/t 会见/v 江/nr 主席/n 。/w"),  # 1
    tok("李/nr 总理/n 说/v ，/w 老张/nr 和/c 泽民/nr 都/d 在/p 北京/ns 。/w"),  # 2
    tok("王/nr 磊/nr 访问/v 上海/ns"),  # 3 title of article 1
    tok("王/nr 磊/nr 与/p 王/nr 刚/nr 见面/v ，/w 王/nr 说/v 好/a 。/w"),  # 4
    tok("克林顿/nr 访问/v 上海/ns ，/w 欧阳/nr 修/nr 在/p 场/n 。/w"),  # 5
]
ARTICLES = [
    {"id": 0, "title_line": 0, "body_lines": [1, 2]},
    {"id": 1, "title_line": 3, "body_lines": [4, 5]},
]


# --------------------------------------------------------------------------- data construction


def test_person_names_pairs_surname_and_given_name_and_keeps_lone_tokens():
    assert L.person_names(LINES[1]) == [(2, 4, "李", "鹏"), (6, 7, "江", "")]
    assert L.person_names(LINES[5]) == [(0, 1, "克林顿", ""), (4, 6, "欧阳", "修")]
    # a Latin token is not a given name
    assert L.person_names(tok("小/nr Ａ/nr 来/v")) == [(0, 1, "小", ""), (1, 2, "Ａ", "")]
    assert L.person_names([]) == []


def test_person_names_rejects_bad_tokens():
    with pytest.raises(TypeError, match="tokens"):
        L.person_names("李/nr 鹏/nr")
    with pytest.raises(TypeError, match="tokens"):
        L.person_names([("李", "nr", "x")])


def by_key(mentions):
    return {(m["line"], m["kind"], m["surface"]): m for m in mentions}


def test_build_mentions_labels_on_a_crafted_snippet():
    mentions, dropped = L.build_mentions(LINES, ARTICLES, window=30)
    found = by_key(mentions)
    # truncated: the full name's given name is deleted; the label is the full name
    m = found[1, "truncated", "李"]
    assert m["gold"] == "李鹏" and m["article"] == 0
    assert "".join(m["left"]) == "国务院总理" and "".join(m["right"]).startswith("今天会见□主席")
    # surname-only: 李总理 -> the one 李 full name of the article; 老张 -> no 张 full name: dropped
    assert found[2, "surname", "李"]["gold"] == "李鹏"
    # 江主席: no 江 full name in article 0 -> dropped; 泽民: no such given name in article 0 -> not a mention
    assert (1, "surname", "江") not in found and (2, "given", "泽民") not in found
    # article 1: lone 王 with two 王 full names (王磊, 王刚) -> dropped as ambiguous
    assert (4, "surname", "王") not in found
    assert found[4, "truncated", "王"]["gold"] in {"王磊", "王刚"}
    assert found[5, "truncated", "欧阳"]["gold"] == "欧阳修"
    assert dropped == {"no full name": 2, "several full names": 1}
    # the title gives no mentions, only labels
    assert all(m["line"] not in (0, 3) for m in mentions)


def test_given_name_mentions_and_prefixed_surnames():
    lines = [tok("标题/n"), tok("邓/nr 小平/nr 说/v ，/w 小平/nr 同志/n 和/c 老邓/nr 来/v 了/y 。/w")]
    mentions, _ = L.build_mentions(lines, [{"id": 3, "title_line": 0, "body_lines": [1]}])
    kinds = sorted((m["kind"], m["surface"], m["gold"]) for m in mentions)
    assert kinds == [("given", "小平", "邓小平"), ("surname", "邓", "邓小平"), ("truncated", "邓", "邓小平")]
    only, _ = L.build_mentions(lines, [{"id": 3, "title_line": 0, "body_lines": [1]}], kinds=("given",))
    assert [m["kind"] for m in only] == ["given"]


def test_contexts_never_show_a_person_name_on_the_crafted_snippet():
    mentions, _ = L.build_mentions(LINES, ARTICLES, window=30)
    for m in mentions:
        context = "".join(m["left"] + m["right"])
        assert m["gold"] not in context
        assert m["gold"][len(m["surface"]):] not in m["left"] + m["right"]  # the given name as a word
        for name in ("李鹏", "鹏", "江", "老张", "泽民", "王磊", "王刚", "磊", "刚", "克林顿", "欧阳修"):
            assert name not in m["left"] + m["right"], (m, name)


def test_contexts_on_the_corpus_hide_the_label():
    from kbook.data import people_daily_articles, people_daily_tagged

    tagged, articles = people_daily_tagged(), people_daily_articles()[:300]
    mentions, _ = L.build_mentions(tagged, articles, window=20)
    assert len(mentions) > 300
    for m in mentions:
        words = m["left"] + m["right"]
        given_name = m["gold"][len(m["surface"]):] if m["kind"] != "given" else m["surface"]
        assert m["gold"] not in "".join(words)
        assert given_name not in words
        if len(given_name) > 1:
            assert given_name not in "".join(words)
        assert sum(map(len, m["left"])) <= 20 and sum(map(len, m["right"])) <= 20
        # every person-name token of the line is masked (unless the same text is also a
        # non-name word of that line, which the context may then legitimately show)
        line = tagged[m["line"]]
        names = {word for word, tag in line if tag == "nr"} - {word for word, tag in line if tag != "nr"}
        assert not names & set(words), (m, names & set(words))


def test_window_is_measured_in_characters_of_whole_words():
    line = tok("甲乙/n 丙丁/n 李/nr 鹏/nr 戊己/n 庚/n")
    mentions, _ = L.build_mentions([tok("题/n"), line], [{"id": 0, "title_line": 0, "body_lines": [1]}], window=3)
    (m,) = mentions
    assert m["left"] == ["丙丁"] and m["right"] == ["戊己", "庚"]  # 4 characters left would be too many


def test_names_inside_other_words_are_masked():
    lines = [tok("题/n"), tok("邓/nr 小平/nr 说/v ，/w 高举/v 邓小平理论/nz 和/c 小平同志/n 的/u 旗帜/n 。/w")]
    mentions, _ = L.build_mentions(lines, [{"id": 0, "title_line": 0, "body_lines": [1]}])
    (m,) = mentions
    assert m["right"] == ["说", "，", "高举", L.MASK + "理论", "和", L.MASK + "同志", "的", "旗帜", "。"]


def test_build_mentions_rejects_bad_input():
    with pytest.raises(TypeError, match="window"):
        L.build_mentions(LINES, ARTICLES, window=2.5)
    with pytest.raises(ValueError, match="window"):
        L.build_mentions(LINES, ARTICLES, window=0)
    with pytest.raises(ValueError, match="kinds"):
        L.build_mentions(LINES, ARTICLES, kinds=("nickname",))
    with pytest.raises(ValueError, match="line 99"):
        L.build_mentions(LINES, [{"id": 5, "title_line": 99, "body_lines": []}])
    with pytest.raises(TypeError, match="articles"):
        L.build_mentions(LINES, [{"id": 5}])


def test_knowledge_base_counts_and_descriptions_come_only_from_its_articles():
    kb = L.build_knowledge_base(LINES, ARTICLES[:1], n_keywords=3, window=3)
    # brute force: full names in lines 0-2
    assert kb["count"] == {"李鹏": 2}
    assert set(kb["keywords"]["李鹏"]) <= {"客人", "国务院", "总理"}
    assert kb["description"]["李鹏"].startswith("李鹏：")
    assert "上海" not in kb["description"]["李鹏"]  # a word of the other article
    both = L.build_knowledge_base(LINES, ARTICLES, n_keywords=5, window=3)
    assert both["count"] == {"欧阳修": 1, "李鹏": 2, "王刚": 1, "王磊": 2}
    for name, words in both["keywords"].items():
        assert not {"江", "老张", "泽民", "克林顿", "李", "鹏"} & set(words)  # no person names


def test_keywords_rank_by_count_times_idf():
    lines = [tok("总理/n 同志/n 李/nr 鹏/nr 总理/n"), tok("同志/n 王/nr 磊/nr 老师/n")]
    kb = L.build_knowledge_base(lines, [{"id": 0, "title_line": 0, "body_lines": [1]}], n_keywords=2, window=3)
    # 总理: count 2, df 1; 同志: count 1, df 2 -> 总理 first for 李鹏
    assert kb["keywords"]["李鹏"] == ["总理", "同志"]
    assert kb["keywords"]["王磊"] == ["老师", "同志"]


# --------------------------------------------------------------------------- aliases, metrics


def test_alias_table_and_candidates_by_hand():
    kb = {"count": {"李鹏": 5, "李岚清": 2, "王鹏": 1, "欧阳修": 3, "李宁": 2}}
    table = L.alias_table(kb)
    assert table["李"] == [("李鹏", 5), ("李宁", 2), ("李岚清", 2)]
    assert table["鹏"] == [("李鹏", 5), ("王鹏", 1)]
    assert table["欧阳"] == [("欧阳修", 3)] and table["修"] == [("欧阳修", 3)]
    assert table["李鹏"] == [("李鹏", 5)]
    assert L.candidates(table, "李", k=2) == ["李鹏", "李宁"]
    assert L.candidates(table, "赵") == []
    probs = L.prior_probabilities(table, "李", ["李鹏", "李宁", "李岚清", "王鹏"])
    np.testing.assert_allclose(probs, [5 / 9, 2 / 9, 2 / 9, 0])
    np.testing.assert_allclose(L.prior_probabilities(table, "赵", ["赵刚"]), [0.0])
    with pytest.raises(ValueError, match="k"):
        L.candidates(table, "李", k=0)
    with pytest.raises(TypeError, match="surface"):
        L.candidates(table, 3)
    with pytest.raises(TypeError, match="kb"):
        L.alias_table({"李鹏": 3})
    with pytest.raises(ValueError, match="two characters"):
        L.alias_table({"count": {"李": 3}})


def test_accuracy_and_recall_by_hand():
    gold = ["李鹏", "江泽民", "王磊", "李宁"]
    assert L.accuracy(["李鹏", "江青", None, "李宁"], gold) == 0.5
    lists = [["李鹏", "李宁"], ["江青", "江泽民"], [], ["李鹏", "李岚清", "李宁"]]
    assert L.recall_at_k(lists, gold, k=1) == 0.25
    assert L.recall_at_k(lists, gold, k=2) == 0.5
    assert L.recall_at_k(lists, gold, k=3) == 0.75
    assert L.recall_at_k(lists, gold) == 0.75
    with pytest.raises(ValueError, match="same length"):
        L.accuracy(["a"], ["a", "b"])
    with pytest.raises(ValueError, match="empty"):
        L.recall_at_k([], [])
    with pytest.raises(TypeError, match="k"):
        L.recall_at_k(lists, gold, k=1.5)


names = st.sampled_from(["甲", "乙", "丙", "丁", "戊"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.lists(names, max_size=5, unique=True), names), min_size=1, max_size=10))
def test_recall_is_monotone_in_k_and_top1_recall_is_accuracy_of_the_first(data):
    lists, gold = [d[0] for d in data], [d[1] for d in data]
    values = [L.recall_at_k(lists, gold, k) for k in range(1, 7)]
    assert values == sorted(values)
    assert values[-1] == L.recall_at_k(lists, gold)
    assert values[0] == L.accuracy([c[0] if c else None for c in lists], gold)


han = st.text(alphabet="的一是了人在有中国大", min_size=0, max_size=12)


@settings(max_examples=60, deadline=None)
@given(han, han)
def test_string_similarity_matches_scikit_learn_bigram_cosine(a, b):
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    ours = L.string_similarity(a, b)
    if len(a) < 2 or len(b) < 2:
        assert ours == 0.0
        return
    vectors = CountVectorizer(analyzer="char", ngram_range=(2, 2), lowercase=False).fit_transform([a, b])
    assert math.isclose(ours, float(cosine_similarity(vectors)[0, 1]), abs_tol=1e-12)


def test_string_similarity_ignores_punctuation_and_masks_and_breaks_ties_by_order():
    assert L.string_similarity("总理：", "总理") == pytest.approx(1.0)
    assert L.string_similarity("□□", "□□") == 0.0
    descriptions = {"甲": "甲：会议", "乙": "乙：会议", "丙": "丙：总理"}
    assert L.rank_by_similarity("总理说", ["甲", "乙", "丙"], descriptions) == ["丙", "甲", "乙"]
    assert L.rank_by_similarity("无关", ["乙", "甲"], descriptions) == ["乙", "甲"]
    with pytest.raises(TypeError):
        L.string_similarity("a", None)


def test_char_vocabulary_and_min_count():
    vocab = L.char_vocabulary(["李鹏李", "王"], min_count=2)
    assert vocab == {"李": 2}
    with pytest.raises(ValueError, match="min_count"):
        L.char_vocabulary(["a"], min_count=0)


def test_encode_pairs_flags_mention_keywords_and_prior():
    kb = {"count": {"李鹏": 3, "李宁": 1}, "keywords": {"李鹏": ["总理"], "李宁": ["体操"]},
          "description": {"李鹏": "李鹏：总理", "李宁": "李宁：体操"}}
    mention = dict(surface="李", left=["国务院", "总理"], right=["会见", "客人"], gold="李鹏")
    vocab = L.char_vocabulary(["国务院总理李会见客人李鹏李宁体操："])
    arrays = L.encode_pairs([(0, "李鹏"), (0, "李宁")], [mention], kb, L.alias_table(kb), vocab, 20, 8)
    inverse = {i: ch for ch, i in vocab.items()}
    text = "".join(inverse.get(i, "") for i in arrays["context"][0])
    assert text == "国务院总理李会见客人"
    np.testing.assert_array_equal(arrays["features"][0, :10, 0], [0, 0, 0, 0, 0, 1, 0, 0, 0, 0])
    np.testing.assert_array_equal(arrays["features"][0, :10, 1], [0, 0, 0, 1, 1, 0, 0, 0, 0, 0])
    assert arrays["features"][1, :, 1].sum() == 0
    assert not arrays["context"][:, 10:].any() and not arrays["features"][:, 10:].any()
    np.testing.assert_allclose(np.exp(arrays["prior"][:, 0]), [0.75, 0.25], rtol=1e-6)
    assert "".join(inverse[i] for i in arrays["description"][1] if i) == "李宁：体操"
    # a long context is cut around the mention, which stays inside
    long = dict(surface="李", left=["甲"] * 30, right=["乙"] * 30, gold="李鹏")
    cut = L.encode_pairs([(0, "李鹏")], [long], kb, L.alias_table(kb), {"李": 2, "甲": 3, "乙": 4}, 11, 4)
    np.testing.assert_array_equal(cut["context"][0], [3] * 5 + [2] + [4] * 5)
    assert cut["features"][0, 5, 0] == 1 and cut["features"][0, :, 0].sum() == 1
    with pytest.raises(ValueError, match="not in the knowledge base"):
        L.encode_pairs([(0, "王磊")], [mention], kb, L.alias_table(kb), vocab, 20, 8)
    with pytest.raises(ValueError, match="context_length"):
        L.encode_pairs([(0, "李鹏")], [mention], kb, L.alias_table(kb), vocab, 2, 8)


# --------------------------------------------------------------------------- the Keras scorer


def toy_inputs(rng, batch=4, lc=9, ld=6, vocab=12):
    context = rng.integers(2, vocab, size=(batch, lc)).astype("int32")
    description = rng.integers(2, vocab, size=(batch, ld)).astype("int32")
    context[:, -2:] = 0
    description[1, -3:] = 0
    features = rng.integers(0, 2, size=(batch, lc, 2)).astype("float32")
    features[:, -2:] = 0
    return {"context": context, "features": features, "description": description,
            "prior": rng.normal(size=(batch, 1)).astype("float32")}


@pytest.mark.parametrize("use_prior", [False, True])
def test_scorer_is_invariant_to_padding(use_prior):
    import keras

    rng = np.random.default_rng(0)
    x = toy_inputs(rng)
    scorer = L.ContextDescriptionScorer(12, dim=8, use_prior=use_prior)
    base = keras.ops.convert_to_numpy(scorer(x))
    padded = dict(x)
    padded["context"] = np.pad(x["context"], ((0, 0), (0, 5)))
    padded["features"] = np.pad(x["features"], ((0, 0), (0, 5), (0, 0)))
    padded["description"] = np.pad(x["description"], ((0, 0), (0, 4)))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(scorer(padded)), base, rtol=1e-5, atol=1e-5)
    # and cutting the padding that is there changes nothing either
    trimmed = dict(x, context=x["context"][:, :-2], features=x["features"][:, :-2])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(scorer(trimmed)), base, rtol=1e-5, atol=1e-5)
    # the prior matters exactly when use_prior is set
    moved = keras.ops.convert_to_numpy(scorer(dict(x, prior=x["prior"] + 3.0)))
    assert np.allclose(moved, base) != use_prior


def test_scorer_reads_both_sides():
    import keras

    rng = np.random.default_rng(1)
    x = toy_inputs(rng)
    scorer = L.ContextDescriptionScorer(12, dim=8, dropout=0.0)
    base = keras.ops.convert_to_numpy(scorer(x))
    for key in ("context", "description"):
        changed = dict(x)
        changed[key] = np.where(x[key] > 0, (x[key] - 1) % 10 + 2, 0).astype("int32")
        assert not np.allclose(keras.ops.convert_to_numpy(scorer(changed)), base)
    flags = dict(x, features=np.where(x["context"][..., None] > 0, 1 - x["features"], 0).astype("float32"))
    assert not np.allclose(keras.ops.convert_to_numpy(scorer(flags)), base)


def test_scorer_handles_an_empty_mention_and_gives_finite_gradients():
    import keras

    from kbook.autodiff import value_and_grad

    rng = np.random.default_rng(2)
    x = toy_inputs(rng)
    x["features"][:] = 0  # no mention flag anywhere: the mean over it must not divide by zero
    model = L.link_model(12, dim=8)
    logits = keras.ops.convert_to_numpy(model(x))
    assert np.all(np.isfinite(logits))
    y = np.array([[1.0], [0.0], [1.0], [0.0]], dtype="float32")

    def loss(*weights):
        for v, w in zip(model.trainable_variables, weights):
            v.assign(w)
        return keras.ops.mean(keras.losses.binary_crossentropy(y, model(x), from_logits=True))

    value, grads = value_and_grad(loss, *[keras.ops.convert_to_tensor(v) for v in model.trainable_variables])
    assert np.isfinite(float(value))
    assert all(np.all(np.isfinite(keras.ops.convert_to_numpy(g))) for g in grads)


def test_link_model_learns_a_keyword_rule():
    """A separable toy task: the right candidate is the one whose keywords occur in the context."""
    import keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(3)
    x = toy_inputs(rng, batch=256)
    y = (x["features"][:, :, 1].sum(1, keepdims=True) > 3).astype("float32")
    model = L.link_model(12, dim=16, dropout=0.0, learning_rate=1e-2)
    model.fit(x, y, epochs=15, batch_size=64, verbose=0)
    accuracy = np.mean((keras.ops.convert_to_numpy(model.predict(x, verbose=0)) > 0) == (y > 0))
    assert accuracy > 0.9


def test_scorer_serializes_and_survives_save_and_load(tmp_path):
    import keras

    rng = np.random.default_rng(4)
    x = toy_inputs(rng)
    model = L.link_model(12, dim=8, use_prior=True)
    model.fit(x, np.ones((4, 1), "float32"), epochs=1, verbose=0)
    scorer = model.get_layer("scorer")
    config = scorer.get_config()
    assert config["vocabulary_size"] == 12 and config["dim"] == 8 and config["use_prior"] is True
    clone = L.ContextDescriptionScorer.from_config(config)
    assert clone.get_config() == config
    path = tmp_path / "linker.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded.predict(x, verbose=0)),
                               keras.ops.convert_to_numpy(model.predict(x, verbose=0)), rtol=1e-5, atol=1e-6)


def test_scorer_rejects_bad_arguments():
    with pytest.raises(TypeError, match="vocabulary_size"):
        L.ContextDescriptionScorer(12.0)
    with pytest.raises(ValueError, match="dim"):
        L.ContextDescriptionScorer(12, dim=0)
    with pytest.raises(ValueError, match="dropout"):
        L.ContextDescriptionScorer(12, dropout=1.0)
    with pytest.raises(TypeError, match="use_prior"):
        L.ContextDescriptionScorer(12, use_prior=1)
