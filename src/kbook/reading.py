"""Extractive reading comprehension: a cloze set built from People's Daily, the DGCNN reader's
pieces, span decoding and the EM / F1 metrics.

See the chapter: notebooks/dgcnn-reading.ipynb (Part IV, "A DGCNN reader").

The data (:func:`cloze_examples`): a question is one sentence of an article with one named entity
(a person ``nr``, place ``ns`` or organisation ``nt``, consecutive tokens of one tag merged)
replaced by a blank that names its type; the passage is the rest of the article, the sentences
nearest to the question first, up to ``max_passage`` characters; the answer is the entity's text,
found in the passage (every occurrence is an answer span). Questions whose answer still shows in
the question, whose answer is absent from the passage, or whose answer sits in the passage next to
the same characters that flank the blank (answerable by string matching alone) are dropped.

The model's pieces: :class:`DilatedGatedConv1D` (the residual gated convolution with dilation),
:class:`CharWordEmbedding` (characters plus jieba words broadcast to their characters),
:class:`QuestionAttention` and :class:`AttentionPooling` (question-passage attention),
:class:`SpanHead` and :func:`span_loss` (marginal likelihood of all answer occurrences), :func:`build_reader`.
Decoding and scoring: :func:`best_span`, :func:`exact_match`, :func:`char_f1`.

Imports: NumPy at module level. :func:`word_ids_per_char` imports jieba when it is called. The
Keras classes and functions (``DilatedGatedConv1D``, ``CharWordEmbedding``, ``QuestionAttention``,
``AttentionPooling``, ``MaskedConcatenate``, ``SpanHead``, ``span_loss``, ``build_reader``) live in ``kbook._reading_keras``, loaded the
first time one of the names is looked up, so ``import kbook.reading`` imports no backend; loading
registers the layers with Keras as ``kbook>Name`` (look a name up before ``load_model``).
"""

from __future__ import annotations

import collections
import unicodedata

import numpy as np

from kbook import config as _config

_KERAS_NAMES = (
    "DilatedGatedConv1D",
    "CharWordEmbedding",
    "QuestionAttention",
    "AttentionPooling",
    "MaskedConcatenate",
    "SpanHead",
    "span_loss",
    "build_reader",
)  # defined in kbook._reading_keras, loaded on first access

__all__ = [
    "ENTITY_TYPES",
    "BLANKS",
    "receptive_field",
    "entity_mentions",
    "split_sentences",
    "cloze_examples",
    "split_by_article",
    "most_frequent_entity",
    "nearest_entity",
    "best_span",
    "exact_match",
    "char_f1",
    "char_vocabulary",
    "encode_chars",
    "word_ids_per_char",
    "encode_examples",
    *_KERAS_NAMES,
]

_LAZY = dict.fromkeys(_KERAS_NAMES, "kbook._reading_keras")
__getattr__, __dir__ = _config.lazy_attributes(__name__, globals(), _LAZY)

ENTITY_TYPES = {"nr": "person", "ns": "place", "nt": "organization"}
"""The corpus tags that make an entity, and the answer type each gives."""

BLANKS = {"person": "Ⓟ", "place": "Ⓛ", "organization": "Ⓞ"}
"""The one-character blank that replaces an answer of each type in its question."""

_SENTENCE_END = "。！？"


_check_int = _config.check_int


def receptive_field(kernel_size, dilations):
    """Receptive field of a stack of stride-1 convolutions: ``1 + sum_i (kernel_size - 1) * d_i``.

    Args:
        kernel_size: int >= 1, the same in every layer.
        dilations: sequence of ints >= 1, one per layer.

    Example:
        >>> receptive_field(3, [1, 2, 4, 8])
        31
    """
    kernel_size = _check_int("kernel_size", kernel_size, 1)
    if isinstance(dilations, (str, bytes)) or not hasattr(dilations, "__iter__"):
        raise TypeError(f"dilations must be a sequence of ints, got {type(dilations).__name__}")
    dilations = [_check_int("dilations[i]", d, 1) for d in dilations]
    return 1 + sum((kernel_size - 1) * d for d in dilations)


# --------------------------------------------------------------------------- the cloze set


def _check_tokens(tokens, name="tokens"):
    if not isinstance(tokens, (list, tuple)):
        raise TypeError(f"{name} must be a list of (word, tag) pairs, got {type(tokens).__name__}")
    for token in tokens:
        if (not isinstance(token, (list, tuple)) or len(token) != 2
                or not all(isinstance(part, str) for part in token)):
            raise TypeError(f"{name} must hold (word, tag) pairs of strings, got {token!r}")


