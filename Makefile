# `make run` and `make test` do all set-up on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := app
HOST ?= 0.0.0.0
PORT ?= 5000

.PHONY: run run-https test install db seed bench clean

$(BIN)/activate: requirements.txt requirements-dev.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(BIN)/activate

install: $(BIN)/activate

db: install
	$(BIN)/flask db upgrade

seed: db
	$(BIN)/flask seed

run: seed
	@echo ""
	@echo "  serialapp is at http://localhost:$(PORT)  (demo login: picker / demo1234,"
	@echo "  manager / demo1234, admin / demo1234). Ctrl-C stops it."
	@echo ""
	$(BIN)/flask run --host $(HOST) --port $(PORT)

run-https: seed
	$(BIN)/python -m serialapp.devcert --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python bench/transitions.py

clean:
	rm -rf $(VENV) .pytest_cache
