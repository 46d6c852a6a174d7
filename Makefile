# lynkflow: two commands for a newcomer — `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stamp-install
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: setup run test test-sqlite test-postgres fuzz lint openapi bench bench-peers bench-load clean

# Re-install whenever pyproject.toml changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	# Compiled once here: a checkout has no .pyc files, and where PYTHONDONTWRITEBYTECODE is set every
	# start would compile ~150 modules again (~110 ms of CPU; docs/architecture.md, start-up).
	$(BIN)/python -m compileall -q app migrations
	touch $(STAMP)

setup: $(STAMP)

# Serve the demo on the embedded default (SQLite + in-process worker) and print credentials.
run: setup
	LYNKFLOW_SEED_FILE=$${LYNKFLOW_SEED_FILE:-fixtures/demo/seed.json} $(BIN)/lynkflow migrate
	LYNKFLOW_SEED_FILE=$${LYNKFLOW_SEED_FILE:-fixtures/demo/seed.json} $(BIN)/lynkflow serve --host $(HOST) --port $(PORT)

# The whole suite on SQLite; then again on PostgreSQL when LYNKFLOW_TEST_POSTGRES_URL is set.
test: setup test-sqlite
	@if [ -n "$$LYNKFLOW_TEST_POSTGRES_URL" ]; then $(MAKE) --no-print-directory test-postgres; \
	else echo "LYNKFLOW_TEST_POSTGRES_URL not set: skipped the PostgreSQL pass"; fi

test-sqlite: setup
	$(BIN)/pytest -q

test-postgres: setup
	LYNKFLOW_TEST_BACKEND=postgres $(BIN)/pytest -q

# The reliability suite with many more fuzz examples (make test runs it with a small budget).
FUZZ_EXAMPLES ?= 3000
fuzz: setup
	LYNKFLOW_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -q -s tests/reliability

lint: setup
	$(BIN)/ruff check .

# Regenerate the published OpenAPI document (tests/openapi fails when it drifts from the app).
openapi: setup
	$(BIN)/python -m lynkflow.openapi docs/openapi.json

bench: setup
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/media.py
	$(BIN)/python bench/uplynk.py
	$(BIN)/python bench/job_start.py

# lynkflow next to a bare FastAPI app, Stoplight Prism (npm) and moto's server (PyPI), ~6 min.
bench-peers: setup
	$(BIN)/python bench/peers.py

# The mixed load at concurrency 64: SQLite, then PostgreSQL when LYNKFLOW_BENCH_POSTGRES_URL is set.
bench-load: setup
	$(BIN)/python bench/load.py $${LYNKFLOW_BENCH_POSTGRES_URL:+--database-url $$LYNKFLOW_BENCH_POSTGRES_URL}

clean:
	rm -rf var .cache .pytest_cache build dist *.egg-info  # a stale build/ would go into the next wheel
