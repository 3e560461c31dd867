// A private redis-server for benchmarks and scripts: started on 127.0.0.1 with a random
// free port and a temporary directory (no persistence), stopped by the destructor.
// Point longkv at a real server or cluster node instead with --redis HOST:PORT.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"

namespace lk {

class RedisProcess {
 public:
  // kUnsupported when no redis-server binary is installed; kUnavailable when it won't start.
  static Result<std::unique_ptr<RedisProcess>> start();
  ~RedisProcess();
  int port() const { return port_; }
  // Kills the server at once (SIGKILL) and reaps it: the fault drill of a Redis node dying
  // mid-swap. Idempotent; the destructor then only removes the temp dir.
  void kill();

 private:
  RedisProcess() = default;
  int pid_ = -1;
  int port_ = 0;
  std::string dir_;
};

}  // namespace lk
