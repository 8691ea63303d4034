# The README's two commands: `make book` and `make test`.
# Both create .venv if it is missing and install the course into it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# PyTorch first: a CPU build where one is available, and a range later packages accept.
TORCH ?= torch==2.13.0
STAMP := $(VENV)/.installed-stamp
JOBS ?= 2

.PHONY: book test student clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "The book is in $(CURDIR)/_build/html/index.html"

test: $(STAMP)
	$(BIN)/ruff check recsys_tutorial tests scripts
	$(BIN)/python scripts/sync_setup_cells.py --check
	$(BIN)/python -m pytest tests -n $(JOBS)
	$(BIN)/python -m pytest --nbval-lax --nbval-cell-timeout=900 -n $(JOBS) --dist loadscope -p no:cacheprovider notebooks
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "The book is in $(CURDIR)/_build/html/index.html"

clean:
	rm -rf _build
