"""kbook.crawler.extract_main_text against trafilatura, readability-lxml, goose3 and jusText:
F1 against gold texts, pages per second, and what each extracts from GNE's Chinese news pages.

Paired and interleaved: each round runs every extractor over the same pages, in an order rotated
from round to round, and measures CPU time (time.process_time), so that a machine slowing down
during the run cannot favour one tool. The ratio to kbook's time is taken within each round;
the median and range over rounds are reported, with F1 against the gold text of the same pages.

Pages: newspaper4k's 23 article pages with gold text (several languages) and synthetic Chinese
news pages with known main text (kbook.crawler.synthetic_page over People's Daily prose).

Run: .venv/bin/python benchmarks/bench_crawler.py [--rounds 7]
Writes src/kbook/results/bench_crawler.json, which notebooks/crawler.ipynb reads: the chapter
shows the comparison without installing the four other tools.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import statistics
import time
from pathlib import Path

import numpy as np

import kbook.data
from kbook.crawler import decode_html, extract_main_text, score_extraction, synthetic_news_pages

RESULTS = Path(__file__).resolve().parents[1] / "src" / "kbook" / "results" / "bench_crawler.json"
CJK_PAGES = ("chinese", "japanese", "thai", "burmese", "korean")


def extractors():
    """Name → function(html str) → text, for every tool compared (imports here: tests never need them)."""
    import justext
    import trafilatura
    from goose3 import Goose
    from goose3.text import StopWordsChinese
    from lxml import html as lxml_html
    from readability import Document

    logging.getLogger("readability").setLevel(logging.ERROR)
    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    logging.getLogger("goose3").setLevel(logging.ERROR)
    goose_zh = Goose({"stopwords_class": StopWordsChinese, "enable_image_fetching": False})
    goose_en = Goose({"enable_image_fetching": False})

    def goose_text(html):
        # goose3 needs the page's language for its stop words: Chinese when CJK ideographs make up
        # 30% of the page's visible characters, its English default otherwise.
        tree = lxml_html.fromstring(html)
        for element in tree.xpath("//script|//style"):
            element.drop_tree()
        text = re.sub(r"\s", "", tree.text_content())
        chinese = len(re.findall("[\u4e00-\u9fff]", text)) > 0.3 * max(len(text), 1)
        return (goose_zh if chinese else goose_en).extract(raw_html=html).cleaned_text or ""

    def readability_text(html):
        tree = lxml_html.fromstring(Document(html).summary(html_partial=True))
        blocks = [re.sub(r"\s+", " ", e.text_content()).strip()
                  for e in tree.iter("p", "li", "h1", "h2", "h3", "pre", "blockquote", "td")]
        return "\n".join(b for b in blocks if b)

    def justext_text(html):
        # No Chinese stop list ships with jusText: its language-independent mode (length and link
        # density only) is used for every page, as its authors suggest for such languages.
        paragraphs = justext.justext(html.encode("utf-8"), frozenset(), stopwords_low=0, stopwords_high=0)
        return "\n".join(p.text for p in paragraphs if not p.is_boilerplate)

    return {
        "kbook": extract_main_text,
        "trafilatura": lambda html: trafilatura.extract(html) or "",
        "readability-lxml": readability_text,
        "goose3": goose_text,
        "jusText": justext_text,
    }


def pages(n_synthetic: int, seed: int = 0):
    """(name, html str, gold, unit) for the newspaper4k gold pages and synthetic Chinese pages."""
    out = []
    for page in kbook.data.html_pages("newspaper4k"):
        unit = "char" if page["name"].startswith(CJK_PAGES) else "word"
        out.append((page["name"], decode_html(page["html"]), page["gold"], unit))
    for i, (html, gold) in enumerate(synthetic_news_pages(n_synthetic, seed)):
        out.append((f"synthetic-{i}", html, gold, "char"))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--synthetic", type=int, default=40)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    tools = extractors()
    corpus = pages(args.synthetic)
    outputs = {name: [fn(html) for _, html, _, _ in corpus] for name, fn in tools.items()}  # warm-up too
    prf = {name: [score_extraction(text, gold, unit) for text, (_, _, gold, unit) in zip(outputs[name], corpus)]
           for name in tools}
    news = [p for p in kbook.data.html_pages("gne") if p["kind"] == "news"]
    news_chars = {name: [len(re.sub(r"\s", "", fn(decode_html(p["html"])))) for p in news] for name, fn in tools.items()}

    names = list(tools)
    seconds = {name: [] for name in names}
    for r in range(args.rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            fn = tools[name]
            start = time.process_time()
            for _, html, _, _ in corpus:
                fn(html)
            seconds[name].append(time.process_time() - start)
        print(f"round {r + 1}: " + ", ".join(f"{n} {seconds[n][-1]:.2f} s" for n in names), flush=True)

    n = len(corpus)
    results = {
        "pages": [{"name": name, "unit": unit} for name, _, _, unit in corpus],
        "news_pages": [p["name"] for p in news],
        "rounds": args.rounds,
        "load_average_at_end": round(os.getloadavg()[0], 2),
        "machine": f"{platform.processor() or platform.machine()}, Python {platform.python_version()}",
        "tools": {},
    }
    for name in names:
        ratios = [s / k for s, k in zip(seconds[name], seconds["kbook"])]
        scores = np.array(prf[name])
        gold_set = [i for i, page in enumerate(corpus) if not page[0].startswith("synthetic")]
        worst = min(gold_set, key=lambda i: scores[i, 2])
        extra = [line for line in outputs[name][worst].splitlines()
                 if line.strip() and line.strip()[:40] not in corpus[worst][2]]
        results["tools"][name] = {
            "precision": scores[:, 0].round(4).tolist(),
            "recall": scores[:, 1].round(4).tolist(),
            "f1": scores[:, 2].round(4).tolist(),
            "news_chars": news_chars[name],
            "worst_gold_page": {"name": corpus[worst][0], "precision": float(scores[worst, 0]),
                                "recall": float(scores[worst, 1]), "f1": float(scores[worst, 2]),
                                "extra_lines": len(extra), "extra_sample": [line[:80] for line in extra[:2]]},
            "ms_per_page_median": 1000 * statistics.median(seconds[name]) / n,
            "pages_per_second_median": n / statistics.median(seconds[name]),
            "time_ratio_to_kbook_median": statistics.median(ratios),
            "time_ratio_to_kbook_min": min(ratios),
            "time_ratio_to_kbook_max": max(ratios),
            "f1_mean_gold_pages": float(scores[gold_set, 2].mean()),
            "f1_mean_chinese_pages": float(np.mean([scores[i, 2] for i, page in enumerate(corpus) if page[3] == "char"])),
        }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for name, row in results["tools"].items():
        print(f"{name:17s} {row['pages_per_second_median']:7.1f} pages/s  time x{row['time_ratio_to_kbook_median']:.2f} "
              f"(range {row['time_ratio_to_kbook_min']:.2f}-{row['time_ratio_to_kbook_max']:.2f}) of kbook's; "
              f"F1 gold {row['f1_mean_gold_pages']:.3f}, Chinese {row['f1_mean_chinese_pages']:.3f}")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
