# Two commands on a fresh machine:
#   make reproduce   set up, then run the full default pipeline (profile demo, embedded data)
#   make test        set up, then run the test suite
# Other targets: make setup | make lint | make test-slow | make dry-run | make tiny | make relock

VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)
CORES ?= 2

.PHONY: setup browser lint reproduce test test-slow dry-run tiny relock clean

setup: $(VENV)/.installed browser

# headless Chromium + chromedriver from Debian for the report's browser test (apt-get when root; else the test skips)
browser:
	@tools/browser.sh

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch with the torchvision built for it (the 2D vision net); a pair that works together: torchvision
	# 0.28.0 does not import with torch 2.13.0+cpu (operator torchvision::nms does not exist)
	$(BIN)/python -m pip install --quiet torch==2.14.1 torchvision==0.29.1
	# tinysoundfont's declared pyaudio dependency is only for playback and does not build headless
	$(BIN)/python -m pip install --quiet --no-deps tinysoundfont==0.3.7
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

reproduce: setup
	$(BIN)/snakemake --cores $(CORES)

tiny: setup
	$(BIN)/snakemake --cores $(CORES) --config profile=tiny

dry-run: setup
	$(BIN)/snakemake --cores $(CORES) -n

# what .ci/run checks before the tests: Python lint and format, Snakemake format and lint
lint: setup
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/ruff format --check src tests benchmarks tools
	$(BIN)/snakefmt --check Snakefile workflow
	tools/snakemake_lint.sh $(BIN)/snakemake

# one worker per core (pytest-xdist); each test file stays on one worker, so its module fixtures run once
test: setup
	$(BIN)/pytest -q -n auto --dist loadfile

test-slow: setup
	$(BIN)/pytest -q -m slow

# after a change that moves code without changing any output (prove it: the tiny run byte for byte):
# re-render dvc.yaml and take the new code paths' hashes into dvc.lock (refuses where a stage needs a run)
relock: setup
	$(BIN)/points2sound dvc-yaml
	$(BIN)/python tools/relock_code.py $(RELOCK_ARGS)

clean:
	rm -rf data/tiny logs/tiny results/tiny
