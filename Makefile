# longkv — top-level entry points. `make run` and `make test` work on a fresh Debian machine:
# they install missing system packages first (apt; needs root or sudo).
JOBS      ?= $(shell nproc)
BUILD     ?= build
ASAN_BUILD ?= build-asan
CMAKE_FLAGS ?=
CTEST_FLAGS ?=
# Debian packages the build and tests need (see CONTRIBUTING.md, "Dependencies").
APT_PACKAGES := cmake g++ make pkg-config libgtest-dev libgmock-dev libbenchmark-dev \
  nlohmann-json3-dev libcli11-dev libfmt-dev libopenblas-dev libpcre2-dev libicu-dev libhiredis-dev \
  redis-server libcpp-httplib-dev python3
# Light Python packages for the live cross-checks in tests/python (skipped when absent).
PIP_PACKAGES := numpy gguf tokenizers safetensors

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps pydeps build run test test-asan bench format clean kvpress-venv kvpress-compare

all: build

deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

pydeps:
	@python3 -c "import numpy, gguf, tokenizers, safetensors" 2>/dev/null || \
	  python3 -m pip install -q $(PIP_PACKAGES) || echo "pydeps: pip install failed; python cross-checks will skip"

$(BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: deps $(BUILD)/Makefile
	cmake --build $(BUILD) -j $(JOBS)

# The main job on a built-in default.
run: build
	./$(BUILD)/longkv analyze

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) $(CTEST_FLAGS)

# Sanitizer build (ASan + UBSan): unit, fuzz and cli tests.
test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLONGKV_SANITIZE=ON -DLONGKV_MODEL_TESTS=OFF $(CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j $(JOBS) -L 'unit|fuzz|cli' $(CTEST_FLAGS)

bench: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DLONGKV_BENCH=ON $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

# Agreement with kvpress (docs/eval.md): kvpress pins an older transformers than a current
# system, so it gets its own venv that reuses the system's torch. Not part of `make test`'s
# requirements: tests/python/test_kvpress_compare.py skips without it.
KVPRESS_VENV ?= .venv/kvpress
KVPRESS_PIP  := kvpress==0.5.5 transformers==5.2.0
KVPRESS_MODEL ?= ../shared/models/stories260K-hf

kvpress-venv:
	@[ -x $(KVPRESS_VENV)/bin/python ] || python3 -m venv --system-site-packages $(KVPRESS_VENV)
	@$(KVPRESS_VENV)/bin/python -c "import kvpress" 2>/dev/null || $(KVPRESS_VENV)/bin/pip install -q $(KVPRESS_PIP)

kvpress-compare: build kvpress-venv
	mkdir -p $(BUILD)/kvpress
	./$(BUILD)/longkv eval -m $(KVPRESS_MODEL) --tasks passkey,niah_single --lengths 400 -n 2 \
	  --export-tasks $(BUILD)/kvpress/tasks.jsonl
	$(KVPRESS_VENV)/bin/python tools/kvpress_compare.py --trace --hf-model $(KVPRESS_MODEL) \
	  --tasks $(BUILD)/kvpress/tasks.jsonl --longkv-binary ./$(BUILD)/longkv --pairs all --out $(BUILD)/kvpress/trace.json

format:
	find src tests bench -name '*.cpp' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
