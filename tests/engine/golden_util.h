// Shared by the engine's real-model tests: the golden files of ../shared/models/golden and a
// minimal llama2.c tokenizer.bin decoder (run.c's decode + safe_printf) to compare text.
#pragma once

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lk::test {

inline nlohmann::json read_json(const std::filesystem::path& p) {
  std::ifstream f(p);
  return nlohmann::json::parse(f);
}

inline std::vector<float> read_f32(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(f)), {});
  std::vector<float> out(bytes.size() / 4);
  std::memcpy(out.data(), bytes.data(), out.size() * 4);
  return out;
}

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), {});
}

// run.c's decode(prev, token) followed by safe_printf, over a whole id sequence that
// starts after `first_prev`.
class Llama2cPieces {
 public:
  explicit Llama2cPieces(const std::filesystem::path& tok_bin, int vocab) {
    std::ifstream f(tok_bin, std::ios::binary);
    int32_t max_len = 0;
    f.read(reinterpret_cast<char*>(&max_len), 4);
    pieces_.resize(vocab);
    for (int i = 0; i < vocab; ++i) {
      float score;
      int32_t len;
      f.read(reinterpret_cast<char*>(&score), 4);
      f.read(reinterpret_cast<char*>(&len), 4);
      pieces_[i].resize(len);
      f.read(pieces_[i].data(), len);
    }
  }
  std::string decode(const std::vector<int>& ids, int first_prev) const {
    std::string out;
    int prev = first_prev;
    for (int id : ids) {
      std::string piece = pieces_[id];
      if (prev == 1 && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
      unsigned int byte;
      if (piece.size() == 6 && std::sscanf(piece.c_str(), "<0x%02X>", &byte) == 1) {
        piece = std::string(1, static_cast<char>(byte));
      }
      if (piece.size() == 1) {
        const unsigned char c = piece[0];
        if (!(std::isprint(c) || std::isspace(c))) piece.clear();
      }
      out += piece;
      prev = id;
    }
    return out;
  }

 private:
  std::vector<std::string> pieces_;
};

}  // namespace lk::test
