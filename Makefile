# Everything runs from a project-local virtual environment that the targets create on demand,
# so `make dev` and `make test` work on a fresh machine with only python3.11 installed.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml layers/shared/requirements.txt | sha1sum | cut -c1-12)
PORT ?= 8080
export SAM_CLI_TELEMETRY := 0

.PHONY: help install dev test test-unit lint format validate build sam-local test-sam-local deploy clean

help: ## Show this menu
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(STAMP):
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is required"; exit 1; }
	@echo "==> creating $(VENV) and installing dependencies (first run takes ~2 minutes)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP) ## Create .venv with every dependency

dev: install ## Serve the whole API on http://localhost:$(PORT), backed by moto (no Docker)
	$(BIN)/python -m localcloud --port $(PORT) $(ARGS)

lint: install ## ruff lint + format check
	$(BIN)/ruff check functions layers localcloud tests
	$(BIN)/ruff format --check functions layers localcloud tests

format: install ## Apply ruff fixes and formatting
	$(BIN)/ruff check --fix functions layers localcloud tests
	$(BIN)/ruff format functions layers localcloud tests

validate: install ## sam validate --lint (cfn-lint), offline
	$(BIN)/sam validate --lint --region us-east-1

build: install ## sam build (no container: the host Python is 3.11)
	$(BIN)/sam build --parallel --cached

test-unit: install ## pytest only
	$(BIN)/pytest -n 2 -m "not samlocal" $(PYTEST_ARGS)

test: lint validate build test-unit ## Everything CI checks, but the Docker tier

deploy: build ## Deploy to AWS (ENV=dev|prod)
	$(BIN)/sam deploy --config-env $(or $(ENV),dev)

clean: ## Remove build output and caches (keeps .venv)
	rm -rf .aws-sam .pytest_cache .ruff_cache .mypy_cache .coverage htmlcov
