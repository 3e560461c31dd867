// A small stand-in for libFuzzer's main so fuzz targets run under gcc in CTest: it replays
// every file of the seed corpus, then feeds a bounded number of random mutations of them
// (byte flips, truncations, insertions, splices). Deterministic for a given --seed.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  long iterations = 10000;
  uint64_t seed = 1;
  std::string corpus_dir;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--iterations" && i + 1 < argc) iterations = std::atol(argv[++i]);
    else if (a == "--seed" && i + 1 < argc) seed = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--corpus" && i + 1 < argc) corpus_dir = argv[++i];
    else {
      std::fprintf(stderr, "usage: %s [--iterations N] [--seed S] [--corpus DIR]\n", argv[0]);
      return 2;
    }
  }
  std::vector<std::vector<uint8_t>> corpus;
  std::error_code ec;
  if (!corpus_dir.empty() && std::filesystem::is_directory(corpus_dir, ec)) {
    for (auto& e : std::filesystem::directory_iterator(corpus_dir)) {
      std::ifstream f(e.path(), std::ios::binary);
      corpus.emplace_back(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    }
  }
  if (corpus.empty()) corpus.push_back({});
  for (auto& c : corpus) LLVMFuzzerTestOneInput(c.data(), c.size());

  std::mt19937_64 rng(seed);
  for (long it = 0; it < iterations; ++it) {
    std::vector<uint8_t> d = corpus[rng() % corpus.size()];
    int n_mut = 1 + static_cast<int>(rng() % 8);
    for (int m = 0; m < n_mut; ++m) {
      switch (rng() % 6) {
        case 0:  // flip a byte
          if (!d.empty()) d[rng() % d.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
          break;
        case 1:  // random byte
          if (!d.empty()) d[rng() % d.size()] = static_cast<uint8_t>(rng());
          break;
        case 2:  // truncate
          if (!d.empty()) d.resize(rng() % d.size());
          break;
        case 3:  // insert random bytes
          for (int k = static_cast<int>(rng() % 16); k > 0; --k)
            d.insert(d.begin() + static_cast<long>(d.empty() ? 0 : rng() % (d.size() + 1)),
                     static_cast<uint8_t>(rng()));
          break;
        case 4:  // interesting integer values
          if (d.size() >= 8) {
            static const uint64_t vals[] = {0, 1, 0x7f, 0xff, 0x7fffffff, 0xffffffff,
                                            0xffffffffffffffffull, 0x8000000000000000ull};
            uint64_t v = vals[rng() % 8];
            std::memcpy(&d[rng() % (d.size() - 7)], &v, 8);
          }
          break;
        case 5: {  // splice with another corpus entry
          const auto& o = corpus[rng() % corpus.size()];
          if (!o.empty() && !d.empty()) {
            size_t at = rng() % d.size();
            d.resize(at);
            d.insert(d.end(), o.begin() + static_cast<long>(rng() % o.size()), o.end());
          }
          break;
        }
      }
    }
    LLVMFuzzerTestOneInput(d.data(), d.size());
  }
  std::printf("fuzz: %zu corpus inputs + %ld mutations, no crash\n", corpus.size(), iterations);
  return 0;
}
