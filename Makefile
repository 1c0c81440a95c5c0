# The README's two set-up commands are `make run` and `make test`; each installs what it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA_DIR ?= $(if $(IDK_DATA_DIR),$(IDK_DATA_DIR),$(wildcard ../shared/data))
RUN_DIR ?= runs
export IDK_DATA_DIR := $(DATA_DIR)

.PHONY: install run run-fashion run-letters test lint format bench reproduce clean serve serve-load screenshot

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

# Train the default model (Bayesian CNN + its deterministic twin), evaluate, print the report.
run: install
	$(BIN)/idk train --out $(RUN_DIR)/default.pt --overwrite
	$(BIN)/idk evaluate --model $(RUN_DIR)/default.pt --noise 1000 --gaussian 1000 --ood notmnist-10k \
		--json $(RUN_DIR)/report.json --report $(RUN_DIR)/report

# The presets chosen for Fashion-MNIST (vgg) and for notMNIST letters (cnn-fonts) (README, "Your own data").
run-fashion: install
	$(BIN)/idk train --data fashion-mnist --out $(RUN_DIR)/fashion.pt --overwrite
	$(BIN)/idk evaluate --model $(RUN_DIR)/fashion.pt --noise 1000 --gaussian 1000 \
		--json $(RUN_DIR)/fashion.json --report $(RUN_DIR)/fashion-report

run-letters: install
	$(BIN)/idk train --data notmnist-10k --out $(RUN_DIR)/letters.pt --overwrite
	$(BIN)/idk evaluate --model $(RUN_DIR)/letters.pt --noise 1000 --gaussian 1000 --ood fashion-mnist \
		--json $(RUN_DIR)/letters.json

reproduce: install
	$(BIN)/idk reproduce --seed 0 --json $(RUN_DIR)/reproduce-seed0.json

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check src tests benchmarks scripts examples
	$(BIN)/ruff format --check src tests benchmarks scripts examples

format: install
	$(BIN)/ruff format src tests benchmarks scripts examples
	$(BIN)/ruff check --fix src tests benchmarks scripts examples

# The web service on http://127.0.0.1:8000/ for the default model (`make run` trains it).
serve: install
	$(BIN)/idk serve --model $(RUN_DIR)/default.pt

# The service under load: 32 clients for 30 s, then 1,000 idle connections (README, "The web service").
serve-load: install
	$(BIN)/python benchmarks/serve_load.py --model $(RUN_DIR)/default.pt --out benchmarks/serve_load.json

# The README's screenshot of the page, taken by the browser test in headless Chromium.
screenshot: install
	IDK_SCREENSHOT=docs/serve.png IDK_SCREENSHOT_MODEL=$(RUN_DIR)/default.pt $(BIN)/python -m pytest -q tests/test_serve_browser.py

# DEVICE=cuda (or cpu, cuda:N, mps, auto; several: DEVICE="cpu cuda"): where to run; default the CPU, and the GPU if any
bench: install
	$(BIN)/python benchmarks/bench.py --out benchmarks/latest.json $(foreach d,$(DEVICE),--device $(d))

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache src/*.egg-info
