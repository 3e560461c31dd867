// Helpers shared by the GoogleTest suites.
#pragma once

#include <filesystem>
#include <string>

namespace lk::test {

// Root of the source tree (for committed fixtures under tests/ and models/).
std::filesystem::path source_dir();

// ../shared/models, or empty when absent. Tests that need it call LK_REQUIRE_SHARED_MODELS().
std::filesystem::path shared_models_dir();

// A fresh, empty temporary directory removed when the process exits.
std::filesystem::path temp_dir(const std::string& tag);

// Path of the built longkv binary.
std::string longkv_binary();

}  // namespace lk::test

// Skips the current test with a visible reason when ../shared/models is not present.
#define LK_REQUIRE_SHARED_MODELS()                                                       \
  do {                                                                                   \
    if (::lk::test::shared_models_dir().empty())                                         \
      GTEST_SKIP() << "../shared/models not found (" LONGKV_SHARED_MODELS                \
                      "); real-model test skipped";                                      \
  } while (0)
