"""The book's plotting style, and a CJK-capable font when one is installed.

Helpers never plot; notebooks call :func:`setup` once and then use matplotlib as usual.

Imports: only the standard library at module level; matplotlib (and cycler, which comes with it)
inside the functions. No Keras, TensorFlow or JAX.
"""

from __future__ import annotations

import warnings

# Fonts that carry the CJK glyphs the chapters need, most preferred first. The first is the Debian
# package ``fonts-wqy-microhei`` that ``make test`` installs; the others are common elsewhere
# (Noto on Colab after ``apt-get install fonts-noto-cjk``, the system fonts of macOS and Windows).
CJK_FONTS = (
    "WenQuanYi Micro Hei",
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Source Han Sans SC",
    "PingFang SC",
    "Heiti SC",
    "Microsoft YaHei",
    "SimHei",
)

PALETTE = ("#1f5aa6", "#d1495b", "#2e8b57", "#edae49", "#6c4f9c", "#00798c", "#8c564b", "#555555")
"""The colour cycle: distinguishable, print-safe, and the first two differ for colour-blind readers."""

_STYLE = {
    "figure.figsize": (6.4, 3.8),
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "lines.linewidth": 1.8,
    "image.cmap": "viridis",
    "axes.unicode_minus": False,  # CJK fonts often lack U+2212; an ASCII hyphen always renders
}


def find_cjk_font() -> str | None:
    """Return the family name of an installed CJK-capable font, or ``None`` if there is none.

    Example:
        >>> name = find_cjk_font()
        >>> name is None or name in CJK_FONTS
        True
    """
    from matplotlib import font_manager

    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in installed:
            return name
    # matplotlib caches its font list: a font installed after the cache was built is invisible
    # until the list is rebuilt, so look once more with a fresh scan before giving up.
    font_manager.fontManager = font_manager.FontManager()
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def setup(*, cjk: bool = True) -> str | None:
    """Apply the house style to matplotlib; with ``cjk=True`` also select a CJK font.

    Returns the CJK font family in use, or ``None``. When no CJK font is installed it warns once
    (naming the Debian package to install) and keeps the default font, so Chinese labels would
    render as boxes: chapters then label their figures in ASCII (see :func:`label`).

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> font = setup()
        >>> import matplotlib.pyplot as plt
        >>> plt.rcParams["axes.spines.top"]
        False
    """
    if not isinstance(cjk, bool):
        raise TypeError(f"cjk must be a bool, got {type(cjk).__name__}")
    import matplotlib.pyplot as plt
    from cycler import cycler

    plt.rcParams.update(_STYLE)
    plt.rcParams["axes.prop_cycle"] = cycler(color=list(PALETTE))
    if not cjk:
        return None
    font = find_cjk_font()
    if font is None:
        warnings.warn(
            "no CJK font found: Chinese labels fall back to ASCII "
            "(install one, e.g. `apt-get install fonts-wqy-microhei` or `fonts-noto-cjk`)",
            stacklevel=2,
        )
        return None
    # Per-glyph fallback works along font.family, not inside the expanded sans-serif list: keep
    # DejaVu Sans first (Latin text and numbers look as usual), the CJK font catches the rest.
    plt.rcParams["font.family"] = ["DejaVu Sans", font]
    plt.rcParams["font.sans-serif"] = [font, "DejaVu Sans"]
    return font


def label(chinese: str, english: str) -> str:
    """Return ``chinese`` if a CJK font is active in matplotlib, else ``english``.

    Example:
        >>> label("训练集", "training set") in ("训练集", "training set")
        True
    """
    for name, value in (("chinese", chinese), ("english", english)):
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    import matplotlib.pyplot as plt

    families = list(plt.rcParams.get("font.family", [])) + list(plt.rcParams.get("font.sans-serif", []))
    return chinese if any(name in CJK_FONTS for name in families) else english
