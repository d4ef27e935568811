# The book's two commands are `make book` and `make test`; both set up .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONSTRAINTS := requirements/constraints.txt
STAMP := $(VENV)/.installed
JB_BUILD := $(BIN)/jupyter-book build . -W -n --keep-going
# Browser-side packages from the npm registry, pinned, installed into _vendor (not
# committed): MathJax, served by the site itself so that no page makes a request to another
# host, and axe-core for the accessibility check of the browser test.
VENDOR := _vendor
MATHJAX_VERSION := 3.2.2
AXE_CORE_VERSION := 4.11.0
VENDOR_STAMP := $(VENDOR)/.installed-mathjax-$(MATHJAX_VERSION)-axe-core-$(AXE_CORE_VERSION)
# The browser test drives Debian's chromium with Playwright (no browser download).
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: setup book test checks unit notebooks site outputs lab clean student teaching-test vendor site-test bench accuracy mutants platforms

setup: $(STAMP) $(VENDOR_STAMP)

vendor: $(VENDOR_STAMP)

# Everything installs into .venv from pinned versions; nothing is registered globally.
$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) pip setuptools
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[book,test,fast]"
	# Build matplotlib's font cache now, so its one-time notice never lands in a cell output.
	MPLBACKEND=Agg $(BIN)/python -c "import matplotlib.pyplot"
	# Compile klbook's numba kernels now (about 4 s; cached beside the module), so that no
	# test worker or notebook kernel compiles them; fail here if they do not compile.
	KLBOOK_PURE_NUMPY= $(BIN)/python -c "from klbook import _kl_kernel as k; \
		raise SystemExit(k.IMPLEMENTATION != 'compiled' and 'klbook: numba did not load')"
	touch $(STAMP)

$(VENDOR_STAMP):
	npm install --prefix $(VENDOR) --no-save --no-package-lock --no-audit --no-fund \
		mathjax@$(MATHJAX_VERSION) axe-core@$(AXE_CORE_VERSION)
	rm -rf $(VENDOR)/static/mathjax && mkdir -p $(VENDOR)/static
	cp -r $(VENDOR)/node_modules/mathjax/es5 $(VENDOR)/static/mathjax
	rm -f $(VENDOR)/.installed-* && touch $@

$(CHROMIUM):
	$(SUDO) apt-get update
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y chromium

# Processes at once: notebooks executed by `make book`, pytest workers, graded solutions.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

book: setup
	$(BIN)/python tools/execute.py --jobs $(JOBS)
	$(JB_BUILD)

# The tests of klbook (unit, property, doctests) and of the chapters (nbval, strict).
# Grading and the leak test need the student edition (teaching-test), the browser test
# the built site (site-test).
PYTEST := $(BIN)/python -m pytest -q
UNIT := tests klbook --doctest-modules --ignore=tests/site \
	--ignore=tests/test_leaks.py --ignore=tests/test_grading.py \
	--ignore=tests/test_injected_regression.py
NBVAL := chapters --nbval --nbval-current-env

unit: setup
	$(PYTEST) -n $(JOBS) $(UNIT)

notebooks: setup
	$(PYTEST) -n $(JOBS) --dist loadfile $(NBVAL)

# Both in one run, so that the workers share out the notebooks and the unit tests; the
# notebooks, the longest files, first.
checks: setup
	$(PYTEST) -n $(JOBS) --dist loadfile $(NBVAL) $(UNIT)

# Three independent lines of work at once, each reporting when it ends: the checks; the
# student edition with the leak test and grading; the site with the browser test. The site
# is built from the outputs stored in the chapters, the ones nbval checks in the same run:
# nothing is executed twice, and `make test` fails if either fails.
test: setup $(CHROMIUM)
	$(MAKE) --no-print-directory -j 3 --output-sync=target site teaching-test checks

site: setup
	$(BIN)/python tools/execute.py --stored
	$(JB_BUILD)
	$(MAKE) --no-print-directory site-test

# The built site in headless chromium, offline: every page of _toc.yml is loaded from a
# server on 127.0.0.1 and checked (console, math, blocks, figures, links, axe-core).
site-test: setup $(CHROMIUM)
	$(PYTEST) tests/site --site-html=_build/html

