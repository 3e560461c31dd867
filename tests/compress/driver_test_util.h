// Shared by the compression tests that drive a real KvManager: a driver from a spec string.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "compress/driver.h"

namespace lk::compress {

// The driver for `spec` over `kv` with `n_q_heads` query heads; a bad spec fails the test.
inline std::unique_ptr<CompressionDriver> make_test_driver(const std::string& spec, KvManager* kv,
                                                           int n_q_heads) {
  auto s = parse_compression_spec(spec);
  EXPECT_TRUE(s.is_ok()) << s.status().to_string();
  auto d = CompressionDriver::create(*s, kv, n_q_heads);
  EXPECT_TRUE(d.is_ok()) << d.status().to_string();
  return std::move(d).value();
}

}  // namespace lk::compress
