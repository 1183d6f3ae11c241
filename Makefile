# The two commands of the README: `make run` and `make test`. Needs only Python 3.11+ (and, for the tests,
# Debian's chromium, faketime and a Java runtime, which `make test` installs when run as root).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CHROMIUM ?= /usr/bin/chromium

# Everything runs from the repository root with the project importable.
export PYTHONPATH := $(CURDIR)
export CHROMIUM

.PHONY: run test screenshots lint bench demo clean system-tools venv deps dev-deps

run: $(VENV)/.requirements.stamp
	$(BIN)/streamlit run dashboard.py

test: $(VENV)/.requirements-dev.stamp system-tools
	$(BIN)/ruff check .
	$(BIN)/pytest -q

# The browser tests save their screenshots under test-results/ (ignored); this refreshes docs/screenshots/.
screenshots: $(VENV)/.requirements-dev.stamp system-tools
	KPI_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q tests/browser

lint: $(VENV)/.requirements-dev.stamp
	$(BIN)/ruff check .

bench: $(VENV)/.requirements-dev.stamp
	@if [ -f bench/__init__.py ] || [ -f bench/__main__.py ]; then \
		$(BIN)/python -m bench; \
	else \
		echo "no bench/ package yet: nothing to run"; \
	fi

demo: $(VENV)/.requirements.stamp
	$(BIN)/python sample_data/generate.py

# Caches only: the virtualenv and the database (data/) stay.
clean:
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +
	rm -rf .pytest_cache .ruff_cache .hypothesis test-results

venv: $(BIN)/python
deps: $(VENV)/.requirements.stamp
dev-deps: $(VENV)/.requirements-dev.stamp

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
		echo "Python 3.11 or newer is needed; '$(PYTHON)' is $$($(PYTHON) --version 2>&1)." \
		     "Run: make PYTHON=python3.11 ..." >&2; exit 1; }
	@$(PYTHON) -m venv $(VENV) || { \
		rm -rf $(VENV); \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "python3 -m venv needs Debian's python3-venv: installing it"; \
			DEBIAN_FRONTEND=noninteractive apt-get update -q && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv && \
			$(PYTHON) -m venv $(VENV); \
		else \
			echo "Could not create $(VENV). On Debian/Ubuntu install the venv module first:" \
			     "sudo apt-get install python3-venv" >&2; exit 1; \
		fi; }

# Stamps inside .venv: reinstall only when a requirements file changed (or the venv was recreated).
$(VENV)/.requirements.stamp: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.requirements-dev.stamp: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.requirements.stamp $@

# Debian packages the tests run: chromium (the browser tests drive it, not a Playwright download), faketime
# (runs the KPIs under another clock) and a Java runtime (the Spark engine's tests start a Spark Connect server;
# any `java` 17 or newer on the PATH will do). Installed when missing and run as root (creating the manual folder
# slim Debian images lack, where the Java package's installer links its manual); otherwise named with the command.
SYSTEM_TOOLS := $(CHROMIUM):chromium /usr/bin/faketime:faketime
JAVA_PACKAGE := openjdk-17-jre-headless

system-tools:
	@missing=""; for pair in $(SYSTEM_TOOLS); do \
		[ -x "$${pair%%:*}" ] || missing="$$missing $${pair##*:}"; \
	done; \
	command -v java >/dev/null || missing="$$missing $(JAVA_PACKAGE)"; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing$$missing for the tests"; \
		mkdir -p /usr/share/man/man1 && \
		DEBIAN_FRONTEND=noninteractive apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	else \
		echo "The tests need these Debian packages:$$missing. Install them with:" >&2; \
		echo "    sudo apt-get update && sudo apt-get install -y$$missing" >&2; \
		echo "(CHROMIUM=/path/to/chromium points at another browser build; any java 17 or newer on the PATH" \
		     "runs the Spark tests)" >&2; \
		exit 1; \
	fi
