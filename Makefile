# The two commands of the README: `make run` and `make test`.
# Both set up what is missing (system packages, .venv) and are idempotent.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1

.PHONY: setup system run test bench
setup: system $(STAMP)

system:
	@bash scripts/setup_system.sh

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.txt
	$(VENV)/bin/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

run: setup
	$(PY) app.py $(ARGS)

# Tests run in two worker processes (pytest-xdist; whole files per worker, so a module's
# fixtures are built once), one torch thread each: the 2-core machines of the project.
TEST_WORKERS ?= 2
test: export OMP_NUM_THREADS := 1
test: setup
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile $(ARGS)

bench: setup
	$(PY) bench/render_speed.py
