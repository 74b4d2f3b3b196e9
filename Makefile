# The two commands a new user needs: `make test` and `make run`. Both set everything up first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup test run lint build eval bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/setup_system.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, pinned: the CPU build (a bare `torch` would pull GBs of CUDA)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[ui,ingest,dev]'
	bash scripts/setup_system.sh
	touch $(STAMP)

test: setup
	$(PY) -m pytest -q

run: setup
	$(PY) app.py

lint: setup
	$(VENV)/bin/ruff check bot tests app.py
	$(VENV)/bin/mypy

build: setup
	$(PY) -m bot build

# the given dev set sits beside the repository in the team's workspace; a clone elsewhere
# measures our own set instead (make eval EVAL=path/to/dev.jsonl for another)
EVAL ?= $(firstword $(wildcard ../shared/eval/dev.jsonl) tests/data/questions.jsonl)
eval: setup
	$(PY) -m bot eval $(EVAL)

bench: setup
	$(PY) -m bot bench

clean:
	rm -rf index .pytest_cache .mypy_cache .ruff_cache