def entity_mentions(tokens):
    """Named-entity mentions of one tagged line: runs of consecutive tokens with one entity tag.

    A person's surname and given name (``江/nr 泽民/nr``) merge into one mention, and so do
    adjacent places (``湖北省/ns 武汉市/ns``).

    Args:
        tokens: list of ``(word, tag)`` pairs (:func:`kbook.data.people_daily_tagged`).

    Returns:
        List of ``(start, end, text, type)``: character offsets into ``"".join(words)`` (end
        exclusive) and the type from :data:`ENTITY_TYPES`.

    Example:
        >>> entity_mentions([("主席", "n"), ("江", "nr"), ("泽民", "nr"), ("在", "p"), ("北京", "ns")])
        [(2, 5, '江泽民', 'person'), (6, 8, '北京', 'place')]
    """
    _check_tokens(tokens)
    mentions, position, current = [], 0, None
    for word, tag in tokens:
        kind = ENTITY_TYPES.get(tag)
        if kind is not None and current is not None and current[3] == kind and current[1] == position:
            current = (current[0], position + len(word), current[2] + word, kind)
        else:
            if current is not None:
                mentions.append(current)
            current = (position, position + len(word), word, kind) if kind else None
        position += len(word)
    if current is not None:
        mentions.append(current)
    return mentions


def split_sentences(tokens):
    """Split a tagged line into sentences after each ``。！？`` token.

    Example:
        >>> split_sentences([("好", "a"), ("。", "w"), ("走", "v"), ("！", "w"), ("吧", "y")])
        [[('好', 'a'), ('。', 'w')], [('走', 'v'), ('！', 'w')], [('吧', 'y')]]
    """
    _check_tokens(tokens)
    sentences, current = [], []
    for token in tokens:
        current.append(tuple(token))
        if token[0] in _SENTENCE_END:
            sentences.append(current)
            current = []
    if current:
        sentences.append(current)
    return sentences


def _occurrences(text, pattern):
    starts, start = [], text.find(pattern)
    while start >= 0:
        starts.append(start)
        start = text.find(pattern, start + 1)
    return starts


def _string_matchable(question, blank_at, passage, answer, starts, context):
    """Whether ``answer`` sits in ``passage`` next to the ``context`` characters that flank the
    blank in the question (on either side): a string matcher would find it without reading."""
    left = question[max(0, blank_at - context):blank_at]
    right = question[blank_at + 1:blank_at + 1 + context]
    for start in starts:
        end = start + len(answer)
        if len(left) == context and passage[max(0, start - context):start] == left:
            return True
        if len(right) == context and passage[end:end + context] == right:
            return True
    return False


