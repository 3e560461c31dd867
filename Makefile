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

.PHONY: all deps pydeps build run test test-asan bench format clean

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
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLONGKV_SANITIZE=ON $(CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j $(JOBS) -L 'unit|fuzz|cli' $(CTEST_FLAGS)

bench: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DLONGKV_BENCH=ON $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

format:
	find src tests bench -name '*.cpp' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
