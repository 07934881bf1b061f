# Ostinato: every target sets up what it needs (venv, pip, Debian packages) and is
# idempotent: a second run with nothing changed installs nothing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEBIAN_PACKAGES := ffmpeg mono-mcs fluid-soundfont-gm chromium chromium-driver
PYTEST_ARGS ?=
DATA ?=
ONLY_COMMERCIAL_OK ?=
TRAIN_ARGS ?=

.PHONY: demo test lint format train eval bench soak setup debs clean

setup: $(STAMP) debs

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(VENV)/bin/python pyproject.toml constraints.txt
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# Debian packages: ffmpeg (pydub, the mixer benchmark's baseline), mono (the C# client's tests),
# fluid-soundfont-gm (FluidR3_GM, the default General MIDI bank; see engine_core/render/bank.py),
# chromium + chromium-driver (the studio's browser tests drive the system browser headless).
debs:
	@missing=""; \
	command -v ffmpeg >/dev/null || missing="$$missing ffmpeg"; \
	command -v mcs >/dev/null || missing="$$missing mono-mcs"; \
	[ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || missing="$$missing fluid-soundfont-gm"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null || missing="$$missing chromium-driver"; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

demo: setup
	$(PY) -m sample_game.demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: setup lint
	$(PY) -m pytest -q $(PYTEST_ARGS); rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi; exit $$rc

train: setup
	$(PY) -m engine_core.training.train $(if $(DATA),--data $(DATA),) $(if $(ONLY_COMMERCIAL_OK),--only-commercial-ok,) $(TRAIN_ARGS)

eval: setup
	$(VENV)/bin/ostinato eval-model

bench: setup
	$(PY) -m benchmarks.run

# The service's soak figures (frozen clock, 256 sessions, pipelining); CI runs the bounded
# versions in tests/test_service_hardening.py.
soak: setup
	$(PY) -m benchmarks.run soak

clean:
	rm -rf $(VENV) out .pytest_cache