def cloze_examples(article_lines, article_id=0, max_passage=400, context=2, min_answer=2):
    """Cloze questions from one article (Hermann et al. 2015 style), with the dropped counts.

    For every sentence and every distinct entity text in it (at least ``min_answer`` characters),
    the question is the sentence with that entity's mentions replaced by its type's blank
    (:data:`BLANKS`); the passage is the article's other sentences, nearest to the question first,
    each added if the total still fits in ``max_passage`` characters, then put back in article
    order. The answer spans are every occurrence of the entity's text in the passage.

    Args:
        article_lines: list of tagged lines (lists of ``(word, tag)``), the article's body.
        article_id: any hashable id, copied into each example (for splitting by article).
        max_passage: int >= 1, the passage's length limit in characters.
        context: int >= 1, how many characters beside the blank the string-matching filter
            compares (see the module docstring).
        min_answer: int >= 1, the shortest answer kept.

    Returns:
        ``(examples, dropped)``: a list of dicts with ``article``, ``question`` (str),
        ``question_tokens`` (the tagged question, the blank as ``(blank, "blank")``), ``blank_at``
        (the blank's character offset), ``passage`` (str), ``passage_entities`` (mentions as in
        :func:`entity_mentions`, offsets into the passage), ``answer``, ``answer_starts`` (list of
        ints), ``type``; and a Counter of why candidate questions were dropped (``leaks``,
        ``absent``, ``string_match``).

    Example:
        >>> lines = [[("李", "nr"), ("明", "nr"), ("在", "p"), ("上海", "ns"), ("工作", "v"), ("。", "w")],
        ...          [("上海", "ns"), ("很", "d"), ("大", "a"), ("。", "w")]]
        >>> examples, dropped = cloze_examples(lines)
        >>> [(e["question"], e["passage"], e["answer"], e["answer_starts"]) for e in examples]
        [('李明在Ⓛ工作。', '上海很大。', '上海', [0]), ('Ⓛ很大。', '李明在上海工作。', '上海', [3])]
    """
    if not isinstance(article_lines, (list, tuple)):
        raise TypeError(f"article_lines must be a list of tagged lines, got {type(article_lines).__name__}")
    max_passage = _check_int("max_passage", max_passage, 1)
    context = _check_int("context", context, 1)
    min_answer = _check_int("min_answer", min_answer, 1)
    sentences = []
    for line in article_lines:
        _check_tokens(line, "article_lines[i]")
        sentences.extend(split_sentences(line))
    texts = ["".join(word for word, _ in sentence) for sentence in sentences]
    mentions = [entity_mentions(sentence) for sentence in sentences]
    examples, dropped = [], collections.Counter()
    for i, sentence in enumerate(sentences):
        seen = set()
        for _, _, answer, kind in mentions[i]:
            if answer in seen or len(answer) < min_answer:
                continue
            seen.add(answer)
            blank = BLANKS[kind]
            tokens = []  # the question's tokens: the answer's mention(s) become one blank token each
            position, spans = 0, {(s, e) for s, e, text, k in mentions[i] if text == answer and k == kind}
            skip_until = -1
            for word, tag in sentence:
                if position < skip_until:
                    position += len(word)
                    continue
                span = next(((s, e) for s, e in spans if s == position), None)
                if span is not None:
                    tokens.append((blank, "blank"))
                    skip_until = span[1]
                else:
                    tokens.append((word, tag))
                position += len(word)
            question = "".join(word for word, _ in tokens)
            if answer in question:
                dropped["leaks"] += 1
                continue
            # passage: the other sentences, nearest first, within max_passage characters
            order = sorted((j for j in range(len(sentences)) if j != i), key=lambda j: (abs(j - i), j))
            chosen, total = [], 0
            for j in order:
                if total + len(texts[j]) > max_passage:
                    continue
                chosen.append(j)
                total += len(texts[j])
            chosen.sort()
            passage = "".join(texts[j] for j in chosen)
            starts = _occurrences(passage, answer)
            if not starts:
                dropped["absent"] += 1
                continue
            blank_at = question.index(blank)
            if _string_matchable(question, blank_at, passage, answer, starts, context):
                dropped["string_match"] += 1
                continue
            entities, offset = [], 0
            for j in chosen:
                entities.extend((s + offset, e + offset, text, k) for s, e, text, k in mentions[j])
                offset += len(texts[j])
            examples.append({
                "article": article_id, "question": question, "question_tokens": tokens,
                "blank_at": blank_at, "passage": passage, "passage_entities": entities,
                "answer": answer, "answer_starts": starts, "type": kind,
            })
    return examples, dropped


def split_by_article(examples, fractions=(0.8, 0.1, 0.1), seed=0):
    """Split examples into train / validation / test so that no article is in two parts.

    Articles (the ``article`` key) are shuffled with ``seed`` and cut by ``fractions`` of the
    article count.

    Example:
        >>> parts = split_by_article([{"article": a} for a in [0, 0, 1, 2, 3]], (0.5, 0.25, 0.25))
        >>> sorted(len(part) for part in parts)
        [1, 1, 3]
    """
    if not isinstance(examples, (list, tuple)):
        raise TypeError(f"examples must be a list of dicts, got {type(examples).__name__}")
    fractions = tuple(fractions)
    if len(fractions) != 3 or any(f < 0 for f in fractions) or not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {fractions}")
    articles = sorted({example["article"] for example in examples}, key=repr)
    order = np.random.default_rng(seed).permutation(len(articles))
    cut1 = int(round(fractions[0] * len(articles)))
    cut2 = cut1 + int(round(fractions[1] * len(articles)))
    part_of = {}
    for rank, index in enumerate(order):
        part_of[articles[index]] = 0 if rank < cut1 else (1 if rank < cut2 else 2)
    parts = ([], [], [])
    for example in examples:
        parts[part_of[example["article"]]].append(example)
    return parts


# --------------------------------------------------------------------------- baselines


