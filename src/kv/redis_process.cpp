#include "kv/redis_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <vector>

#include <hiredis/hiredis.h>

extern char** environ;

namespace lk {

namespace {
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}
}  // namespace

Result<std::unique_ptr<RedisProcess>> RedisProcess::start() {
  std::string bin;
  for (const char* p : {"/usr/bin/redis-server", "/usr/local/bin/redis-server"})
    if (::access(p, X_OK) == 0) bin = p;
  if (bin.empty())
    return unsupported(
        "redis-server is not installed (apt-get install redis-server), or pass "
        "--redis HOST:PORT of a running server");
  std::unique_ptr<RedisProcess> rp(new RedisProcess());
  std::string tmpl = (std::filesystem::temp_directory_path() / "longkv-redis-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) return io_error("cannot create a temp dir for redis-server");
  rp->dir_ = tmpl;
  rp->port_ = free_port();
  std::vector<std::string> args = {bin,
                                   "--port",
                                   std::to_string(rp->port_),
                                   "--bind",
                                   "127.0.0.1",
                                   "--dir",
                                   rp->dir_,
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
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid;
  const int rc = posix_spawn(&pid, bin.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return Status(StatusCode::kUnavailable, "cannot spawn redis-server");
  rp->pid_ = pid;
  for (int i = 0; i < 250; ++i) {
    timeval tv{0, 200000};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", rp->port_, tv);
    const bool ok = c && !c->err;
    if (c) redisFree(c);
    if (ok) return rp;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status(StatusCode::kUnavailable, "redis-server did not start listening within 5 s");
}

void RedisProcess::kill() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
}

RedisProcess::~RedisProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

}  // namespace lk
