"""Load the built site in headless Chromium and check what a reader would see.

For the index and every chapter (the pilot chapter must be there) it asserts that every image loaded, that math was typeset by
MathJax (served from the site itself, so this works offline), that the page logged no console
errors and no failed requests, and that the chapter offers a Colab launch link. Screenshots go to
``_build/screenshots/``. Usage: ``python scripts/browser_check.py [_build/html]``.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import sys
import tempfile
import threading
from pathlib import Path

PILOT_PAGES = ["index.html", "notebooks/dropout.html"]  # must exist
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("browser check: no Chromium found; install it with `apt-get install chromium`")


def serve(root: Path):
    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # the per-request log would drown the report
            pass

    handler = functools.partial(QuietHandler, directory=str(root))
    class QuietServer(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address):  # the browser closing a socket early
            pass

    server = QuietServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def check_page(context, base: str, page_path: str, shots: Path) -> list[str]:
    problems: list[str] = []
    page = context.new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.on("console", lambda msg: msg.type == "error"
            and problems.append(f"console error: {msg.text} [{msg.location.get('url', '')}]"))
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("requestfailed", lambda req: problems.append(f"request failed: {req.url} ({req.failure})"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))
    response = page.goto(f"{base}/{page_path}", wait_until="networkidle")
    if response is None or response.status != 200:
        return [f"HTTP status {response.status if response else 'none'}"]
    has_math = page.evaluate("document.querySelectorAll('.math').length") > 0
    if has_math:
        page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=20000)
        page.evaluate("MathJax.startup.promise")
        untypeset = page.evaluate(
            "[...document.querySelectorAll('.math')].filter(e => !e.querySelector('mjx-container')).length"
        )
        typeset = page.evaluate("document.querySelectorAll('mjx-container').length")
        if untypeset or not typeset:
            problems.append(f"math not typeset: {untypeset} raw of {typeset + untypeset} formulas")
    images = page.evaluate(
        "[...document.images].map(i => [i.currentSrc || i.src, i.complete && i.naturalWidth > 0])"
    )
    problems += [f"image did not load: {src}" for src, ok in images if not ok]
    if page_path.startswith("notebooks/"):
        if not page.evaluate("[...document.links].some(a => a.href.includes('colab.research.google.com'))"):
            problems.append("no Colab launch link")
        figures = sum(1 for src, ok in images if ok and ("/_images/" in src or src.startswith("data:image")))
        if figures == 0:
            problems.append("no figures on the chapter page")
    target = shots / (page_path.replace("/", "_").replace(".html", ".png"))
    page.screenshot(path=str(target), full_page=False)
    page.screenshot(path=str(target.with_name(target.stem + "-full.png")), full_page=True)
    page.close()
    print(f"  {page_path}: {len(images)} images, math {'typeset' if has_math else 'absent'}, "
          f"{len(problems)} problem(s); screenshot {target}")
    return problems


def main(site: str = "_build/html") -> int:
    from playwright.sync_api import sync_playwright

    root = Path(site)
    if not (root / "index.html").is_file():
        sys.exit(f"browser check: {root}/index.html not found; build the book first")
    shots = root.parent / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    server = serve(root)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    failures = 0
    # Playwright drives the system Chromium (no browser download) with a throw-away profile.
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=find_chromium(), headless=True, args=CHROMIUM_ARGS
        )
        chapters = sorted(str(p.relative_to(root)) for p in (root / "notebooks").glob("*.html"))
        for page_path in PILOT_PAGES + [c for c in chapters if c not in PILOT_PAGES]:
            problems = check_page(context, base, page_path, shots)
            for problem in problems:
                print(f"    FAIL {problem}")
            failures += len(problems)
        context.close()
    server.shutdown()
    print(f"browser check: {failures} problem(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
