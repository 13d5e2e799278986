# The two commands a new machine needs (see README):
#   make demo   installs everything (pinned) and runs the reference pipeline locally
#   make test   installs everything (pinned) and runs the test suite
.PHONY: demo test test-fast compile bench setup clean

PY := .venv/bin/python
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

setup:
	bash scripts/bootstrap.sh

demo: setup
	$(PY) -m nuri run --domain domains/welfare.yaml

test: setup
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not slow"

compile: setup
	$(PY) -m nuri compile --domain domains/welfare.yaml --out build/nuri-reference.yaml

bench: setup
	$(PY) bench/pipeline_bench.py

clean:
	rm -rf runs build
