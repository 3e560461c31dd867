// Disk tier: one file per key in a cache directory. Crash safety: a value is written to
// "<name>.tmp.<pid>", fsync'd, then renamed over "<name>" (rename is atomic on POSIX), and
// the directory is fsync'd; readers never see a torn file under the final name. A torn or
// bit-flipped file is still caught by the block checksums when it is read back.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <unordered_map>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kv/tier.h"

namespace lk {

namespace {

std::string file_name(const std::string& key) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : key) {
    if (std::isalnum(c) || c == '-' || c == '_') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out + ".kv";
}

Status errno_status(const std::string& what, const std::string& path, int err) {
  const StatusCode code =
      (err == ENOSPC || err == EDQUOT) ? StatusCode::kUnavailable : StatusCode::kIoError;
  return Status(code, fmt::format("{} {}: {}", what, path, std::strerror(err)));
}

class DiskTier final : public KvTier {
 public:
  DiskTier(std::string dir, int64_t capacity, bool fsync)
      : dir_(std::move(dir)), capacity_(capacity), fsync_(fsync) {}
  std::string name() const override { return "disk"; }

  Status put(const std::string& key, BytesPtr value) override {
    const int64_t size = static_cast<int64_t>(value->size);
    {
      std::lock_guard<std::mutex> lock(mu_);
      const int64_t old = sizes_.count(key) ? sizes_[key] : 0;
      if (capacity_ > 0 && used_ - old + size > capacity_)
        return make_error(StatusCode::kOutOfMemory,
                          "disk tier {} full: {} of {} bytes used, value needs {}", dir_, used_,
                          capacity_, size);
    }
    const std::string path = dir_ + "/" + file_name(key);
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    const int fd = ::open(tmp.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return errno_status("cannot create", tmp, errno);
    const uint8_t* p = value->data.get();
    size_t left = value->size;
    while (left > 0) {
      const ssize_t n = ::write(fd, p, std::min<size_t>(left, size_t{1} << 30));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const int err = n < 0 ? errno : ENOSPC;
        ::close(fd);
        ::unlink(tmp.c_str());
        return errno_status("cannot write", tmp, err);
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    if (fsync_ && ::fsync(fd) != 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return errno_status("cannot fsync", tmp, err);
    }
    if (::close(fd) != 0) {
      const int err = errno;
      ::unlink(tmp.c_str());
      return errno_status("cannot close", tmp, err);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      const int err = errno;
      ::unlink(tmp.c_str());
      return errno_status("cannot rename into", path, err);
    }
    if (fsync_) {
      const int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    used_ += size - (sizes_.count(key) ? sizes_[key] : 0);
    sizes_[key] = size;
    return Status::ok();
  }

  Result<BytesPtr> get(const std::string& key) override {
    const std::string path = dir_ + "/" + file_name(key);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return not_found("disk tier has no key '{}' ({})", key, path);
      return errno_status("cannot open", path, errno);
    }
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      const int err = errno;
      ::close(fd);
      return errno_status("cannot stat", path, err);
    }
    BytesPtr out = buffers_.acquire(static_cast<size_t>(st.st_size));
    uint8_t* p = out->data.get();
    size_t left = out->size;
    while (left > 0) {
      const ssize_t n = ::read(fd, p, std::min<size_t>(left, size_t{1} << 30));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const int err = n < 0 ? errno : EIO;
        ::close(fd);
        return errno_status("cannot read", path, err);
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    ::close(fd);
    return out;
  }

  Status remove(const std::string& key) override {
    const std::string path = dir_ + "/" + file_name(key);
    if (::unlink(path.c_str()) != 0) {
      if (errno == ENOENT) return not_found("disk tier has no key '{}'", key);
      return errno_status("cannot remove", path, errno);
    }
    std::lock_guard<std::mutex> lock(mu_);
    used_ -= sizes_.count(key) ? sizes_[key] : 0;
    sizes_.erase(key);
    return Status::ok();
  }

  int64_t bytes_used() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return used_;
  }

 private:
  std::string dir_;
  int64_t capacity_;
  bool fsync_;
  mutable std::mutex mu_;
  int64_t used_ = 0;
  std::unordered_map<std::string, int64_t> sizes_;
};

}  // namespace

Result<std::unique_ptr<KvTier>> make_disk_tier(const std::string& dir, int64_t capacity_bytes,
                                               bool fsync) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return io_error("cannot create KV cache directory {}: {}", dir, ec.message());
  if (::access(dir.c_str(), W_OK) != 0)
    return io_error("KV cache directory {} is not writable", dir);
  return std::unique_ptr<KvTier>(std::make_unique<DiskTier>(dir, capacity_bytes, fsync));
}

}  // namespace lk
