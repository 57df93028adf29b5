# `make demo` and `make test` do all set-up on a fresh machine, then run.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# torch 2.13.0 has a local CPU build here; an unpinned torch would pull the CUDA stack.
TORCH_PIN ?= torch==2.13.0

.PHONY: demo demo-results test docs docs-check behaviour bench zoo zoo-tuning zoo-report zoo-trusted zoo-text review-loop zoo-quick bench-model-selection speed speed-gpu gpu-wheels gpu-check scale scale-hashing noise-rate lint clean

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH_PIN) || $(PY) -m pip install --quiet "torch>=2.2"
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

demo: $(VENV)/.installed
	$(PY) -m sknoisy demo

# The demo's output as recorded in README.
demo-results: $(VENV)/.installed
	$(PY) -m sknoisy demo | tee benchmarks/results/demo.txt
	$(PY) -m benchmarks.readme_tables

# The suite runs in TEST_WORKERS processes (pytest-xdist), each with one torch thread:
# the tests train tiny networks, which gain little from more threads (on 2 cores: 1587
# tests in 6 min 12 s in two processes, where 1522 had taken 8 min 4 s in one).
TEST_WORKERS ?= 2
test: $(VENV)/.installed
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -n $(TEST_WORKERS)

# The documentation site (mkdocs.yml: MkDocs Material, API pages from the docstrings,
# tutorials executed at build time) into site/. --strict: any warning fails the build.
# The tutorials train small networks with DOCS_THREADS torch threads: on a 2-core machine
# shared with other work, torch's default thread pool oversubscribes the cores (a build
# took 6 minutes with the default against 42 s with one thread on a loaded machine).
DOCS_THREADS ?= 1
# apt-get as root, or through sudo for another user (make docs-check installs chromium).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
$(VENV)/.docs-installed: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet -e ".[test,docs]"
	touch $@

# MathJax, the formulas' renderer, from its npm package (npm ships with Node.js), into an
# ignored cache; mkdocs_hooks.py serves it from the site, so formulas render offline.
MATHJAX_VERSION := 3.2.2
MATHJAX_DIR := .cache/mathjax-$(MATHJAX_VERSION)
$(MATHJAX_DIR)/es5/tex-mml-chtml.js:
	@command -v npm >/dev/null || { echo "make docs fetches MathJax with npm, which is missing: apt-get install npm" >&2; exit 1; }
	rm -rf $(MATHJAX_DIR) && mkdir -p $(MATHJAX_DIR)
	cd .cache && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null
	tar xzf .cache/mathjax-$(MATHJAX_VERSION).tgz -C $(MATHJAX_DIR) --strip-components=1
	rm .cache/mathjax-$(MATHJAX_VERSION).tgz
	test -f $@

docs: $(VENV)/.docs-installed $(MATHJAX_DIR)/es5/tex-mml-chtml.js
	MATHJAX_DIR=$(MATHJAX_DIR) OMP_NUM_THREADS=$(DOCS_THREADS) NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

# The built site in a headless browser, offline (tools/check_site.py): formulas typeset and
# no JavaScript error on the home page, a page with formulas and a tutorial. Installs
# Debian's chromium package when no browser is there; fails when it cannot run.
docs-check: docs
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
		{ DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get update -qq && \
		  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium; }
	$(PY) tools/check_site.py site

# Regenerates every committed result from scratch: the speed table, the scale benchmark
# (about 40 minutes on 2 CPU cores), both halves of the benchmark zoo (docs/zoo.md), the
# noise-rate table, the model-selection benchmark (about 75 minutes), the demo, and
# README's copies of them.
BENCH_JOBS ?= 2
ZOO_RESULTS := benchmarks/results/zoo
bench: $(VENV)/.installed
	$(PY) -m benchmarks.speed
	$(PY) -m benchmarks.scale
	$(PY) -m benchmarks.run --half tuning --fresh --jobs $(BENCH_JOBS) --output $(ZOO_RESULTS)/tuning
	$(PY) -m benchmarks.run --half report --fresh --jobs $(BENCH_JOBS) --output $(ZOO_RESULTS)/report
	$(PY) -m benchmarks.noise_rate
	$(PY) -m benchmarks.model_selection --fresh --jobs $(BENCH_JOBS) --output benchmarks/results
	$(PY) -m sknoisy demo | tee benchmarks/results/demo.txt
	$(PY) -m benchmarks.readme_tables

# The benchmark zoo (docs/zoo.md). Each half resumes from the cells already in its CSV,
# so an interrupted run goes on where it stopped and a finished one only redraws its
# tables and plots; ZOO_FLAGS=--fresh starts again.
ZOO_FLAGS ?= --resume
zoo: zoo-report

zoo-tuning: $(VENV)/.installed
	$(PY) -m benchmarks.run --half tuning $(ZOO_FLAGS) --jobs $(BENCH_JOBS) --output $(ZOO_RESULTS)/tuning
	$(PY) -m benchmarks.readme_tables

