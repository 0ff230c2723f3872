"""Sphinx glue for the kbook site: serve MathJax 3 from the site itself; drop duplicate scripts.

Sphinx loads MathJax from a CDN by default, so offline readers (and headless browsers in CI) see
raw TeX. The PyPI package ``django-static-mathjax`` (pinned in requirements.txt) ships MathJax
3.2.2; this extension adds its ``es5`` folder to the static files and points ``mathjax_path`` at
it. If the package is missing the CDN default is kept, with a warning-free note in the log.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path


def _mathjax_es5() -> Path | None:
    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "static" / "mathjax" / "es5"
    return folder if (folder / "tex-chtml.js").is_file() else None


def _configure(app, config):
    folder = _mathjax_es5()
    if folder is None:
        from sphinx.util import logging

        logging.getLogger(__name__).info("kbook: MathJax package not found; using the CDN")
        return
    # Copied into _static/mathjax/ (a subfolder, so its .js files are not injected into pages).
    staging = Path(app.outdir).parent / ".mathjax-static"
    target = staging / "mathjax"
    if not (target / "tex-chtml.js").is_file():
        import shutil

        shutil.copytree(folder, target, dirs_exist_ok=True)
    config.html_static_path = list(config.html_static_path) + [str(staging)]
    config.mathjax_path = "mathjax/tex-chtml.js"


def setup(app):
    app.connect("config-inited", _configure)
    app.connect("build-finished", _deduplicate_inline_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}



def _deduplicate_inline_scripts(app, exception):
    # jupyter-book 1.0.4 emits the inline configuration scripts of sphinx-thebe and
    # sphinx-togglebutton twice in every page; the second `const THEBE_JS_URL` is a SyntaxError in
    # the browser console. Drop exact repeats of single-line inline scripts from the written pages.
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        lines = page.read_text(encoding="utf-8").splitlines(keepends=True)
        seen, kept = set(), []
        for line in lines:
            stripped = line.strip()
            if stripped.startswith("<script>") and stripped.endswith("</script>"):
                if stripped in seen:
                    continue
                seen.add(stripped)
            kept.append(line)
        if len(kept) != len(lines):
            page.write_text("".join(kept), encoding="utf-8")
