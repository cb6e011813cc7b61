# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
# Each creates .venv with Python 3.11 or newer and installs the project into it.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test generate benchmark clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "pyproton-ml needs Python 3.11 or newer; set PYTHON=python3.11 (found " + sys.version.split()[0] + ")")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "Installing pyproton-ml and its dependencies into $(VENV): about 1.2 GB on the first run, about half of it chDB."
	$(BIN)/python -m pip install --progress-bar on -e '.[test]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/pyproton-ml demo

test: $(STAMP)
	$(BIN)/python -m pytest

generate: $(STAMP)
	$(BIN)/pyproton-ml example generate

benchmark: $(STAMP)
	$(BIN)/python benchmarks/serving_overhead.py

clean:
	rm -rf $(VENV) .pytest_cache pyproton_ml.egg-info
