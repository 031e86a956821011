# Set-up and everyday commands. Each target creates .venv with cxkpi in it when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DB ?= cxkpi.duckdb

.PHONY: install demo test browser bench docs screenshots clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,spark]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/cxkpi --db $(DB) demo
	$(BIN)/cxkpi --db $(DB) tables
	$(BIN)/cxkpi --db $(DB) kpi contacts_offered service_level abandon_rate asa aht fcr csat nps --by channel
	@echo "Explore: .venv/bin/cxkpi kpis | .venv/bin/cxkpi kpi service_level --by channel --grain month | .venv/bin/cxkpi explain fcr"
	@echo "The web panel: .venv/bin/cxkpi --db $(DB) serve, then http://127.0.0.1:8000 (user admin, password printed above)."

test: $(STAMP) browser
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest -n 2 -q

# the browser tests drive Debian's chromium (Playwright never downloads one): installed with apt when missing
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		SUDO=; if [ "$$(id -u)" -ne 0 ] && sudo -n true 2>/dev/null; then SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		command -v chromium >/dev/null 2>&1 || { echo "chromium is needed by the browser tests: apt-get install chromium (or CXKPI_SKIP_BROWSER=1)" >&2; exit 1; }; }

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/run.py

# the README's screenshot, regenerated on purpose only (tests never write into the tree)
screenshots: $(STAMP) browser
	CXKPI_UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest -q tests/test_web_e2e.py -k screenshot

docs: $(STAMP)
	$(BIN)/cxkpi kpis --format markdown > docs/kpis.md
	$(BIN)/cxkpi kpis --format markdown --lang fr > docs/kpis.fr.md

clean:
	rm -rf $(VENV) $(DB) $(DB).wal build src/*.egg-info
