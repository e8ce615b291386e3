# leovl_ros — two commands do everything on a fresh Debian/Ubuntu machine with Python 3.11:
#   make demo   the embedded default: agent + synthetic room over real ROS 2 topics, scripted questions
#   make test   the test suite (what CI runs via .ci/run)
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
# Test processes (pytest-xdist, one test file per process at a time): the ROS tests wait on DDS and subprocesses,
# so two processes take the suite on 2 cores from ~12 to ~8 min. TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 2
PYTEST_WORKERS := $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)
INTERFACE_FILES := $(wildcard leovl_interfaces/msg/*.msg leovl_interfaces/srv/*.srv) \
	leovl_interfaces/CMakeLists.txt leovl_interfaces/package.xml \
	$(wildcard vendor/tf2_msgs/msg/*.msg) vendor/tf2_msgs/CMakeLists.txt vendor/tf2_msgs/package.xml

.PHONY: setup demo eval-demo test test-fast lint colcon bench bench-answers train-default train-quick lock clean help

help:  ## list targets
	@grep -E '^[a-zA-Z_-]+:.*## ' Makefile | sed 's/:.*## /\t/'

$(VENV)/.deps-stamp: requirements.txt scripts/setup.sh scripts/fix_ros_cmake.py
	bash scripts/setup.sh deps
	touch $@

$(VENV)/.interfaces-stamp: $(VENV)/.deps-stamp $(INTERFACE_FILES)
	bash scripts/setup.sh interfaces
	touch $@

$(VENV)/.package-stamp: $(VENV)/.interfaces-stamp leovl_ros/setup.py leovl_ros/setup.cfg
	bash scripts/setup.sh package
	touch $@

setup: $(VENV)/.package-stamp  ## create .venv with everything pinned, build leovl_interfaces, install leovl_ros

demo: setup  ## run the embedded demo (no robot, no downloads); writes demo_out/ (RERUN=1: also demo_out/demo.rrd)
	$(VENV)/bin/leovl-demo $(if $(RERUN),--rerun demo_out/demo.rrd)

eval-demo: setup  ## a synthetic bag (150 frames, 640x480, 30 Hz, its questions) replayed into the agent and scored
	rm -rf eval_demo_out
	$(VENV)/bin/leovl-bag write --source sim --frames 150 --out eval_demo_out/bag
	$(VENV)/bin/leovl-eval eval_demo_out/bag --out eval_demo_out/eval

test: setup  ## run the whole test suite (slow tests included), on TEST_WORKERS processes
	$(PY) -m pytest -q $(PYTEST_WORKERS)

test-fast: setup  ## the suite without tests marked slow
	$(PY) -m pytest -q $(PYTEST_WORKERS) -m "not slow"

lint: setup  ## ruff over the whole tree
	$(VENV)/bin/ruff check .

colcon: setup  ## colcon build of both packages in a temporary workspace
	bash scripts/colcon_build.sh

bench: setup  ## the speed benchmarks (render, fusion, the agent over DDS); one JSON line each
	for b in benchmarks/sim.py benchmarks/fusion.py benchmarks/agent.py; do $(PY) $$b || exit 1; done

ANSWER_BENCHMARKS := last_seen location inventory sizes closer on_support captions object_words whereabouts robot_view several first_seen inline_situation absent_objects situation_text
bench-answers: setup  ## the answers on 60 held-out rendered rooms, one JSON line each (~35 min; docs/benchmarks.md)
	for b in $(ANSWER_BENCHMARKS); do $(PY) benchmarks/$$b.py 2>/dev/null || exit 1; done

train-quick: setup  ## the <=10 min training recipe from the shipped 2D encoder: see training works (held-out EM vs blind)
	$(PY) -m training.recipe --preset quick --run runs/quick

train-default: setup  ## rebuild the shipped default model from scratch (<=90 min on 2 cores)
	$(PY) -m training.recipe --preset default --run runs/default --export models/default

PYTHON310 ?= python3.10
lock: setup  ## regenerate requirements.txt from requirements.in: pins for Python 3.11/3.12 and for 3.10
	$(PY) -m pip install -q -r requirements.in && $(PY) scripts/lock.py pins > build/pins-main.txt
	rm -rf build/lock-py310 && $(PYTHON310) -m venv build/lock-py310
	build/lock-py310/bin/python -m pip install -q -r requirements.in
	build/lock-py310/bin/python scripts/lock.py pins > build/pins-py310.txt
	$(PY) scripts/lock.py merge build/pins-main.txt build/pins-py310.txt > requirements.txt
	rm -rf build/lock-py310

clean:  ## remove build outputs (keeps .venv)
	rm -rf build install log demo_out eval_demo_out
