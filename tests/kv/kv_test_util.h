// Helpers for the kv tests: small manager configs, random K/V, an f32 reference attention
// (the oracle: plain softmax over dequantized-by-definition f32 inputs), and a throwaway
// redis-server on a random loopback port.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <hiredis/hiredis.h>

#include "kv/kv_manager.h"
#include "test_util.h"

extern char** environ;

namespace lk::test {

inline KvManagerConfig small_config(KvFormat f = KvFormat::kF16, int block = 4,
                                    int64_t budget = 8 << 20) {
  KvManagerConfig c;
  c.n_layers = 2;
  c.n_kv_heads = 2;
  c.head_dim = 8;
  c.block_tokens = block;
  c.format = f;
  c.residual_format = KvFormat::kF16;
  c.budget_bytes = budget;
  c.model_digest = "test-model";
  return c;
}

inline std::unique_ptr<KvManager> make_manager(const KvManagerConfig& c) {
  auto r = KvManager::create(c);
  if (!r.is_ok()) throw std::runtime_error(r.status().to_string());
  return std::move(r).value();
}

// Random K/V for n tokens: [n][n_kv_heads][head_dim].
inline std::vector<float> random_kv(int64_t n, const KvManagerConfig& c, std::mt19937& rng,
                                    float scale = 1.0f) {
  std::normal_distribution<float> nd(0.0f, scale);
  std::vector<float> x(static_cast<size_t>(n * c.n_kv_heads * c.head_dim));
  for (auto& v : x) v = nd(rng);
  return x;
}

// Appends n tokens at positions [start, start + n) to every layer of seq.
inline Status append_all_layers(KvManager& m, SeqId seq, int64_t start, int64_t n,
                                const std::vector<float>& k, const std::vector<float>& v) {
  std::vector<int32_t> pos(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) pos[i] = static_cast<int32_t>(start + i);
  for (int l = 0; l < m.config().n_layers; ++l) {
    Status st = m.append(seq, l, pos, k.data(), v.data());
    if (!st.is_ok()) return st;
  }
  return Status::ok();
}

// Reference: out[i] = softmax(scale * q_i . K^T, masked by position) V, in double.
inline void reference_attention(const std::vector<float>& keys, const std::vector<float>& vals,
                                const std::vector<int32_t>& pos, int D, const float* q,
                                const int32_t* q_pos, int n_q, float scale, float* out) {
  const size_t n = pos.size();
  for (int i = 0; i < n_q; ++i) {
    std::vector<double> s(n);
    double mx = -1e300;
    for (size_t t = 0; t < n; ++t) {
      if (q_pos && pos[t] > q_pos[i]) continue;
      double acc = 0;
      for (int d = 0; d < D; ++d) acc += double(q[i * D + d]) * keys[t * D + d];
      s[t] = acc * scale;
      mx = std::max(mx, s[t]);
    }
    double sum = 0;
    std::vector<double> o(D, 0.0);
    for (size_t t = 0; t < n; ++t) {
      if (q_pos && pos[t] > q_pos[i]) continue;
      const double w = std::exp(s[t] - mx);
      sum += w;
      for (int d = 0; d < D; ++d) o[d] += w * vals[t * D + d];
    }
    for (int d = 0; d < D; ++d) out[i * D + d] = sum > 0 ? static_cast<float>(o[d] / sum) : 0.0f;
  }
}

inline int free_tcp_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

inline std::string find_redis_server() {
  for (const char* p : {"/usr/bin/redis-server", "/usr/local/bin/redis-server"})
    if (::access(p, X_OK) == 0) return p;
  return {};
}

// A private redis-server on 127.0.0.1:<random port>, data in a temp dir, no persistence.
class RedisServer {
 public:
  bool start() {
    const std::string bin = find_redis_server();
    if (bin.empty()) return false;
    dir_ = temp_dir("redis");
    port_ = free_tcp_port();
    std::vector<std::string> args = {bin,
                                     "--port",
                                     std::to_string(port_),
                                     "--bind",
                                     "127.0.0.1",
                                     "--dir",
                                     dir_.string(),
                                     "--save",
                                     "",
                                     "--appendonly",
                                     "no",
                                     "--protected-mode",
                                     "no",
                                     "--loglevel",
                                     "warning"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;  // keep the server's banner out of the test log
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    const int rc = posix_spawn(&pid_, bin.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return false;
    for (int i = 0; i < 200; ++i) {  // up to ~4 s for it to listen
      timeval tv{0, 200000};
      redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
      const bool ok = c && !c->err;
      if (c) redisFree(c);
      if (ok) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
  void kill() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  ~RedisServer() { kill(); }
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::filesystem::path dir_;
};

}  // namespace lk::test