def _check_example(example, keys):
    if not isinstance(example, dict):
        raise TypeError(f"example must be a dict from cloze_examples, got {type(example).__name__}")
    missing = [key for key in keys if key not in example]
    if missing:
        raise ValueError(f"example lacks {', '.join(missing)} (build it with cloze_examples)")


def most_frequent_entity(example, same_type=False):
    """Baseline: the entity text mentioned most often in the passage (ties: the earliest).

    With ``same_type``, only entities of the answer's type (which the blank shows) count.
    Returns the text, or ``""`` when the passage has no candidate.

    Example:
        >>> most_frequent_entity({"type": "place", "passage_entities": [
        ...     (0, 2, "北京", "place"), (3, 5, "李明", "person"), (6, 8, "李明", "person")]})
        '李明'
    """
    _check_example(example, ("passage_entities", "type"))
    candidates = [e for e in example["passage_entities"] if not same_type or e[3] == example["type"]]
    if not candidates:
        return ""
    counts = collections.Counter(text for _, _, text, _ in candidates)
    first = {}
    for start, _, text, _ in candidates:
        first.setdefault(text, start)
    return max(counts, key=lambda text: (counts[text], -first[text]))


def nearest_entity(example, window=3):
    """Baseline: the entity of the answer's type nearest to the question's context words.

    The context words are the question's words within ``window`` tokens of the blank, at least two
    characters long and not punctuation. Each candidate (a passage mention of the answer's type)
    scores its distance in characters to the nearest occurrence of any context word in the
    passage; the nearest wins (ties: the more frequent, then the earlier). When no context word
    occurs in the passage, this falls back to the most frequent entity of the type.

    Example:
        >>> example = {"type": "place", "question_tokens": [("Ⓛ", "blank"), ("举行", "v"), ("会议", "n")],
        ...            "passage": "北京有雨。上海举行会议。",
        ...            "passage_entities": [(0, 2, "北京", "place"), (5, 7, "上海", "place")]}
        >>> nearest_entity(example)
        '上海'
    """
    window = _check_int("window", window, 1)
    _check_example(example, ("question_tokens", "passage", "passage_entities", "type"))
    tokens = example["question_tokens"]
    at = next((i for i, (_, tag) in enumerate(tokens) if tag == "blank"), None)
    if at is None:
        raise ValueError("example's question_tokens hold no blank token (tag 'blank')")
    words = {word for word, tag in tokens[max(0, at - window):at + window + 1]
             if tag not in ("blank", "w") and len(word) >= 2}
    passage = example["passage"]
    anchors = [(s, s + len(word)) for word in words for s in _occurrences(passage, word)]
    candidates = [e for e in example["passage_entities"] if e[3] == example["type"]]
    if not candidates:
        return ""
    if not anchors:
        return most_frequent_entity(example, same_type=True)
    counts = collections.Counter(text for _, _, text, _ in candidates)

    def distance(mention):
        start, end = mention[0], mention[1]
        return min(max(a_start - end, start - a_end, 0) for a_start, a_end in anchors)

    best = min(candidates, key=lambda m: (distance(m), -counts[m[2]], m[0]))
    return best[2]


# --------------------------------------------------------------------------- decoding and metrics


