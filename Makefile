# kbook: `make book` builds the site, `make test` runs every check CI runs, `make test-py` only
# the pytest part (both Keras backends; no Debian packages, no notebooks).
# Both bootstrap .venv from requirements.txt on first use (and again when it changes).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.requirements-installed

.PHONY: book test test-py execute check system-deps page-data bench clean

$(STAMP): requirements.txt pyproject.toml
	@PYTHON=$(PYTHON) bash scripts/bootstrap.sh

book: $(STAMP)
	$(VENV)/bin/jupyter-book build . -W -n --keep-going
	@echo "The site is in _build/html: open _build/html/index.html"

test: $(STAMP) system-deps page-data
	@bash scripts/test.sh

test-py: $(STAMP)   # quick check: pytest + doctests under TensorFlow and JAX
	@bash scripts/test.sh py

system-deps:
	@bash scripts/system-deps.sh

page-data: $(STAMP)   # the crawler chapter's pages, read from two PyPI sdists
	@bash scripts/page-data.sh

execute: $(STAMP)   # re-make committed outputs: make execute [NB=notebooks/x.ipynb]
	$(PY) -m kbook.book execute $(NB)

check: $(STAMP)
	$(PY) -m kbook.book check

bench: $(STAMP)     # on demand; see benchmarks/README.md
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || echo "   ($$f did not complete: see its message)"; done

clean:
	rm -rf _build .pytest_cache .hypothesis
