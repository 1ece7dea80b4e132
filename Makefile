# Two commands on a fresh clone: `make train` and `make test` (each sets up first).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The local CPU build: installed before the project so pip never pulls a CUDA build.
TORCH ?= torch==2.13.0

.PHONY: setup train test test-ci test-slow test-all test-notebooks lint docs notebooks reproduce reproduce-budget zoo bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/pip install --quiet -e ".[dev,docs,notebooks,mlflow,export,graph,sweep,tune,stream]"
	$(BIN)/pip check
	touch $@

train: setup
	$(BIN)/python scripts/train.py experiment=digits_cnn

# every run prints its 20 slowest tests
PYTEST := $(BIN)/python -m pytest -q --durations=20

test: setup
	$(PYTEST) -m "not slow and not notebooks"

# the slow tests CI runs: one real training per modality against its target, a
# kill-and-resume, a sweep and a DDP run (marked `ci`), and the lessons' notebooks
test-ci: setup
	$(PYTEST) -m "(slow and ci) or notebooks"

test-slow: setup
	$(PYTEST) -m slow

test-all: setup
	$(PYTEST)

# the seven lessons' notebooks at the small budget, about 4 minutes (also in test-ci;
# out of make test, which they would take past its 12 minutes)
test-notebooks: setup
	$(PYTEST) -m notebooks

lint: setup
	$(BIN)/ruff check src tests scripts notebooks
	$(BIN)/ruff format --check src tests scripts notebooks

# the lessons' notebooks (notebooks/lesson_N_*.py, jupytext scripts) as .ipynb beside them
notebooks: setup
	$(BIN)/jupytext --to ipynb notebooks/lesson_*.py

# the documentation site (mkdocs.yml, docs/) into site/; a broken link or page fails it
docs: setup
	$(BIN)/mkdocs build --strict --site-dir site

# the published protocols (conf/reproduce.yaml) beside the papers' numbers, into
# docs/reproduction.md; reproduce-budget: each protocol shortened (about 15 minutes)
reproduce: setup
	$(BIN)/dlzoo-reproduce out=docs/reproduction.md

reproduce-budget: setup
	$(BIN)/dlzoo-reproduce budget=true out=docs/reproduction.md

# every classifier's default recipe over 5 seeds against its baselines (conf/zoo.yaml),
# into docs/zoo.md; ZOO_DIR=DIR goes on with a stopped run
ZOO_DIR ?= logs/reproduce/zoo
zoo: setup
	$(BIN)/dlzoo-reproduce protocols=zoo dir=$(ZOO_DIR) out=docs/zoo.md

bench: setup
	$(BIN)/python scripts/bench.py

clean:
	rm -rf $(VENV) logs multirun outputs site .pytest_cache notebooks/*.ipynb
