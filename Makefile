# Two commands: `make demo` and `make test`. Both create .venv when missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test venv clean bench

$(STAMP): pyproject.toml constraints.txt
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e '.[sweep,test,deepfake,track]'
	touch $(STAMP)

venv: $(STAMP)

# make_report.py reads the latest sweep under ./results: the one just written
demo: $(STAMP)
	$(BIN)/python sweep/run.py --space augmentations --profile laptop
	$(BIN)/python analysis/make_report.py

test: $(STAMP)
	$(BIN)/python -m pytest -q tests

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/step.py
	$(BIN)/python benchmarks/sweep_overhead.py

clean:
	rm -rf $(VENV) .cache results
