# Two commands do all set-up:  `make demo` runs the main job, `make test` runs the tests.
# Both create (or refresh) a project-local .venv first; a second run only checks it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo_output

.PHONY: demo test venv clean-venv

venv: $(STAMP)

$(STAMP): setup.py requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps fastreid==1.4.0
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) tools/demo.py --output $(DEMO_DIR)

test: $(STAMP)
	$(PY) -m pytest tests -q

clean-venv:
	rm -rf $(VENV)