def best_span(start_scores, end_scores, max_length, mask=None):
    """The span ``(s, e)`` maximising ``start_scores[s] + end_scores[e]``, per example.

    Over ``s <= e < s + max_length`` with both ends inside the mask. Vectorised: one
    ``(batch, T, max_length)`` array of candidate scores and one argmax; ties go to the smallest
    ``s``, then the smallest ``e`` (the order a double loop with a strict ``>`` would keep).

    Args:
        start_scores, end_scores: float arrays ``(batch, T)`` (or ``(T,)`` for one example); finite.
        max_length: int >= 1, the longest span in positions.
        mask: bool ``(batch, T)``, True where a position may start or end a span (None: all);
            every row must keep at least one position.

    Returns:
        ``(starts, ends, scores)``: int arrays ``(batch,)`` and the float scores ``(batch,)``
        (scalars for 1-D input).

    Example:
        >>> best_span(np.array([0.0, 3.0, 1.0]), np.array([2.0, 0.0, 2.5]), max_length=2)
        (1, 2, 5.5)
    """
    max_length = _check_int("max_length", max_length, 1)
    start = np.asarray(start_scores)
    end = np.asarray(end_scores)
    for name, array in (("start_scores", start), ("end_scores", end)):
        if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
            raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
        if array.ndim not in (1, 2) or array.shape[-1] == 0:
            raise ValueError(f"{name} must have shape (batch, T) or (T,) with T >= 1, got {array.shape}")
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} must be finite (mask positions instead of using -inf)")
    if start.shape != end.shape:
        raise ValueError(f"start_scores and end_scores must have one shape, got {start.shape} and {end.shape}")
    single = start.ndim == 1
    start, end = np.atleast_2d(start).astype(np.float64), np.atleast_2d(end).astype(np.float64)
    batch, length = start.shape
    if mask is None:
        valid = np.ones((batch, length), dtype=bool)
    else:
        valid = np.atleast_2d(np.asarray(mask))
        if valid.shape != start.shape:
            raise ValueError(f"mask must have the scores' shape {start.shape}, got {valid.shape}")
        valid = valid != 0
        if not np.all(valid.any(axis=1)):
            raise ValueError("mask must keep at least one position in every row")
    width = min(max_length, length)
    offsets = np.arange(width)
    ends = np.arange(length)[:, None] + offsets[None, :]  # (T, K): the end of span (s, s + k)
    inside = ends < length
    ends_clipped = np.minimum(ends, length - 1)
    scores = start[:, :, None] + end[:, ends_clipped]  # (batch, T, K)
    ok = inside[None] & valid[:, :, None] & valid[:, ends_clipped]
    scores = np.where(ok, scores, -np.inf)
    flat = scores.reshape(batch, -1).argmax(axis=1)  # C order: smallest s, then smallest k
    starts, ks = np.divmod(flat, width)
    best = scores.reshape(batch, -1)[np.arange(batch), flat]
    ends_out = starts + ks
    if single:
        return int(starts[0]), int(ends_out[0]), float(best[0])
    return starts, ends_out, best


def _normalise(text):
    if not isinstance(text, str):
        raise TypeError(f"answers must be strings, got {type(text).__name__}")
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if not ch.isspace() and not unicodedata.category(ch).startswith("P"))


def exact_match(prediction, answer):
    """1.0 when the two strings agree after NFKC normalisation without spaces and punctuation.

    Example:
        >>> exact_match("北京。", "北京"), exact_match("北京市", "北京")
        (1.0, 0.0)
    """
    return float(_normalise(prediction) == _normalise(answer))


