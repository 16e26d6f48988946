# The project's commands. Each target (re)builds .venv/ from pyproject.toml when it is
# missing or older than pyproject.toml; the first build compiles llama-cpp-python (~6-9 min).
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MODEL ?=
TASKS ?=
LIMIT ?=
SUITE ?=
JUDGE ?=
export LITELLM_LOCAL_MODEL_COST_MAP := True
export HF_HUB_OFFLINE := 1
export HF_HOME := $(CURDIR)/.cache/huggingface
# llama.cpp: build only the library (no tools/examples/tests) to keep the first build short
export CMAKE_ARGS ?= -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF

comma := ,
EVAL_ARGS = $(foreach m,$(subst $(comma), ,$(MODEL)),--model $(m)) \
            $(foreach t,$(subst $(comma), ,$(TASKS)),--task $(t)) \
            $(if $(LIMIT),--limit $(LIMIT)) $(if $(filter full,$(SUITE)),--full) \
            $(foreach j,$(subst $(comma), ,$(JUDGE)),--judge $(j))

.PHONY: browser serve-local eval test leaderboard report tasks check bench calibrate meta-eval venv clean

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null || { echo "error: $(PY) not found; install Python 3.11 or run 'make PY=python3 ...'"; exit 2; }
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP)

eval: $(STAMP)
	$(BIN)/harness eval $(EVAL_ARGS)

test: $(STAMP) browser
	$(BIN)/python -m pytest

# the report test renders HTML in Debian's headless Chromium; install it when we can
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); } || \
	  echo "note: chromium not installed; the report rendering test will be skipped"

leaderboard: $(STAMP)
	$(BIN)/harness leaderboard $(foreach t,$(subst $(comma), ,$(TASKS)),--task $(t))

report: $(STAMP)
	$(BIN)/harness report

tasks: $(STAMP)
	$(BIN)/harness tasks build

# the baseline in the results folder ($$HARNESS_RESULTS, else results/), or BASELINE=path
BASELINE ?=
check: $(STAMP)
	$(BIN)/harness check $(if $(BASELINE),--baseline $(BASELINE))

# an embedded model as an OpenAI-compatible server for other tools (LOCAL=smollm2-135m, PORT=...)
LOCAL ?= gemma3-270m
PORT ?= 8080
serve-local: $(STAMP)
	$(BIN)/harness serve-local --model $(LOCAL) --port $(PORT)

bench: $(STAMP)
	$(BIN)/python bench/run.py

# false-positive rate, power and CI coverage of the shipped statistics on each task's real
# block structure (simulated; a few minutes on 2 cores) -> results/calibration.csv
calibrate: $(STAMP)
	$(BIN)/python bench/calibrate.py

meta-eval: $(STAMP)
	$(BIN)/harness meta-eval

clean:
	rm -rf $(VENV) .cache