zoo-report: $(VENV)/.installed
	$(PY) -m benchmarks.run --half report $(ZOO_FLAGS) --jobs $(BENCH_JOBS) --output $(ZOO_RESULTS)/report
	$(PY) -m benchmarks.readme_tables

# The recommended estimator on the report half with 5% of the rows checked (trusted),
# against the report half's own runs without them (zoo/trusted/trusted.md).
zoo-trusted: $(VENV)/.installed
	$(PY) -m benchmarks.run --half report --no-raw --methods AutoClassifier:trusted=0.05 $(ZOO_FLAGS) --jobs $(BENCH_JOBS) --output $(ZOO_RESULTS)/trusted
	$(PY) -m benchmarks.trusted_report

# The text problems (sparse TF-IDF rows) at rule-based and 40% symmetric noise, against
# the usual models for text (benchmarks/text_report.py).
zoo-text: $(VENV)/.installed
	$(PY) -m benchmarks.run --datasets news,reviews --noise rule,sym40 --methods "$$($(PY) -c 'from benchmarks.text_report import METHODS; print(",".join(METHODS))')" $(ZOO_FLAGS) --jobs $(BENCH_JOBS) --output $(ZOO_RESULTS)/text
	$(PY) -m benchmarks.text_report

# The review loop on the report half: 5 rounds of 2% of the rows checked and refitted,
# sknoisy's ranking against cleanlab's and random review (zoo/review/review_loop.md).
review-loop: $(VENV)/.installed
	$(PY) -m benchmarks.review_loop --resume --jobs $(BENCH_JOBS)

# The smoke run of the zoo (into benchmarks/output/, not committed).
zoo-quick: $(VENV)/.installed
	$(PY) -m benchmarks.run --quick --fresh --jobs $(BENCH_JOBS)

# What each scorer of sknoisy.model_selection picks in GridSearchCV, against the best in
# the grid (about 75 minutes on 2 CPU cores).
bench-model-selection: $(VENV)/.installed
	$(PY) -m benchmarks.model_selection --fresh --jobs $(BENCH_JOBS) --output benchmarks/results
	$(PY) -m benchmarks.readme_tables

speed: $(VENV)/.installed
	$(PY) -m benchmarks.speed
	$(PY) -m benchmarks.readme_tables

# On a machine with a CUDA GPU (and a CUDA build of torch): each estimator against the
# hand-written loop on the GPU, at 50,000 and at 1,000,000 rows (results/speed_cuda*.md).
speed-gpu: $(VENV)/.installed
	$(PY) -m benchmarks.speed --device cuda
	$(PY) -m benchmarks.speed --device cuda --n-samples 1000000 --repeats 3

# The GPU check (tools/gpu_check.sh): on a machine with a CUDA GPU, its own python3, torch
# and scikit-learn and no network, `make gpu-check OUT=DIR` runs the device tests and the
# CUDA speed runs into DIR. Its missing packages come from .gpu-wheels/, which
# `make gpu-wheels` fills here beforehand (pure-Python wheels, any Python 3).
GPU_WHEELS := skorch==1.4.0 tabulate==0.10.0 tqdm==4.70.1 pytest==9.2.0 pluggy==1.7.0 \
	iniconfig==2.3.1 packaging==26.4 pygments
gpu-wheels: $(VENV)/.installed
	$(PY) -m pip download --quiet --no-deps --only-binary=:all: -d .gpu-wheels $(GPU_WHEELS)

OUT ?= gpu-check-results
gpu-check:
	bash tools/gpu_check.sh $(OUT)

# Fit time and peak memory at 10^4, 10^5 and 10^6 rows, against the memory bound
# (results/scale.md; about 40 minutes on 2 CPU cores).
scale: $(VENV)/.installed
	$(PY) -m benchmarks.scale
	$(PY) -m benchmarks.readme_tables

# Fit time and peak memory on 200,000 hashed-text rows of 2^18 features, sparse
# throughout (results/scale_hashing.md; about an hour and a half on 2 CPU cores).
scale-hashing: $(VENV)/.installed
	$(PY) -m benchmarks.scale --hashing

noise-rate: $(VENV)/.installed
	$(PY) -m benchmarks.noise_rate

# Whether every estimator still fits bit for bit as the committed reference says
# (benchmarks/behaviour.py, about a minute): the check for changes that keep behaviour.
behaviour: $(VENV)/.installed
	OMP_NUM_THREADS=1 $(PY) -m benchmarks.behaviour

lint: $(VENV)/.installed
	$(PY) -m pip install --quiet ruff && $(VENV)/bin/ruff check sknoisy tests benchmarks tools mkdocs_hooks.py

clean:
	rm -rf $(VENV) build site *.egg-info .pytest_cache
