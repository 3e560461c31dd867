#include "test_util.h"

#include <cstdlib>
#include <mutex>
#include <vector>

#include <unistd.h>

namespace lk::test {

namespace {
struct TempDirs {
  std::mutex mu;
  std::vector<std::filesystem::path> dirs;
  ~TempDirs() {
    for (auto& d : dirs) {
      std::error_code ec;
      std::filesystem::remove_all(d, ec);
    }
  }
};
TempDirs& temp_dirs() {
  static TempDirs t;
  return t;
}
}  // namespace

std::filesystem::path source_dir() { return LONGKV_SOURCE_DIR; }

std::filesystem::path shared_models_dir() {
  std::filesystem::path p = LONGKV_SHARED_MODELS;
  std::error_code ec;
  if (std::filesystem::is_directory(p, ec)) return std::filesystem::canonical(p, ec);
  return {};
}

std::filesystem::path temp_dir(const std::string& tag) {
  auto base = std::filesystem::temp_directory_path();
  std::string tmpl = (base / ("longkv-" + tag + "-XXXXXX")).string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  char* made = ::mkdtemp(buf.data());
  if (!made) std::abort();
  std::filesystem::path p(made);
  std::lock_guard<std::mutex> lock(temp_dirs().mu);
  temp_dirs().dirs.push_back(p);
  return p;
}

std::string longkv_binary() { return LONGKV_BINARY; }

}  // namespace lk::test
