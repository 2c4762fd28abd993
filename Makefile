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

.PHONY: help install dev token events reports-rebuild events-catalog events-catalog-check alarms test test-fast test-e2e test-protocol test-slow test-unit test-pytest lint format typecheck openapi openapi-check validate build bench capacity load contract soak sam-local test-sam-local sam-local-down deploy migrate clean

help: ## Show this menu
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

# Progress goes to stderr: `TOKEN=$$(make -s token)` stays just the token even when the venv is
# (re)created first.
$(STAMP):
	@py="$$(tools/find-python.sh)" || exit 1; \
	if [ -x $(BIN)/python ] && ! $(BIN)/python -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null; then \
		echo "==> $(VENV) is not Python 3.13; recreating it" >&2; rm -rf $(VENV); fi; \
	echo "==> creating $(VENV) with $$py and installing dependencies (first run takes ~2 minutes)" >&2; \
	"$$py" -m venv $(VENV) >&2
	@echo "$(BIN)/pip install --quiet --upgrade pip" >&2; $(BIN)/pip install --quiet --upgrade pip >&2
	@echo "$(BIN)/pip install --quiet \".[dev]\"" >&2; $(BIN)/pip install --quiet ".[dev]" >&2
	@rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP) ## Create .venv with every dependency

dev: install ## Serve the whole API on http://localhost:$(PORT), backed by moto (no Docker); ARGS=--seed, ARGS=--no-auth
	$(BIN)/python -m localcloud --port $(PORT) $(ARGS)

