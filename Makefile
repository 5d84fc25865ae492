# returnee-bot: `make run` serves the demo, `make test` runs every check. Both set themselves up.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install run test check lint types imports flows-check i18n bench browser-deps clock-deps clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PY) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ needed"'
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install
	mkdir -p var
	$(BIN)/returnee-bot db upgrade
	$(BIN)/returnee-bot demo load
	@echo "Dashboard: http://127.0.0.1:8000/  (demo admin: admin@demo.returnee-bot.org / demo-admin-2026)"
	@echo "Simulator: http://127.0.0.1:8000/simulator"
	$(BIN)/returnee-bot serve --host 127.0.0.1 --port 8000

lint: install
	$(BIN)/ruff format --check bot flows scheduler tests bench
	$(BIN)/ruff check bot flows scheduler tests bench

types: install
	$(BIN)/mypy bot flows scheduler

imports: install
	$(BIN)/lint-imports

flows-check: install
	$(BIN)/returnee-bot flows check > /dev/null

check: lint types imports flows-check

browser-deps:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

clock-deps:
	@command -v faketime >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >/dev/null)

# The suite, then the tests that meet the wall clock (web app, channels, scheduler, browser)
# again at another date and hour: see tests/shifted_clock.sh.
test: install check browser-deps clock-deps
	$(BIN)/pytest -q
	tests/shifted_clock.sh $(BIN)/pytest -q -p no:cacheprovider tests/bot tests/channels tests/scheduler tests/browser

# Two domains: messages (what returnees read; locales/babel.cfg) and dashboard (the caseworkers'
# screens; locales/dashboard.cfg). Dashboard msgids are the French text: only English has a .po.
i18n: install
	$(BIN)/pybabel extract -F locales/babel.cfg -k pN_:1c,2 -k N_ --no-location --sort-output \
	  --add-comments=NOTE --project returnee-bot -o locales/messages.pot .
	$(BIN)/pybabel update -i locales/messages.pot -d locales --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d locales --statistics
	$(BIN)/pybabel extract -F locales/dashboard.cfg -k N_ --no-location --sort-output \
	  --add-comments=NOTE --project returnee-bot -o locales/dashboard.pot .
	$(BIN)/pybabel update -D dashboard -i locales/dashboard.pot -d locales --no-fuzzy-matching \
	  --ignore-obsolete
	$(BIN)/pybabel compile -D dashboard -d locales --statistics
	find locales -name "*.mo" -delete  # the app reads the .po files; nothing built is kept

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache
