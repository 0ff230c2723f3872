"""A general main-text extractor that reads the DOM tree, not per-site regular expressions.

The method follows the idea of Su Jianlin's "general crawler" posts (2017): number the nodes of
the page's DOM tree depth first, describe each stretch of text by simple features (how long it
is, how much of it is link text, how much punctuation it carries) and choose the *subtree* that
holds the most net content. Because a subtree is a contiguous range of the depth-first
numbering, "the best subtree" is "the best contiguous stretch of the page that is also a node".

- :func:`decode_html` — bytes to text: BOM, then the page's own ``<meta charset>``, then UTF-8,
  then GB18030 (a superset of GB2312 and GBK);
- :func:`text_blocks` — the page as a list of :class:`Block` in document order, with features;
- :func:`score_tree` and :func:`best_subtree` — every node's score, and the chosen node;
- :func:`extract_main_text` — the main text, one paragraph per line;
- :func:`split_posts` — the posts of a forum or comment page (repeated sibling structures);
- :func:`score_extraction` — precision, recall and F1 over characters or tokens, the measure of
  the extraction literature;
- :func:`synthetic_page` — a news page with known main text inside generated navigation,
  sidebars, share bars, comments, footers and scripts, for testing any extractor;
  :func:`synthetic_news_pages` makes many of them from People's Daily prose.

Imports lxml (and jieba only for ``unit="jieba"``); no Keras, no TensorFlow.

See the chapter: notebooks/crawler.ipynb
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from dataclasses import dataclass
from typing import NamedTuple

__all__ = [
    "Block",
    "ExtractionScore",
    "decode_html",
    "extract_main_text",
    "best_subtree",
    "score_extraction",
    "score_tree",
    "split_posts",
    "synthetic_news_pages",
    "synthetic_page",
    "text_blocks",
]

# Elements whose text is never main text, removed with their content.
DROPPED_TAGS = frozenset({
    "script", "style", "noscript", "iframe", "svg", "canvas", "template", "button", "select",
    "option", "input", "textarea", "nav", "footer", "aside", "head", "title", "meta", "link",
})
# Elements that start a new block of text (a line break in the rendered page).
BLOCK_TAGS = frozenset({
    "p", "div", "br", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "tr", "td", "th", "tbody", "thead", "section", "article", "main", "blockquote",
    "pre", "header", "form", "figure", "figcaption", "hr", "center", "address",
})
# Sentence punctuation, Chinese and Western: running prose carries it, menus and link lists don't.
PUNCTUATION = frozenset("，。！？；：、“”‘’（）《》〈〉「」『』【】…—·,.!?;:\"'()")
LINK_DENSITY_LIMIT = 0.5
"""A block whose characters are at least this share link text is navigation, not content."""
SHORT_BLOCK = 40
"""Blocks shorter than this (non-link characters) and without punctuation are labels, not prose."""
MIN_SENTENCE = 5
"""A punctuated block needs this many non-link characters to be prose ("分享到：" is a label)."""

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")


# --------------------------------------------------------------------------- decoding


def decode_html(data: bytes) -> str:
    """Decode a page's bytes: BOM, else its ``<meta charset>``, else UTF-8, else GB18030.

    GB2312 and GBK declarations are decoded as GB18030, their superset, so that characters a
    page uses beyond its declared set still come out right.

    Args:
        data: the raw bytes of an HTML page.

    Returns:
        The page as text.

    Example:
        >>> decode_html('<meta charset="gbk"><p>中文</p>'.encode("gbk"))
        '<meta charset="gbk"><p>中文</p>'
        >>> decode_html("<p>中文</p>".encode("gb18030"))  # no declaration, not UTF-8
        '<p>中文</p>'

    See the chapter: notebooks/crawler.ipynb
    """
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    data = bytes(data)
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                          (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom):].decode(encoding, errors="replace")
    match = _META_CHARSET.search(data[:8192])
    if match:
        declared = match.group(1).decode("ascii").lower()
        if declared in ("gb2312", "gbk", "gb18030", "x-gbk", "cp936"):
            declared = "gb18030"
        try:
            codecs.lookup(declared)
        except LookupError:
            declared = None
        if declared:
            try:
                return data.decode(declared)
            except UnicodeDecodeError:
                pass  # a wrong declaration: fall back to detection
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


# --------------------------------------------------------------------------- blocks


@dataclass
class Block:
    """A stretch of text between two block-level boundaries, in document (depth-first) order.

    Attributes:
        index: position in document order (0, 1, ...).
        text: the block's text, whitespace collapsed.
        link_chars: non-whitespace characters inside ``<a>`` elements.
        chars: all non-whitespace characters.
        punctuation: punctuation marks outside links.
        element: the lxml element that contains the block (its nearest enclosing block element).
    """

    index: int
    text: str
    link_chars: int
    chars: int
    punctuation: int
    element: object

    @property
    def link_density(self) -> float:
        return self.link_chars / self.chars if self.chars else 0.0

    @property
    def is_content(self) -> bool:
        """Prose, not navigation: less than half link text, and punctuated (with at least
        ``MIN_SENTENCE`` non-link characters) or at least ``SHORT_BLOCK`` characters long."""
        nonlink = self.chars - self.link_chars
        punctuated = self.punctuation > 0 and nonlink >= MIN_SENTENCE
        return self.link_density < LINK_DENSITY_LIMIT and (punctuated or nonlink >= SHORT_BLOCK)

    @property
    def weight(self) -> float:
        """Signed content mass: + non-link characters for content, − all characters otherwise."""
        return float(self.chars - self.link_chars) if self.is_content else -float(self.chars)


def _parse(html):
    from lxml import etree
    from lxml import html as lxml_html

    if isinstance(html, (bytes, bytearray)):
        html = decode_html(bytes(html))
    elif not isinstance(html, str):
        raise TypeError(f"html must be str or bytes, got {type(html).__name__}")
    if not html.strip():
        raise ValueError("html is empty")
    if not re.search(r"<\s*[A-Za-z!]", html):
        raise ValueError("html does not look like HTML: it contains no tag")
    # lxml refuses str input that declares an encoding; the text is already decoded.
    html = re.sub(r"^\s*<\?xml[^>]*\?>", "", html)
    try:
        root = lxml_html.document_fromstring(html)
    except (etree.ParserError, ValueError) as error:
        raise ValueError(f"html could not be parsed: {error}") from None
    for element in list(root.iter(etree.Comment, etree.ProcessingInstruction)):
        _drop(element)
    for element in list(root.iter()):
        if isinstance(element.tag, str) and element.tag.lower() in DROPPED_TAGS:
            _drop(element)
    return root


def _drop(element):
    """Remove an element and its content, keeping the text that follows it (its tail)."""
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail
    if tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(element)


def _count(text: str) -> tuple[int, int]:
    """(non-whitespace characters, punctuation marks) of a string."""
    stripped = _WHITESPACE.sub("", text)
    return len(stripped), sum(ch in PUNCTUATION for ch in stripped)


def _blocks_of(root) -> list[Block]:
    blocks: list[Block] = []
    current = {"parts": [], "link": 0, "chars": 0, "punct": 0, "element": root}

    def flush(next_element):
        text = _WHITESPACE.sub(" ", "".join(current["parts"])).strip()
        if text:
            blocks.append(Block(len(blocks), text, current["link"], current["chars"], current["punct"],
                                current["element"]))
        current.update(parts=[], link=0, chars=0, punct=0, element=next_element)

    def add(text, in_link):
        if not text:
            return
        chars, punct = _count(text)
        current["parts"].append(text)
        current["chars"] += chars
        if in_link:
            current["link"] += chars
        else:
            current["punct"] += punct

    def walk(element, in_link, enclosing):
        # ``enclosing`` is the nearest block element around ``element``: text outside any inner
        # block belongs to it.
        tag = element.tag.lower() if isinstance(element.tag, str) else ""
        inner = element if tag in BLOCK_TAGS else enclosing
        if inner is element:
            flush(element)
        link = in_link or tag == "a"
        add(element.text, link)
        for child in element:
            walk(child, link, inner)
            add(child.tail, link)
        if inner is element:
            flush(enclosing)

    walk(root, False, root)
    flush(root)
    return blocks


def _is_inside(element, ancestor) -> bool:
    """Whether ``element`` is ``ancestor`` or lies below it."""
    while element is not None:
        if element is ancestor:
            return True
        element = element.getparent()
    return False


def text_blocks(html) -> list[Block]:
    """Split a page into text blocks in document order, with the features the extractor uses.

    Args:
        html: the page, str or bytes (bytes are decoded with :func:`decode_html`).

    Returns:
        A list of :class:`Block`; scripts, styles, navigation and comments are removed first.

    Example:
        >>> blocks = text_blocks("<body><div><a href='/'>首页</a> <a href='/n'>新闻</a></div>"
        ...                      "<p>今天天气很好，我们去公园散步。</p></body>")
        >>> [(b.text, b.is_content) for b in blocks]
        [('首页 新闻', False), ('今天天气很好，我们去公园散步。', True)]

    See the chapter: notebooks/crawler.ipynb
    """
    return _blocks_of(_parse(html))


# --------------------------------------------------------------------------- main text


def score_tree(html):
    """Parse a page and score every DOM node by the total weight of the text blocks below it.

    This is the extractor's whole view of a page, exposed for inspection: the score of a node is
    ``S(v) = sum of Block.weight over the blocks in v's subtree``, and
    :func:`extract_main_text` takes the node with the largest score.

    Args:
        html: the page, str or bytes.

    Returns:
        ``(root, blocks, scores)``: the parsed lxml tree (scripts, styles, navigation and comments
        removed), its blocks in document order, and a dict element → score for every element
        that contains at least one block.

    Example:
        >>> root, blocks, scores = score_tree("<body><div><a href='/'>首页</a></div><div><p>正文，一句。</p></div></body>")
        >>> sorted(scores.values())
        [-2.0, 4.0, 4.0, 6.0, 6.0]

    See the chapter: notebooks/crawler.ipynb
    """
    root = _parse(html)
    blocks = _blocks_of(root)
    scores: dict = {}
    for block in blocks:
        element = block.element
        while element is not None:
            scores[element] = scores.get(element, 0.0) + block.weight
            element = element.getparent()
    return root, blocks, scores


def _depth(element) -> int:
    depth = 0
    while element.getparent() is not None:
        element = element.getparent()
        depth += 1
    return depth


def best_subtree(scores):
    """The element with the largest score (ties: the deeper element), or None if there is none."""
    if not scores:
        return None
    return max(scores, key=lambda e: (scores[e], _depth(e)))


def _densest_run(blocks) -> tuple[int, int]:
    """``(start, stop)`` of the contiguous run of blocks with the largest total weight (Kadane)."""
    best, best_range = float("-inf"), (0, 0)
    total, start = 0.0, 0
    for i, block in enumerate(blocks):
        if total <= 0:
            total, start = 0.0, i
        total += block.weight
        if total > best:
            best, best_range = total, (start, i + 1)
    return best_range


def extract_main_text(html) -> str:
    """Return the main text of a page, one paragraph per line ("" if the page has none).

    Every text block gets a signed weight: its non-link characters if it reads like prose (link
    density below 0.5, and punctuation or at least 40 characters), minus its length otherwise
    (menus, link lists, labels). The extractor picks the DOM subtree with the largest total
    weight — the stretch of the depth-first order that holds the most prose net of boilerplate —
    and returns the prose blocks inside it.

    Args:
        html: the page, str or bytes (encoding from BOM, ``<meta charset>``, UTF-8 or GB18030).

    Returns:
        The main text with paragraphs separated by ``"\\n"``.

    Raises:
        TypeError: ``html`` is neither str nor bytes.
        ValueError: ``html`` is empty, has no tag, or cannot be parsed.

    Example:
        >>> page = ("<html><body><ul><li><a href='/'>首页</a></li><li><a href='/a'>国内</a></li></ul>"
        ...         "<div class='article'><p>第一段，讲一件事。</p><p>第二段，接着讲。</p></div>"
        ...         "<div><a href='/x'>相关新闻一</a><a href='/y'>相关新闻二</a></div></body></html>")
        >>> print(extract_main_text(page))
        第一段，讲一件事。
        第二段，接着讲。

    See the chapter: notebooks/crawler.ipynb
    """
    _, blocks, scores = score_tree(html)
    best = best_subtree(scores)
    if best is None or scores[best] <= 0:
        return ""
    inside = [b for b in blocks if _is_inside(b.element, best)]
    start, stop = _densest_run(inside)
    return "\n".join(b.text for b in inside[start:stop] if b.is_content)


# --------------------------------------------------------------------------- forum pages


def _signature(element) -> tuple:
    classes = tuple(sorted((element.get("class") or "").split()))
    return (element.tag, classes)


def split_posts(html, min_posts: int = 3, min_chars: int = 5) -> list[str]:
    """Split a forum or comment page into its posts: the largest family of repeated siblings.

    A thread repeats one structure per post. Among all groups of sibling elements that share a
    tag and class, with at least ``min_posts`` members each holding at least ``min_chars``
    characters of prose, the group with the most prose in total is taken as the posts; each
    post's text is its prose blocks joined by newlines.

    Args:
        html: the page, str or bytes.
        min_posts: the fewest repeated siblings that count as a list of posts (>= 2).
        min_chars: the least prose (non-link characters) a post must hold (>= 1).

    Returns:
        The posts' texts in page order, or ``[]`` if no such group exists.

    Example:
        >>> floor = "<div class='post'><a href='/u{0}'>用户{0}</a><p>这是第{0}楼的回复，说点什么。</p></div>"
        >>> page = "<body><div id='thread'>" + "".join(floor.format(i) for i in range(1, 5)) + "</div></body>"
        >>> split_posts(page)
        ['这是第1楼的回复，说点什么。', '这是第2楼的回复，说点什么。', '这是第3楼的回复，说点什么。', '这是第4楼的回复，说点什么。']

    See the chapter: notebooks/crawler.ipynb
    """
    for name, value, low in (("min_posts", min_posts, 2), ("min_chars", min_chars, 1)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
        if value < low:
            raise ValueError(f"{name} must be >= {low}, got {value}")
    root = _parse(html)
    blocks = [b for b in _blocks_of(root) if b.is_content]
    prose_of: dict = {}
    for block in blocks:
        element = block.element
        while element is not None:
            prose_of.setdefault(element, []).append(block)
            element = element.getparent()

    def prose_chars(element):
        return sum(b.chars - b.link_chars for b in prose_of.get(element, ()))

    best_group, best_total = [], 0
    for parent in root.iter():
        if not isinstance(parent.tag, str):
            continue
        groups: dict = {}
        for child in parent:
            if isinstance(child.tag, str):
                groups.setdefault(_signature(child), []).append(child)
        for members in groups.values():
            posts = [m for m in members if prose_chars(m) >= min_chars]
            total = sum(prose_chars(m) for m in posts)
            if len(posts) >= min_posts and total > best_total:
                best_group, best_total = posts, total
    return ["\n".join(b.text for b in prose_of[m]) for m in best_group]


# --------------------------------------------------------------------------- scoring


class ExtractionScore(NamedTuple):
    precision: float
    recall: float
    f1: float


def _units(text: str, unit: str) -> Counter:
    if unit == "char":
        return Counter(_WHITESPACE.sub("", text))
    if unit == "word":
        return Counter(text.split())
    import jieba

    return Counter(token for token in jieba.lcut(text) if token.strip())


def score_extraction(predicted: str, gold: str, unit: str = "char") -> ExtractionScore:
    """Precision, recall and F1 of an extraction against the gold text, over bags of units.

    The bags are multisets: a unit that occurs twice in the gold text must be extracted twice to
    be fully recalled. Whitespace never counts. Conventions: both empty → (1, 1, 1); one empty →
    (0, 0, 0).

    Args:
        predicted, gold: texts.
        unit: ``"char"`` (non-whitespace characters, right for Chinese), ``"word"`` (whitespace
            tokens, right for English) or ``"jieba"`` (jieba words).

    Returns:
        :class:`ExtractionScore` ``(precision, recall, f1)``.

    Example:
        >>> score_extraction("正文正文广告", "正文正文")
        ExtractionScore(precision=0.6666666666666666, recall=1.0, f1=0.8)

    See the chapter: notebooks/crawler.ipynb
    """
    for name, value in (("predicted", predicted), ("gold", gold)):
        if not isinstance(value, str):
            raise TypeError(f"{name} must be str, got {type(value).__name__}")
    if unit not in ("char", "word", "jieba"):
        raise ValueError(f"unit must be 'char', 'word' or 'jieba', got {unit!r}")
    p, g = _units(predicted, unit), _units(gold, unit)
    n_p, n_g = sum(p.values()), sum(g.values())
    if n_p == 0 and n_g == 0:
        return ExtractionScore(1.0, 1.0, 1.0)
    if n_p == 0 or n_g == 0:
        return ExtractionScore(0.0, 0.0, 0.0)
    overlap = sum((p & g).values())
    precision, recall = overlap / n_p, overlap / n_g
    f1 = 0.0 if overlap == 0 else 2 * precision * recall / (precision + recall)
    return ExtractionScore(precision, recall, f1)



# --------------------------------------------------------------------------- synthetic pages

_CHANNELS = ("首页", "国内", "国际", "财经", "体育", "娱乐", "科技", "教育", "健康", "汽车", "房产", "军事",
             "文化", "旅游", "视频", "图片", "评论", "专题", "地方", "公益")
_USERS = ("网友甲", "路人乙", "老张", "小李飞刀", "北京读者", "匿名用户", "清风", "明月几时有")
_COMMENTS = ("说得好，支持一下。", "这篇文章写得很实在。", "楼上说得对！", "希望有关部门重视这个问题。",
             "看完了，有点感触。", "什么时候能有后续报道？", "转发了，大家都来看看。", "不太同意作者的观点。")


def synthetic_page(paragraphs, *, seed: int = 0, title: str = "新闻标题", comments: bool = True) -> tuple[str, str]:
    """Embed known paragraphs in a generated news page; return ``(html, gold_text)``.

    Around the article the page gets what real pages have: a navigation bar and a breadcrumb of
    links, a title and a date line (not main text), a share bar, a list of related headlines, a
    sidebar ranking, an advert sentence, reader comments (optional), a footer, inline scripts and
    styles containing Chinese text, and random extra nesting (``div``/``span``/``font``) around
    the paragraphs, some of which contain a link. The gold text is the paragraphs joined by
    newlines.

    Args:
        paragraphs: list of non-empty str, the main text.
        seed: seeds the page's layout and boilerplate.
        title: the headline (shown, but not part of the main text).
        comments: whether to add a comment section after the article.

    Returns:
        ``(html, gold)``: the page and its main text.

    Example:
        >>> html, gold = synthetic_page(["第一段。", "第二段。"], seed=1)
        >>> gold
        '第一段。\\n第二段。'
        >>> "第一段。" in html and "<script" in html
        True

    See the chapter: notebooks/crawler.ipynb
    """
    import random
    from html import escape

    if isinstance(paragraphs, str) or not isinstance(paragraphs, (list, tuple)):
        raise TypeError(f"paragraphs must be a list of str, got {type(paragraphs).__name__}")
    if not paragraphs:
        raise ValueError("paragraphs must not be empty")
    for i, paragraph in enumerate(paragraphs):
        if not isinstance(paragraph, str):
            raise TypeError(f"paragraphs[{i}] must be str, got {type(paragraph).__name__}")
        if not paragraph.strip():
            raise ValueError(f"paragraphs[{i}] is empty")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
    rng = random.Random(seed)

    def links(words, sep=" "):
        return sep.join(f'<a href="/{rng.randrange(10**6)}.html">{escape(w)}</a>' for w in words)

    def headline():
        words = rng.sample(_CHANNELS, 3)
        return "".join(words) + rng.choice(("取得新进展", "引发关注", "最新消息", "发布会召开", "专家解读"))

    nav = f'<div class="nav"><ul>{"".join(f"<li>{links([w])}</li>" for w in rng.sample(_CHANNELS, rng.randint(6, 12)))}</ul></div>'
    crumb = f'<div class="crumb">{links(["首页", rng.choice(_CHANNELS)], " &gt; ")} &gt; 正文</div>'
    body = []
    for paragraph in paragraphs:
        text = escape(paragraph.strip())
        if rng.random() < 0.2 and len(text) > 12:  # a link inside the prose, as pages often have
            cut = rng.randrange(2, len(text) - 6)
            text = f'{text[:cut]}<a href="/k{rng.randrange(999)}">{text[cut:cut + 4]}</a>{text[cut + 4:]}'
        wrapper = rng.choice(("{}", "<span>{}</span>", '<font color="#333">{}</font>'))
        body.append(f"<p>{wrapper.format(text)}</p>")
    article = "".join(body)
    for _ in range(rng.randint(1, 3)):
        article = f'<div class="{rng.choice(("content", "text", "article-body", "main"))}">{article}</div>'
    share = f'<div class="share">分享到：{links(["微博", "微信", "QQ空间", "豆瓣"])}</div>'
    related = "<div class=\"related\"><h3>相关新闻</h3><ul>" + "".join(
        f"<li>{links([headline()])}</li>" for _ in range(rng.randint(4, 8))) + "</ul></div>"
    ranking = "<div class=\"rank\"><h3>热点排行</h3><ol>" + "".join(
        f"<li>{links([headline()])}<span>{rng.randint(1000, 99999)}</span></li>" for _ in range(10)) + "</ol></div>"
    advert = f'<div class="ad">广告：本站诚聘编辑记者，待遇从优，电话：010-{rng.randint(10**7, 10**8 - 1)}。</div>'
    comment_html = ""
    if comments:
        items = "".join(
            f'<div class="comment">{links([rng.choice(_USERS)])}<span class="time">{rng.randint(1, 59)}分钟前</span>'
            f"<p>{rng.choice(_COMMENTS)}</p>{links(['回复', '点赞'])}</div>"
            for _ in range(rng.randint(2, 5)))
        comment_html = f'<div class="comments"><h3>网友评论</h3>{items}</div>'
    script = f"<script>var title = '{escape(title)}，欢迎访问！'; window.track && track('页面');</script>"
    style = "<style>.content p { margin: 1em 0; } /* 正文样式 */</style>"
    footer_tag = rng.choice(("footer", "div"))
    footer = (f'<{footer_tag} class="footer">关于我们 | {links(["联系方式", "版权声明", "网站地图"], " | ")}'
              f"<p>Copyright © 1998-2019 某某网 版权所有。未经授权禁止转载。</p></{footer_tag}>")
    main = (f"<div class=\"left\"><h1>{escape(title)}</h1><div class=\"info\">1998年01月{rng.randint(1, 31):02d}日 "
            f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d} 来源：人民日报</div>{article}{share}{related}{comment_html}</div>")
    side = f'<div class="right">{ranking}{advert}</div>'
    parts = [nav, crumb, f'<div class="wrap">{main}{side}</div>', footer]
    html = (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{escape(title)}</title>{style}{script}</head>'
            f"<body>{''.join(parts)}{script}</body></html>")
    return html, "\n".join(p.strip() for p in paragraphs)


def synthetic_news_pages(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` synthetic news pages around People's Daily prose; a list of ``(html, gold)``.

    Each page holds 2–11 consecutive lines of running prose (lines with a full stop and at least
    20 characters) from ``kbook.data.people_daily_text()``; every second page has reader comments.
    The same ``(n, seed)`` gives the same pages.

    Example:
        >>> pages = synthetic_news_pages(3)
        >>> [2 <= len(gold.split("\\n")) <= 11 for _, gold in pages]
        [True, True, True]
        >>> synthetic_news_pages(3) == pages
        True

    See the chapter: notebooks/crawler.ipynb
    """
    import numpy as np

    from kbook.data import people_daily_text

    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an integer, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
    prose = [line for line in people_daily_text() if len(line) >= 20 and "。" in line]
    rng = np.random.default_rng(seed)
    pages = []
    for i in range(n):
        k = int(rng.integers(2, 12))
        start = int(rng.integers(0, len(prose) - k))
        pages.append(synthetic_page(prose[start:start + k], seed=seed * 100_003 + i, comments=bool(i % 2)))
    return pages