token: install ## Print a fresh access token of the running `make dev` (ROLE=admin|sales; AWS_URL=...)
	@$(BIN)/python -m localcloud.token --role $(or $(ROLE),admin) --aws-url $(or $(AWS_URL),http://127.0.0.1:4566)

events: install ## Print the domain events of the running `make dev` as they are published, one line each (AWS_URL=...)
	@$(BIN)/python -m localcloud.events_tail --aws-url $(or $(AWS_URL),http://127.0.0.1:4566) $(ARGS)

reports-rebuild: install ## Rebuild the reports from scratch into a fresh table and list how the live one differs (make dev's, or STACK=...; ARGS="--from archive|data")
	$(BIN)/python -m tools.reports_rebuild $(if $(STACK),--stack $(STACK),--aws-url $(or $(AWS_URL),http://127.0.0.1:4566)) $(ARGS)

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

alarms: install ## Regenerate template.yaml's per-resource alarms, composite alarms and dashboard (tools/alarms.py)
	$(BIN)/python -m tools.alarms --write

# checkov lives in a venv of its own: it pins boto3 1.35, the project needs >= 1.43.
CHECKOV_VERSION := 3.3.30
CHECKOV := $(VENV)/checkov/.installed-$(CHECKOV_VERSION)
$(CHECKOV): | $(STAMP)
	rm -rf $(VENV)/checkov && $(BIN)/python -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/pip install --quiet checkov==$(CHECKOV_VERSION) && touch $@

# cfn-lint and checkov take seconds of CPU and most changes leave the template alone: a template they
# passed is remembered (keyed by the template, the checker, the installed dependencies and checkov's
# version) and not checked again.
VALIDATED = .localcloud/validated-$(shell cat template.yaml tools/validate.py localcloud/sam_template.py | sha1sum | cut -c1-12)-$(subst .installed-,,$(notdir $(STAMP)))-checkov$(CHECKOV_VERSION)

validate: install $(CHECKOV) ## cfn-lint (what `sam validate --lint` checks) as is and with SnapStart on, then checkov; offline, one process; skipped when the template passed them unchanged
	@if [ -f $(VALIDATED) ]; then echo "template.yaml: valid (passed cfn-lint and checkov unchanged: $(VALIDATED))"; \
	else echo "$(BIN)/python -m tools.validate"; $(BIN)/python -m tools.validate && mkdir -p .localcloud && \
		rm -f .localcloud/validated-* && touch $(VALIDATED); fi

build: install ## sam build for the template's Architecture (ARCH=x86_64 overrides), no containers
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/sam build --parallel --cached $(if $(ARCH),--parameter-overrides Architecture=$(ARCH))
	$(BIN)/python tools/check-layer-arch.py $(ARCH)

IAM_RECORDS := .iam-records

test-unit: install ## The tiers that need no AWS: tests/unit (domain logic) and tests/template (what gets deployed); seconds
	$(BIN)/pytest -q -p no:cacheprovider tests/unit tests/template

# The pytest tiers (docs/testing.md, "Tiers"): `make test` runs the in-process tiers without
# coverage; the tests over HTTP (marker `e2e`), the protocols under faults (`protocol`), the slow
# tier (`slow`) and Docker have targets of their own. CI runs `make test`, then `make test-pytest`
# (every tier but Docker under coverage, with the floors and the IAM check) and the Docker tier.
PYTEST_TIERS := $(BIN)/pytest -n 2 --dist loadgroup -p no:cacheprovider -q --durations=10
PYTEST_FAST := $(PYTEST_TIERS) -m "not slow and not e2e and not protocol and not samlocal and not iam"

test-fast: install ## pytest over the in-process tiers (unit, template, integration but protocol), no coverage (part of make test)
	$(PYTEST_FAST) $(PYTEST_ARGS)

test-e2e: install ## The tests over HTTP on a local cloud (tests/e2e, the docs' examples), slow tier aside; about 2 minutes (CI runs them)
	LOCAL_CLOUD_MAX_CONCURRENCY=1 $(PYTEST_TIERS) -m "e2e and not slow and not samlocal and not iam" tests/e2e tests/docs $(PYTEST_ARGS)

test-protocol: install ## The protocols under faults, replays and reruns (placement, sweeper, retried writes, events, rebuild), slow tier aside; about a minute (CI runs them)
	$(PYTEST_TIERS) -m "protocol and not slow and not samlocal and not iam" tests/integration $(PYTEST_ARGS)

test-slow: install ## The slow tier: schemathesis, hypothesis sweeps, load and races, local clouds of their own (CI runs it)
	$(BIN)/pytest -n 2 -p no:cacheprovider -q -m "slow and not samlocal and not iam" --durations=10 $(PYTEST_ARGS)

test-pytest: install ## Every pytest tier but Docker (fast and slow) under coverage: floors (product 90%, local cloud 85%), then the least-privilege check (CI)
	rm -rf $(IAM_RECORDS) && mkdir -p $(IAM_RECORDS)
	IAM_RECORDS_DIR=$(CURDIR)/$(IAM_RECORDS) $(BIN)/pytest -n 2 -m "not samlocal and not iam" --cov --cov-report= $(PYTEST_ARGS)
	@echo "==> coverage of the product (functions/, layers/): floor 90%"
	$(BIN)/coverage report --include='functions/*,layers/*' --fail-under=90
	@echo "==> coverage of the local cloud (localcloud/, its Docker tier aside): floor 85%"
	$(BIN)/coverage report --include='localcloud/*' --omit='localcloud/samlocal/*,*/__init__.py' --fail-under=85
	IAM_RECORDS_DIR=$(CURDIR)/$(IAM_RECORDS) $(BIN)/pytest -m iam tests/iam -p no:cacheprovider -q

# The gates run beside pytest (2 cores: the single-threaded gates fill the gaps pytest leaves);
# each line of output is printed whole, so pytest's progress still shows as it goes.
test: install ## The fast loop (goal: 90 s): lint, types, API and event documents, template, and the in-process pytest tiers (not e2e, protocol, slow, Docker)
	@$(MAKE) --no-print-directory -j 6 --output-sync=line lint typecheck openapi-check events-catalog-check validate test-fast

load: install ## Locust load test (~40 s, loopback only) on the local cloud + stock invariant; writes .localcloud/load-report.*
	$(BIN)/python -m tools.load.run $(ARGS)

contract: install ## schemathesis contract and fuzz tests against the local cloud, 500 examples per operation (the slow tier runs 50)
	CONTRACT_EXAMPLES=500 $(BIN)/pytest -n 2 -m contract tests/contract -p no:cacheprovider

soak: install ## The placement protocol's model-based test, thousands of steps (~1 h); prints what it explored
	PLACEMENT_MODEL_PROFILE=soak $(BIN)/pytest tests/integration/test_placement_model.py -p no:cacheprovider -q -s \
		--hypothesis-show-statistics

.PHONY: mutate
mutate: install ## Mutation testing of the critical modules, not part of `make test` (PATHS="..." limits it); writes .localcloud/mutation.json
	nice -n 10 $(BIN)/python -m tools.mutate $(if $(PATHS),--paths $(PATHS)) $(ARGS)

bench: install ## Benchmarks against a bare boto3 baseline; prints a table, writes .localcloud/bench.json
	$(BIN)/python -m tools.bench.run $(ARGS)

capacity: install ## Orders/s the tables sustain before the hottest partition throttles, from the emulator's recorded writes; writes .localcloud/capacity.json
	$(BIN)/python -m tools.capacity $(ARGS)

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
	rm -rf .aws-sam .pytest_cache .ruff_cache .mypy_cache .coverage htmlcov $(IAM_RECORDS) .localcloud/validated-*
