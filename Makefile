# `make test` is what CI runs (.ci/run): a fresh .venv, the package with its
# test and docs extras, then the suite under each Keras backend (the docs
# build test runs in the tensorflow leg only).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYTEST := $(PY) -m pytest -q -p no:cacheprovider

.PHONY: test venv lint doctest wheel-check test-tensorflow test-jax test-torch test-without-tensorflow docs clean demo demo-venv demo-data

venv:
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -c constraints.txt -e ".[test,docs,dev]"

# The three backends' legs, the short one without TensorFlow, the doctests and
# the lint run side by side (each prints when it ends); the wheel check after
# them (its build rewrites the tree's egg-info, which the tests' metadata reads).
test: venv
	$(MAKE) -j6 --output-sync=target test-tensorflow test-jax test-torch test-without-tensorflow doctest lint
	$(MAKE) wheel-check

# ruff (lint and format) on the whole tree, mypy on the package.
lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Every docstring example runs.
doctest:
	KERAS_BACKEND=tensorflow $(PYTEST) --doctest-modules keras_cutmix

# The wheel, installed into a clean virtualenv, imported and called from outside the source tree.
WHEEL_DIR := build/wheel-check
wheel-check:
	rm -rf $(WHEEL_DIR) && mkdir -p $(WHEEL_DIR)
	$(PY) -m build --wheel --no-isolation --outdir $(WHEEL_DIR)/dist . >/dev/null
	$(PYTHON) -m venv $(WHEEL_DIR)/venv
	$(WHEEL_DIR)/venv/bin/python -m pip install -q --no-deps --no-index $(WHEEL_DIR)/dist/*.whl
	cd $(WHEEL_DIR) && KERAS_BACKEND=tensorflow PYTHONPATH=$(wildcard $(CURDIR)/$(VENV)/lib/python3*/site-packages) venv/bin/python $(CURDIR)/.ci/wheel_check.py

# Quick runs in an existing .venv (no reinstall).
test-tensorflow test-jax test-torch: test-%:
	KERAS_BACKEND=$* $(PYTEST) tests

# A JAX install without TensorFlow (tests/conftest.py makes `import tensorflow` fail): every
# layer, function and CutMixModel, and the grain and PyDataset pipelines.
test-without-tensorflow:
	KERAS_CUTMIX_WITHOUT_TENSORFLOW=1 KERAS_BACKEND=jax $(PYTEST) tests/test_without_tensorflow.py tests/integration/test_pipelines.py

# The documentation site (mkdocs.yml, docs/) into site/, warnings as errors.
# Uses the .venv of `make venv` (the docs extra); no reinstall.
docs:
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir site

# `make demo`: the paper's comparison at small scale (examples/fit_compare.py)
# on the offline Fashion-MNIST of the Debian package dataset-fashion-mnist;
# results/results.json, results/table.md and results/*.png. Under 15 minutes
# on 2 CPU cores, install included. Extra flags: make demo DEMO_ARGS="--epochs 10".
DEBIAN_FASHION_MNIST := /usr/share/datasets/fashion-mnist
FASHION_MNIST_DIR ?= $(DEBIAN_FASHION_MNIST)
DEMO_ARGS ?=

demo: demo-venv demo-data
	KERAS_BACKEND=tensorflow TF_CPP_MIN_LOG_LEVEL=2 $(PY) examples/fit_compare.py --data-dir $(FASHION_MNIST_DIR) $(DEMO_ARGS)

demo-venv:
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -c constraints.txt -e ".[examples]"

# Install Fashion-MNIST with apt-get when the files are missing and apt-get
# can run (root, or password-less sudo); otherwise say how, and let the
# example fall back to tensorflow-datasets (which downloads it).
demo-data:
	@if [ -f "$(FASHION_MNIST_DIR)/train-images-idx3-ubyte.gz" ]; then \
		echo "Fashion-MNIST: $(FASHION_MNIST_DIR)"; \
	elif [ "$(FASHION_MNIST_DIR)" != "$(DEBIAN_FASHION_MNIST)" ]; then \
		echo "Fashion-MNIST not found in FASHION_MNIST_DIR=$(FASHION_MNIST_DIR); falling back to tensorflow-datasets."; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
		echo "Fashion-MNIST not found in $(FASHION_MNIST_DIR) and no apt-get here: on Debian/Ubuntu run"; \
		echo "  sudo apt-get install dataset-fashion-mnist"; \
		echo "or pass FASHION_MNIST_DIR=<folder with the four IDX files>; falling back to tensorflow-datasets."; \
	else \
		if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
		else echo "Fashion-MNIST not found in $(FASHION_MNIST_DIR); install it with"; \
			echo "  sudo apt-get install dataset-fashion-mnist"; \
			echo "(this make has no root rights); falling back to tensorflow-datasets."; exit 0; fi; \
		echo "Installing Fashion-MNIST: $$SUDO apt-get install -y dataset-fashion-mnist"; \
		$$SUDO apt-get install -y -q dataset-fashion-mnist || { $$SUDO apt-get update -q && $$SUDO apt-get install -y -q dataset-fashion-mnist; } \
			|| echo "apt-get could not install dataset-fashion-mnist; falling back to tensorflow-datasets."; \
	fi

clean:
	rm -rf $(VENV) build dist *.egg-info site
