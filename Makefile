# Everything runs from a project-local virtual environment that the targets create on demand,
# so `make dev` and `make test` work on a fresh machine with only python3.13 and make installed.
# The interpreter is found by tools/find-python.sh ($PYTHON, python3.13 on PATH, or pyenv's 3.13.x);
# only creating the venv needs it, everything after runs from .venv/.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml layers/shared/requirements.txt | sha1sum | cut -c1-12)
PORT ?= 8080
export SAM_CLI_TELEMETRY := 0

.PHONY: help install dev token events events-catalog events-catalog-check test test-unit test-pytest lint format typecheck openapi openapi-check validate build bench load contract soak sam-local test-sam-local sam-local-down deploy migrate clean

help: ## Show this menu
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(STAMP):
	@py="$$(tools/find-python.sh)" || exit 1; \
	if [ -x $(BIN)/python ] && ! $(BIN)/python -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null; then \
		echo "==> $(VENV) is not Python 3.13; recreating it"; rm -rf $(VENV); fi; \
	echo "==> creating $(VENV) with $$py and installing dependencies (first run takes ~2 minutes)"; \
	"$$py" -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP) ## Create .venv with every dependency

dev: install ## Serve the whole API on http://localhost:$(PORT), backed by moto (no Docker); ARGS=--seed, ARGS=--no-auth
	$(BIN)/python -m localcloud --port $(PORT) $(ARGS)

token: install ## Print a fresh access token of the running `make dev` (ROLE=admin|sales; AWS_URL=...)
	@$(BIN)/python -m localcloud.token --role $(or $(ROLE),admin) --aws-url $(or $(AWS_URL),http://127.0.0.1:4566)

events: install ## Print the domain events of the running `make dev` as they are published, one line each (AWS_URL=...)
	@$(BIN)/python -m localcloud.events_tail --aws-url $(or $(AWS_URL),http://127.0.0.1:4566) $(ARGS)

lint: install ## ruff lint + format check
	$(BIN)/ruff check functions layers localcloud tests tools
	$(BIN)/ruff format --check functions layers localcloud tests tools

format: install ## Apply ruff fixes and formatting
	$(BIN)/ruff check --fix functions layers localcloud tests tools
	$(BIN)/ruff format functions layers localcloud tests tools

typecheck: install ## mypy (pydantic plugin) over functions/, layers/, localcloud/ and tools/
	$(BIN)/mypy

openapi: install ## Regenerate docs/openapi.json from the handlers' models and routes
	$(BIN)/python -m localcloud.openapi --write

openapi-check: install ## Fail if the committed docs/openapi.json is stale
	$(BIN)/python -m localcloud.openapi --check

events-catalog: install ## Regenerate docs/events/ (JSON Schema per detail type, AsyncAPI) from the event models
	$(BIN)/python -m localcloud.event_catalog --write

events-catalog-check: install ## Fail if the committed docs/events/ differs from the event models
	$(BIN)/python -m localcloud.event_catalog --check

validate: install ## sam validate --lint (cfn-lint), offline: as is (SnapStart off) and with SnapStart on
	$(BIN)/sam validate --lint --region us-east-1
	@mkdir -p .aws-sam
	$(BIN)/python -c 'from samcli.yamlhelper import yaml_dump; from localcloud.sam_template import SamTemplate; \
		t = SamTemplate.load("template.yaml").variant(); t.parameters["SnapStart"]["Default"] = "true"; print(yaml_dump(t.data))' \
		> .aws-sam/template-snapstart.yaml
	$(BIN)/sam validate --lint --region us-east-1 --template-file .aws-sam/template-snapstart.yaml

build: install ## sam build for the template's Architecture (ARCH=x86_64 overrides), no containers
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/sam build --parallel --cached $(if $(ARCH),--parameter-overrides Architecture=$(ARCH))
	$(BIN)/python tools/check-layer-arch.py $(ARCH)

IAM_RECORDS := .iam-records

test-unit: install ## The tiers that need no AWS: tests/unit (domain logic) and tests/template (what gets deployed); seconds
	$(BIN)/pytest -q -p no:cacheprovider tests/unit tests/template

test-pytest: install ## pytest (all tiers but Docker) with coverage floors (product 90%, local cloud 85%), then the least-privilege check on its AWS calls
	rm -rf $(IAM_RECORDS) && mkdir -p $(IAM_RECORDS)
	IAM_RECORDS_DIR=$(CURDIR)/$(IAM_RECORDS) $(BIN)/pytest -n 2 -m "not samlocal and not iam" --cov --cov-report= $(PYTEST_ARGS)
	@echo "==> coverage of the product (functions/, layers/): floor 90%"
	$(BIN)/coverage report --include='functions/*,layers/*' --fail-under=90
	@echo "==> coverage of the local cloud (localcloud/, its Docker tier aside): floor 85%"
	$(BIN)/coverage report --include='localcloud/*' --omit='localcloud/samlocal/*,*/__init__.py' --fail-under=85
	IAM_RECORDS_DIR=$(CURDIR)/$(IAM_RECORDS) $(BIN)/pytest -m iam tests/iam -p no:cacheprovider -q

test: lint typecheck openapi-check events-catalog-check validate build test-pytest ## Everything CI checks, but the Docker tier

load: install ## Locust load test (~40 s, loopback only) on the local cloud + stock invariant; writes .localcloud/load-report.*
	$(BIN)/python -m tools.load.run $(ARGS)

contract: install ## schemathesis contract and fuzz tests against the local cloud (also part of make test)
	CONTRACT_EXAMPLES=500 $(BIN)/pytest -n 2 -m contract tests/contract -p no:cacheprovider

soak: install ## The placement protocol's model-based test, thousands of steps (~1 h); prints what it explored
	PLACEMENT_MODEL_PROFILE=soak $(BIN)/pytest tests/integration/test_placement_model.py -p no:cacheprovider -q -s \
		--hypothesis-show-statistics

bench: install ## Benchmarks against a bare boto3 baseline; prints a table, writes .localcloud/bench.json
	$(BIN)/python -m tools.bench.run $(ARGS)

sam-local: install ## sam local start-api in Lambda containers (installs Docker if needed); Ctrl-C stops
	SAMLOCAL_VENV=$(VENV) localcloud/samlocal/start-api.sh --foreground

test-sam-local: install ## The Docker tier: sam local start-api smoke tests, then teardown
	localcloud/samlocal/ensure-docker.sh
	localcloud/samlocal/ensure-image.sh >/dev/null
	$(BIN)/pytest -m samlocal tests/samlocal -p no:cacheprovider; rc=$$?; localcloud/samlocal/teardown.sh; exit $$rc

sam-local-down: ## Stop whatever `make sam-local` left running
	localcloud/samlocal/teardown.sh

deploy: build ## Deploy to AWS (ENV=dev|prod)
	$(BIN)/sam deploy --config-env $(or $(ENV),dev)

migrate: install ## After deploying: bring older records up to date (ENV=dev|prod; ARGS="--endpoint-url http://127.0.0.1:4566" for make dev)
	$(BIN)/python -m tools.migrations.record_integrity $(or $(ARGS),--stack sales-management-$(or $(ENV),dev))

clean: ## Remove build output and caches (keeps .venv)
	rm -rf .aws-sam .pytest_cache .ruff_cache .mypy_cache .coverage htmlcov $(IAM_RECORDS)
