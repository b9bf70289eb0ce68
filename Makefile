# `make test` is what CI runs (.ci/run): a fresh .venv, the package with its
# test extras, then the suite under each Keras backend.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYTEST := $(PY) -m pytest -q -p no:cacheprovider

.PHONY: test venv test-tensorflow test-jax test-torch clean

venv:
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -c constraints.txt -e ".[test]"

test: venv
	KERAS_BACKEND=tensorflow $(PYTEST) tests
	KERAS_BACKEND=jax $(PYTEST) tests
	KERAS_BACKEND=torch $(PYTEST) tests

# Quick runs in an existing .venv (no reinstall).
test-tensorflow test-jax test-torch: test-%:
	KERAS_BACKEND=$* $(PYTEST) tests

clean:
	rm -rf $(VENV) build dist *.egg-info
