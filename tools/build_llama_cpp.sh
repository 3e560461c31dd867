#!/usr/bin/env bash
# Builds llama.cpp (the speed peer of `longkv bench`) from the PyPI sdist of llama-cpp-python,
# outside the repository and the product: by default in /work/peers/llama.cpp.
# The CPU backend only, native ISA, OpenMP, tools (llama-bench, llama-cli) — no Python needed
# at run time. GCC 12 native builds may die with SIGILL in the AMX int8 path on CPUs that have
# AMX; we pass -fno-dse -fno-tree-dse as DESIGN.md notes (harmless elsewhere).
#
# usage: tools/build_llama_cpp.sh [DEST]   -> DEST/build/bin/llama-bench
set -euo pipefail
dest=${1:-/work/peers/llama.cpp}
mkdir -p "$dest"
cd "$dest"
if [ ! -d src ]; then
  # Only the package itself as source; its build backend comes as a wheel (building every
  # build dependency from source too, as --no-binary :all: would, takes ages).
  python3 -m pip install -q scikit-build-core
  python3 -m pip download --no-binary llama-cpp-python --no-build-isolation --no-deps -d sdist \
    llama-cpp-python
  tarball=$(ls sdist/llama_cpp_python-*.tar.gz | head -1)
  mkdir -p unpack && tar -xzf "$tarball" -C unpack
  ln -sfn "$(ls -d "$PWD"/unpack/llama_cpp_python-*/vendor/llama.cpp)" src
fi
cmake -S src -B build -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DGGML_OPENMP=ON \
  -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
  -DCMAKE_C_FLAGS="-fno-dse -fno-tree-dse" -DCMAKE_CXX_FLAGS="-fno-dse -fno-tree-dse"
cmake --build build -j "${JOBS:-2}" --target llama-bench llama-cli
echo "built: $dest/build/bin/llama-bench"
(cd src && git describe --tags 2>/dev/null || grep -m1 -o 'version.*' "$(dirname "$(readlink -f src)")/../../pyproject.toml" 2>/dev/null || true)
