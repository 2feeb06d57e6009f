# CertLedger — the targets people look for.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
export CERTLEDGER_DATA_DIR ?= $(CURDIR)/var
BIND   ?= 127.0.0.1:8080

.PHONY: serve test lint bench clean install image-check

$(BIN)/certledger: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test,sm2-fast]"
	touch $@

install: $(BIN)/certledger

## serve: run the CA on SQLite under ./var (a demo CA is made on first run)
serve: install
	@$(BIN)/certledger init --if-missing --demo-passphrase
	@TOKEN=$$($(BIN)/certledger token create --role admin --name make-serve-admin --if-none) \
	  || exit 1; \
	echo; \
	if [ -n "$$TOKEN" ]; then echo "Admin token (shown once, keep it): $$TOKEN"; \
	else TOKEN='<the admin token the first make serve printed>'; fi; \
	echo; echo "Try:"; \
	echo "  export TOKEN=$$TOKEN"; \
	echo "  curl -s http://$(BIND)/ca/issuing-ca-chain.pem"; \
	echo "  curl -s -H \"Authorization: Bearer \$$TOKEN\" http://$(BIND)/api/v1/certificates/<id>"; \
	echo "The README walks through apply -> approve -> issue -> openssl verify."; echo
	$(BIN)/certledger serve --bind $(BIND)

## test: the whole suite (unit, integration on SQLite and PostgreSQL, e2e, interop)
test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check ca domain projections api tests benchmarks
	$(BIN)/mypy ca domain projections api

## bench: benchmarks (not part of make test); results in benchmarks/results/
bench: install
	@command -v hey >/dev/null && command -v cfssl >/dev/null && test -x /usr/bin/time \
	  && command -v nginx >/dev/null || { apt-get update -qq && \
	  apt-get install -y -qq hey golang-cfssl time openssl nginx-light >/dev/null; }
	$(BIN)/python benchmarks/run_all.py

## image-check: build the Docker image and run it alone and with docker-compose (not in `make test`)
image-check:
	bash docker/image-check.sh

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis *.egg-info
