"""kbook.crawler against pages whose main text is known, hand-computed scores, and encodings."""

import codecs

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import kbook.data
from kbook.crawler import (
    decode_html,
    extract_main_text,
    score_extraction,
    split_posts,
    synthetic_page,
    text_blocks,
)


_LINES = []


def prose_lines():
    """People's Daily lines of running prose (a full stop, at least 20 characters), cached."""
    if not _LINES:
        _LINES.extend(line for line in kbook.data.people_daily_text() if len(line) >= 20 and "。" in line)
    return _LINES


# --------------------------------------------------------------------------- extraction


def test_synthetic_pages_are_extracted_well():
    news_lines = prose_lines()
    rng = np.random.default_rng(0)
    scores = []
    for seed in range(40):
        k = int(rng.integers(2, 12))
        start = int(rng.integers(0, len(news_lines) - k))
        html, gold = synthetic_page(news_lines[start:start + k], seed=seed, comments=bool(seed % 2))
        scores.append(score_extraction(extract_main_text(html), gold).f1)
    assert np.mean(scores) >= 0.95
    assert np.min(scores) >= 0.7


@given(seed=st.integers(0, 10_000), n=st.integers(2, 8))
def test_every_paragraph_of_a_long_article_is_recalled(seed, n):
    news_lines = prose_lines()
    start = seed % (len(news_lines) - n)
    paragraphs = news_lines[start:start + n]
    html, gold = synthetic_page(paragraphs, seed=seed)
    extracted = extract_main_text(html)
    assert score_extraction(extracted, gold).recall >= 0.95
    # nothing from the page furniture
    for furniture in ("首页", "分享到", "热点排行", "Copyright", "广告", "欢迎访问"):
        assert furniture not in extracted or furniture in gold


def test_paragraphs_come_out_one_per_line_in_order():
    paragraphs = ["第一段讲了一件事，内容比较长，足够构成正文。", "第二段接着讲，也有标点符号。", "第三段收尾，全文结束。"]
    html, _ = synthetic_page(paragraphs, seed=3, comments=False)
    assert extract_main_text(html).split("\n") == paragraphs


def test_page_without_main_text_gives_empty_string():
    page = "<html><body><ul>" + "".join(f"<li><a href='/{i}'>频道{i}</a></li>" for i in range(10)) + "</ul></body></html>"
    assert extract_main_text(page) == ""
    assert extract_main_text("<html><body><div></div></body></html>") == ""


def test_scripts_styles_and_comments_never_leak():
    page = ("<html><head><style>p{color:red}/* 样式说明，很长很长的注释文字。 */</style></head><body>"
            "<script>var s = '脚本里的中文，看起来像正文。';</script><!-- 注释里的中文，也像正文。 -->"
            "<div><p>真正的正文在这里，有标点，也足够长。</p></div></body></html>")
    assert extract_main_text(page) == "真正的正文在这里，有标点，也足够长。"


def test_text_after_a_dropped_element_is_kept():
    page = "<body><div><p>前半句，<script>x()</script>后半句。</p></div></body>"
    assert extract_main_text(page).replace(" ", "") == "前半句，后半句。"


@pytest.mark.parametrize("page", [
    "<div><p>没有闭合的段落，照样能读出来。<p>第二段，也没有闭合。</div>",
    "<html><body><div><p>多余的结束标签也不要紧。</p></div></div></span></body>",
    "<p>连 html 和 body 都没有的片段，也是正文。</p>",
    "<table><tr><td><p>表格布局的老网页，正文在单元格里。</p></td></tr></table>",
])
def test_malformed_html_is_tolerated(page):
    text = extract_main_text(page)
    assert text.endswith("。") and "<" not in text


# --------------------------------------------------------------------------- encodings


PAGE = "<html><head>{meta}</head><body><div><p>编码测试：中文正文，包括生僻字“镕”。</p></div></body></html>"
EXPECTED = "编码测试：中文正文，包括生僻字“镕”。"


@pytest.mark.parametrize("encoding, meta", [
    ("utf-8", '<meta charset="utf-8">'),
    ("utf-8", ""),
    ("gbk", '<meta http-equiv="Content-Type" content="text/html; charset=gbk">'),
    ("gb18030", '<meta charset="GB2312">'),  # 镕 is outside GB2312: pages that declare it still use it
    ("gb18030", ""),
])
def test_encodings_are_detected(encoding, meta):
    data = PAGE.format(meta=meta).encode(encoding)
    assert extract_main_text(data) == EXPECTED


def test_byte_order_marks_win():
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le")):
        data = bom + PAGE.format(meta='<meta charset="gbk">').encode(encoding)
        assert extract_main_text(data) == EXPECTED


def test_a_wrong_declaration_falls_back_to_detection():
    data = PAGE.format(meta='<meta charset="iso-8859-1x">').encode("utf-8")
    assert decode_html(data) == PAGE.format(meta='<meta charset="iso-8859-1x">')
    data = PAGE.format(meta='<meta charset="utf-8">').encode("gbk")  # declared utf-8, really GBK
    assert EXPECTED in decode_html(data)


# --------------------------------------------------------------------------- forum pages


