# The README's commands. Each target sets up what it needs first (a virtual environment
# in .venv with pinned versions from constraints.txt), so they work on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8501

.PHONY: setup app test test-fast lint bench browser-test clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[all,dev]'
	touch $(STAMP)

setup: $(STAMP)

## Set up, then open the manager's app on the baseline scenario (http://127.0.0.1:$(PORT)).
app: $(STAMP)
	$(BIN)/streamlit run app.py --server.address 127.0.0.1 --server.port $(PORT)

## Set up, then lint and run the whole test suite (slow statistical tests included).
test: $(STAMP) lint
	$(BIN)/python -m pytest -n 2 --durations=15

## The app in a real Chromium (needs Debian's /usr/bin/chromium: apt-get install chromium).
browser-test: $(STAMP)
	$(BIN)/python -m pytest -s -m browser tests/test_browser.py

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

## Reference workloads with their targets (see benchmarks/README.md).
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
