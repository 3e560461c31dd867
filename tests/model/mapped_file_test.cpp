// MappedFile in both load modes: the bytes seen are the file's, huge-page copies start on a
// 2 MiB boundary, and errors name the file.
#include "model/mapped_file.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "test_util.h"

namespace lk {
namespace {

// Restores the process-wide mode whatever the test does.
struct ModeGuard {
  LoadMode saved = MappedFile::load_mode();
  ~ModeGuard() { MappedFile::set_load_mode(saved); }
};

std::vector<uint8_t> write_random(const std::string& path, size_t n) {
  std::vector<uint8_t> b(n);
  std::mt19937 rng(7);
  for (auto& v : b) v = static_cast<uint8_t>(rng());
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), n);
  return b;
}

TEST(MappedFile, BothModesSeeTheFilesBytes) {
  ModeGuard g;
  const std::string path = (test::temp_dir("mapped") / "w.bin").string();
  // Not a multiple of 2 MiB nor of 4 KiB: the copy's tail must be exact too.
  const auto want = write_random(path, (size_t{5} << 20) + 12345);
  for (LoadMode mode : {LoadMode::kMmap, LoadMode::kPrivateHugePages}) {
    MappedFile::set_load_mode(mode);
    auto f = MappedFile::open(path);
    ASSERT_TRUE(f.is_ok()) << f.status().message();
    ASSERT_EQ((*f)->size(), want.size());
    EXPECT_TRUE(std::equal(want.begin(), want.end(), (*f)->data()));
    if (mode == LoadMode::kPrivateHugePages) {
      EXPECT_EQ(reinterpret_cast<uintptr_t>((*f)->data()) % (uintptr_t{2} << 20), 0u);
    }
  }
}

TEST(MappedFile, EmptyAndMissingFilesInBothModes) {
  ModeGuard g;
  const std::string dir = test::temp_dir("mapped-empty").string();
  std::ofstream(dir + "/empty.bin");
  for (LoadMode mode : {LoadMode::kMmap, LoadMode::kPrivateHugePages}) {
    MappedFile::set_load_mode(mode);
    auto e = MappedFile::open(dir + "/empty.bin");
    ASSERT_TRUE(e.is_ok());
    EXPECT_EQ((*e)->size(), 0u);
    auto m = MappedFile::open(dir + "/missing.bin");
    ASSERT_FALSE(m.is_ok());
    EXPECT_NE(m.status().message().find("missing.bin"), std::string::npos);
  }
}

}  // namespace
}  // namespace lk
