# mmcourse -- every command a learner, instructor or maintainer needs.
#   make lab      open the chapters in JupyterLab (sets up .venv on first use)
#   make grade    NOTEBOOK=exercises/00_getting_started.ipynb: score your exercises
#   make test     lint, unit + equivalence tests, grading both ways, sync; every chapter and
#                 solution executed within its budget (course), the book, test-full (every chapter's
#                 full-profile cells against the stand-in hub), test-browser (book + JupyterLab)
#   make check    the inner loop: lint, unit tests, solutions (no chapters, no zoo replays)
#   make course   run every chapter, write build/summary.md, executed notebooks and HTML
#   make book     the website from those executed notebooks (build/book/index.html)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
# A plain `torch` pulls a multi-GB CUDA build; override for a GPU box: make setup TORCH=torch
TORCH ?= torch==2.13.0
PROFILE ?= auto
NOTEBOOK ?= exercises/00_getting_started.ipynb
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.mmcourse-installed
NOTEBOOK_DIRS := chapters solutions exercises
# What `make check` skips: the chapters, the zoo replays, the exercise grading, and the tests marked
# heavy (a whole class graded, the evaluation report, the slow zoo re-scoring, subprocess reproducibility runs).
SLOW := not behaves_as_when_trained and not exercises_score and not pinned

export HF_HUB_DISABLE_PROGRESS_BARS := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup course book test test-full test-browser smoke check lint lab grade sync exercises verify-zoo probe-zoo constraints clean help

help:
	@sed -n '1,9p' Makefile | sed 's/^# \{0,1\}//'

setup: $(STAMP)

# Idempotent: re-runs only when the venv is missing or the dependency files change.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

course: setup
	$(PY) -m mmcourse course --profile $(PROFILE)

lint: setup
	$(BIN)/ruff check mmcourse tests benchmarks book $(NOTEBOOK_DIRS) conftest.py

# The chapters run once, through `course` (budgets enforced: past 1.5x the scaled target fails),
# and the book and the browser tests use that run's executed notebooks.
test: setup lint
	HF_HUB_OFFLINE=1 $(PY) -m pytest tests --ignore=tests/browser --durations=15
	HF_HUB_OFFLINE=1 $(PY) -m mmcourse course --profile tiny --strict-budgets --no-html
	$(MAKE) --no-print-directory book
	$(MAKE) --no-print-directory test-browser
	$(MAKE) --no-print-directory test-full

# The website: Sphinx + myst-nb over the executed notebooks of `make course` (run it first).
book: setup
	HF_HUB_OFFLINE=1 $(PY) -m mmcourse book

# The book and a live JupyterLab in the system's headless Chromium (apt-get install chromium).
test-browser: setup
	HF_HUB_OFFLINE=1 $(PY) -m pytest tests/browser -p no:cacheprovider -s

# The full profile, offline on the CPU: tiny random checkpoints under the real repo ids. Runs each
# chapter's full-profile cells and the cells they read from (python -m mmcourse test-full --whole: all).
test-full: setup
	HF_HUB_OFFLINE=1 $(PY) -m mmcourse test-full

# On a CUDA machine with internet: load every registry model, one call each, a cost table.
smoke: setup
	$(PY) -m mmcourse smoke

check: setup lint
	HF_HUB_OFFLINE=1 $(PY) -m pytest tests --ignore=tests/browser -q -k "$(SLOW)" -m "not heavy"

# Retrain zoo entries (NAME="a b": those; default: all) and check their stored metrics reproduce.
verify-zoo: setup
	$(PY) -m mmcourse zoo verify $(NAME)

# Replay zoo recipes, shrunk, at the commit that trained them and now; record the unchanged ones.
probe-zoo: setup
	HF_HUB_OFFLINE=1 $(PY) -m mmcourse zoo probe $(NAME)

lab: setup
	@$(PY) -c "import jupyterlab" 2>/dev/null || $(PY) -m pip install -q -c constraints.txt -e ".[lab]"
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root,)

grade: setup
	$(PY) -m mmcourse grade $(NOTEBOOK)

sync: setup
	$(PY) -m mmcourse sync

exercises: setup
	$(PY) -m mmcourse exercises $(if $(FORCE),--force,)

constraints: setup
	@{ sed -n '1,3p' constraints.txt; $(PY) -m pip freeze --exclude-editable | grep -viE '^(torch|mmcourse)[= ]'; } > constraints.tmp
	@mv constraints.tmp constraints.txt && echo "wrote constraints.txt"

clean:
	rm -rf build .pytest_cache