def char_f1(prediction, answer):
    """Character F1: the harmonic mean of precision and recall of the characters two strings share
    (as multisets, after :func:`exact_match`'s normalisation). Two empty strings score 1.

    Example:
        >>> round(char_f1("北京市", "北京"), 4)  # precision 2/3, recall 1
        0.8
    """
    pred, gold = _normalise(prediction), _normalise(answer)
    if not pred and not gold:
        return 1.0
    common = sum((collections.Counter(pred) & collections.Counter(gold)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(gold)
    return 2 * precision * recall / (precision + recall)


# --------------------------------------------------------------------------- encoding


def char_vocabulary(texts, min_count=1):
    """Character vocabulary: ``{char: id}`` with 0 for padding and 1 for unknown characters,
    the rest by decreasing frequency (ties by character) among those seen ``min_count`` times.

    Example:
        >>> char_vocabulary(["abca", "b"])
        {'a': 2, 'b': 3, 'c': 4}
    """
    if isinstance(texts, str) or not hasattr(texts, "__iter__"):
        raise TypeError(f"texts must be an iterable of strings, got {type(texts).__name__}")
    min_count = _check_int("min_count", min_count, 1)
    counts = collections.Counter()
    for text in texts:
        if not isinstance(text, str):
            raise TypeError(f"texts must hold strings, got {type(text).__name__}")
        counts.update(text)
    kept = sorted((c for c, n in counts.items() if n >= min_count), key=lambda c: (-counts[c], c))
    return {c: i + 2 for i, c in enumerate(kept)}


def encode_chars(texts, vocabulary, length):
    """Character ids ``(len(texts), length)``, right-padded with 0, unknown characters as 1.

    Example:
        >>> encode_chars(["abz"], {"a": 2, "b": 3}, 5)
        array([[2, 3, 1, 0, 0]], dtype=int32)
    """
    length = _check_int("length", length, 1)
    out = np.zeros((len(texts), length), dtype=np.int32)
    for row, text in enumerate(texts):
        ids = [vocabulary.get(c, 1) for c in text[:length]]
        out[row, :len(ids)] = ids
    return out


def word_ids_per_char(texts, vocabulary, length, segment=None):
    """jieba words broadcast to their characters: ``(len(texts), length)`` word ids, 0 for padding,
    1 for words outside ``vocabulary``; every character of a word carries the word's id.

    Args:
        texts: list of strings.
        vocabulary: ``{word: id}`` (ids >= 2).
        length: int >= 1, the padded length in characters.
        segment: a function ``str -> list of words`` whose words join back to the string (default:
            ``jieba.lcut``).

    Example:
        >>> word_ids_per_char(["北京大学生"], {"北京": 2, "大学生": 3}, 6, segment=lambda t: ["北京", "大学生"])
        array([[2, 2, 3, 3, 3, 0]], dtype=int32)
    """
    length = _check_int("length", length, 1)
    if segment is None:
        import jieba

        segment = jieba.lcut
    out = np.zeros((len(texts), length), dtype=np.int32)
    for row, text in enumerate(texts):
        words = segment(text)
        if "".join(words) != text:
            raise ValueError(f"segment must return words that join back to the text, got {words!r}")
        ids = [vocabulary.get(word, 1) for word in words for _ in word][:length]
        out[row, :len(ids)] = ids
    return out


def encode_examples(examples, char_vocab, word_vocab, question_length, passage_length, segment=None):
    """Model inputs and span targets for :func:`build_reader` from cloze examples.

    Args:
        examples: dicts from :func:`cloze_examples`.
        char_vocab, word_vocab: ``{token: id}`` maps (ids >= 2; 0 pads, 1 is unknown).
        question_length, passage_length: ints >= 1; longer texts are cut.
        segment: word segmenter passed to :func:`word_ids_per_char` (default jieba).

    Returns:
        ``(inputs, targets)``: ``inputs`` is ``[question_chars, question_words, passage_chars,
        passage_words, passage_features]`` (int32 ``(n, Tq)`` twice, int32 ``(n, Tp)`` twice,
        float32 ``(n, Tp, 2)``: channel 0 is 1 where the passage character occurs in the
        question, channel 1 is 1 on the characters of the passage's entity mentions of the
        answer's type, the candidates the baselines choose from, when ``passage_entities`` is
        given);
        ``targets`` is float32 ``(n, Tp, 2)`` with 1 at every answer start (channel 0) and end
        (channel 1) that fits in ``passage_length``.

    Example:
        >>> ex = {"question": "Ⓛ很大", "passage": "北京有雨，北京很大", "answer": "北京", "answer_starts": [0, 5]}
        >>> inputs, targets = encode_examples([ex], {"北": 2, "京": 3, "很": 4}, {}, 4, 10, segment=list)
        >>> targets[0, :, 0].nonzero()[0].tolist(), targets[0, :, 1].nonzero()[0].tolist()
        ([0, 5], [1, 6])
        >>> inputs[4][0, :, 0].tolist()
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0]
        >>> ex.update(type="place", passage_entities=[(0, 2, "北京", "place"), (5, 7, "北京", "place")])
        >>> encode_examples([ex], {}, {}, 4, 10, segment=list)[0][4][0, :, 1].tolist()
        [1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    """
    question_length = _check_int("question_length", question_length, 1)
    passage_length = _check_int("passage_length", passage_length, 1)
    questions = [example["question"] for example in examples]
    passages = [example["passage"] for example in examples]
    q_chars = encode_chars(questions, char_vocab, question_length)
    p_chars = encode_chars(passages, char_vocab, passage_length)
    q_words = word_ids_per_char(questions, word_vocab, question_length, segment)
    p_words = word_ids_per_char(passages, word_vocab, passage_length, segment)
    match = np.zeros((len(examples), passage_length, 2), dtype=np.float32)
    targets = np.zeros((len(examples), passage_length, 2), dtype=np.float32)
    for row, example in enumerate(examples):
        in_question = set(example["question"])
        for t, ch in enumerate(example["passage"][:passage_length]):
            match[row, t, 0] = ch in in_question
        for start, end, _, kind in example.get("passage_entities", ()):
            if kind == example.get("type"):
                match[row, start:min(end, passage_length), 1] = 1.0
        for start in example["answer_starts"]:
            end = start + len(example["answer"]) - 1
            if end < passage_length:
                targets[row, start, 0] = 1.0
                targets[row, end, 1] = 1.0
    return [q_chars, q_words, p_chars, p_words, match], targets