def test_split_posts_finds_every_floor():
    posts = [f"这是第{i}楼的发言，内容各不相同：{'好' * i}。" for i in range(1, 8)]
    floors = "".join(f"<div class='floor'><div class='user'><a href='/u{i}'>用户{i}</a></div>"
                     f"<div class='body'><p>{text}</p></div><a href='/r{i}'>回复</a></div>"
                     for i, text in enumerate(posts))
    page = (f"<body><div class='nav'>{''.join(f'<a href=/{i}>栏目{i}</a>' for i in range(8))}</div>"
            f"<div class='thread'>{floors}</div><div class='footer'>版权所有。</div></body>")
    assert split_posts(page) == posts


def test_split_posts_without_repetition_is_empty():
    assert split_posts("<body><div><p>只有一段话，没有楼层。</p></div></body>") == []


# --------------------------------------------------------------------------- scoring


def test_score_extraction_hand_computed():
    # gold 4 chars, predicted 6 chars of which 4 match
    assert score_extraction("正文正文广告", "正文正文") == pytest.approx((4 / 6, 1.0, 0.8))
    # multisets: "好" twice in gold, once predicted → recall 2/3 of "好好的"
    p, r, f = score_extraction("好的", "好好的")
    assert (p, r) == pytest.approx((1.0, 2 / 3)) and f == pytest.approx(0.8)
    # whitespace never counts
    assert score_extraction("a b\nc", "abc") == (1.0, 1.0, 1.0)
    # words
    assert score_extraction("the cat sat", "the cat sat down", unit="word") == pytest.approx((1.0, 0.75, 6 / 7))
    # no overlap
    assert score_extraction("甲", "乙") == (0.0, 0.0, 0.0)


def test_score_extraction_conventions_for_empty_texts():
    assert score_extraction("", "") == (1.0, 1.0, 1.0)
    assert score_extraction("", "正文") == (0.0, 0.0, 0.0)
    assert score_extraction("正文", " ") == (0.0, 0.0, 0.0)


def test_score_extraction_jieba_words():
    p, r, f = score_extraction("我们去公园", "我们去公园散步", unit="jieba")
    assert p == 1.0 and 0 < r < 1


@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40))
def test_score_extraction_is_symmetric_in_f1_and_bounded(a, b):
    ab, ba = score_extraction(a, b), score_extraction(b, a)
    assert ab.f1 == pytest.approx(ba.f1)
    assert ab.precision == pytest.approx(ba.recall)
    assert 0.0 <= ab.f1 <= 1.0


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("call, error, match", [
    (lambda: extract_main_text(None), TypeError, "html"),
    (lambda: extract_main_text(123), TypeError, "html"),
    (lambda: extract_main_text(""), ValueError, "empty"),
    (lambda: extract_main_text("   \n"), ValueError, "empty"),
    (lambda: extract_main_text("plain text, not a page"), ValueError, "no tag"),
    (lambda: decode_html("<p>str</p>"), TypeError, "bytes"),
    (lambda: split_posts("<p>x</p>", min_posts=1), ValueError, "min_posts"),
    (lambda: split_posts("<p>x</p>", min_posts=True), TypeError, "min_posts"),
    (lambda: split_posts("<p>x</p>", min_chars=0), ValueError, "min_chars"),
    (lambda: score_extraction(b"x", "x"), TypeError, "predicted"),
    (lambda: score_extraction("x", None), TypeError, "gold"),
    (lambda: score_extraction("x", "x", unit="byte"), ValueError, "unit"),
    (lambda: synthetic_page("一段话"), TypeError, "paragraphs"),
    (lambda: synthetic_page([]), ValueError, "paragraphs"),
    (lambda: synthetic_page(["正文", " "]), ValueError, r"paragraphs\[1\]"),
    (lambda: synthetic_page(["正文"], seed="1"), TypeError, "seed"),
])
def test_bad_arguments_raise_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_blocks_carry_the_features():
    blocks = text_blocks("<body><div><a href='/'>首页</a>新闻</div><p>一句话，两个标点。</p></body>")
    nav, prose = blocks
    assert (nav.chars, nav.link_chars, nav.punctuation) == (4, 2, 0)
    assert (prose.chars, prose.link_chars, prose.punctuation) == (9, 0, 2)
    assert [b.index for b in blocks] == [0, 1]


# --------------------------------------------------------------------------- loader


def test_html_pages_loader_reports_the_command_when_missing(tmp_path):
    with pytest.raises(kbook.data.DataNotFoundError, match="pip download"):
        kbook.data.html_pages("gne", tmp_path)
    with pytest.raises(ValueError, match="source"):
        kbook.data.html_pages("nytimes")


def test_html_pages_loader_reads_real_pages():
    try:
        pages = kbook.data.html_pages("newspaper4k")
    except kbook.data.DataNotFoundError as error:
        pytest.skip(str(error))
    assert len(pages) >= 20 and all(p["gold"] for p in pages)
    chinese = [p for p in pages if p["name"].startswith("chinese")]
    assert chinese and all(score_extraction(extract_main_text(p["html"]), p["gold"]).f1 > 0.9 for p in chinese)