# The student edition (README, "Teaching with this book"): the site without solutions,
# the chapters as notebooks with stubs, and the handouts of the Otter assignments, in
# $(STUDENT); the assignments with their autograders (hidden tests) in $(ASSIGNMENTS).
# Otter Assign grades each solution; ASSIGN_FLAGS=--no-run-tests leaves that to the tests.
STUDENT ?= _build/student
ASSIGNMENTS ?= _build/assignments
ASSIGN_FLAGS ?=
student: setup
	$(BIN)/python tools/edition.py --out $(STUDENT)
	$(BIN)/python tools/assign.py build --out $(ASSIGNMENTS) --handout $(STUDENT)/assignments \
		--jobs $(JOBS) $(ASSIGN_FLAGS)

# The leak test on the student edition; every assignment graded in process (solutions
# full marks, untouched notebooks zero) and three notebooks graded as otter run grades
# them (no Docker, no network). The tests grade the solutions, so the build does not.
teaching-test: setup
	$(MAKE) --no-print-directory student ASSIGN_FLAGS=--no-run-tests
	KLBOOK_STUDENT_EDITION=$(STUDENT) KLBOOK_GRADING=1 \
		$(PYTEST) tests/test_leaks.py tests/test_grading.py

# Re-execute every chapter and store its outputs (after editing a chapter or klbook).
outputs: setup
	ls chapters/*.ipynb | xargs -P $(JOBS) -n 1 \
		$(BIN)/jupyter nbconvert --to notebook --execute --inplace

# Extra options for JupyterLab, e.g. make lab LAB_ARGS="--no-browser --port 8890"
LAB_ARGS ?=
lab: setup
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[lab]"
	$(BIN)/jupyter lab $(LAB_ARGS) chapters

# Speed and accuracy of kl_divergence against scipy and numpy, on this machine: one
# table (benchmarks/bench_kl.py). Not part of `make test`, which times nothing.
bench: setup
	$(BIN)/python benchmarks/bench_kl.py

# The accuracy survey of issue 15: every public function against mpmath over fixed seeded
# fuzz ranges, one table of max relative errors (benchmarks/accuracy.py; about 5 minutes on
# one core). Not part of `make test`. ACCURACY_ARGS="--quick" for a one-minute run,
# "--only kl_gamma,kl_beta --by-group" for some functions in detail.
ACCURACY_ARGS ?=
accuracy: setup
	$(BIN)/python benchmarks/accuracy.py $(ACCURACY_ARGS)

# Does the derivation checker refuse one-edit mutations of every chain of the book? A score
# per chapter and the surviving mutants (tools/mutants.py; about 2 minutes on one core; CI runs it).
# Not part of `make test`; .ci/run runs it after. MUTANTS_ARGS="--chapter 02 --json mutants.json" for one chapter.
MUTANTS_ARGS ?=
mutants: setup
	$(BIN)/python tools/mutants.py $(MUTANTS_ARGS)

# Does make checks pass on other CPUs? The chapters (nbval) and the unit tests and doctests
# under emulated platforms (numpy without AVX-512 or AVX2, other OpenBLAS kernels, three
# libms that differ from glibc's by one ulp: tools/platforms.py, about 10 minutes on two
# cores), then the tests that inject a regression into a stored output and into klbook and
# check that nbval fails. Not part of `make test`; .ci/run runs it.
# The libm stand-in is compiled here, so this needs a C compiler (installed if missing).
CC_BIN := $(firstword $(shell command -v cc gcc 2>/dev/null))
platforms: setup
	$(if $(CC_BIN),,$(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y gcc libc6-dev)
	$(BIN)/python tools/platforms.py --jobs $(JOBS) $(NBVAL) $(UNIT)
	$(PYTEST) tests/test_injected_regression.py

clean:
	rm -rf _build

# klbook as pip installs it, outside the repository: a fresh virtual environment builds the
# wheel, installs it with the pinned dependencies and a kernel, and runs every chapter copied
# alone into an empty folder, as a downloaded chapter runs in a plain Jupyter
# (tests/test_install.py, end to end). Not part of `make test`, which checks the wheel only.
.PHONY: install-check
install-check: setup
	KLBOOK_INSTALL_CHECK=1 $(PYTEST) tests/test_install.py
