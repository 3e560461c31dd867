// Disk tier: one file per key in a cache directory. Crash safety: a value is written to
// "<name>.tmp.<pid>", fsync'd, then renamed over "<name>" (rename is atomic on POSIX), and
// the directory is fsync'd; readers never see a torn file under the final name. A torn or
// bit-flipped file is still caught by the block checksums when it is read back.
// Reads of large values map the file rather than copy it into a buffer (one copy per swap-in).
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <unordered_map>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
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

constexpr size_t kMaxIov = 1024;                // IOV_MAX on Linux
constexpr off_t kFlushChunk = off_t{32} << 20;  // start writeback every 32 MiB
constexpr size_t kMapMin = size_t{1} << 20;     // values at least this large are mmap'd on get

class DiskTier final : public KvTier {
 public:
  DiskTier(std::string dir, int64_t capacity, bool fsync)
      : dir_(std::move(dir)), capacity_(capacity), fsync_(fsync) {}
  std::string name() const override { return "disk"; }

  Status put(const std::string& key, BytesPtr value) override {
    const BytePiece whole{value->data.get(), value->size};
    return put_pieces(key, std::vector<BytePiece>{whole}, value->size);
  }

  bool gathers() const override { return true; }

  // Gather write straight from the pieces (no staging copy), with writeback started every
  // kFlushChunk bytes so the device writes while later pieces are still being submitted and
  // the final fsync has little left to wait for.
  Status put_pieces(const std::string& key, const std::vector<BytePiece>& pieces,
                    size_t total) override {
    const int64_t size = static_cast<int64_t>(total);
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
    auto fail = [&](const char* what, int err) {
      ::close(fd);
      ::unlink(tmp.c_str());
      return errno_status(what, tmp, err);
    };
    std::vector<iovec> iov;
    iov.reserve(kMaxIov);
    size_t piece = 0, piece_off = 0;  // next byte to write
    off_t written = 0, flushed = 0;
    while (piece < pieces.size()) {
      iov.clear();
      size_t batch = 0;
      for (size_t i = piece; i < pieces.size() && iov.size() < kMaxIov; ++i) {
        const size_t off = i == piece ? piece_off : 0;
        if (pieces[i].size == off) continue;
        iov.push_back({const_cast<uint8_t*>(static_cast<const uint8_t*>(pieces[i].data)) + off,
                       pieces[i].size - off});
        batch += pieces[i].size - off;
      }
      if (iov.empty()) break;
      const ssize_t n = ::writev(fd, iov.data(), static_cast<int>(iov.size()));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return fail("cannot write", n < 0 ? errno : ENOSPC);
      written += n;
      // Advance (piece, piece_off) by n bytes.
      size_t left = static_cast<size_t>(n);
      while (left > 0 && piece < pieces.size()) {
        const size_t avail = pieces[piece].size - piece_off;
        if (left < avail) {
          piece_off += left;
          left = 0;
        } else {
          left -= avail;
          ++piece;
          piece_off = 0;
        }
      }
      while (piece < pieces.size() && pieces[piece].size == piece_off) {
        ++piece;
        piece_off = 0;
      }
      if (fsync_ && written - flushed >= kFlushChunk) {
        ::sync_file_range(fd, flushed, written - flushed, SYNC_FILE_RANGE_WRITE);
        flushed = written;
      }
    }
    if (static_cast<size_t>(written) != total) return fail("short write to", EIO);
    if (fsync_ && ::fsync(fd) != 0) return fail("cannot fsync", errno);
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
    const size_t size = static_cast<size_t>(st.st_size);
    if (size >= kMapMin) {
      // Map the file (page tables populated up front) instead of read()ing it into a buffer:
      // the swap-in then copies each block once, page cache -> pool, as a raw read() copies
      // page cache -> buffer. Our files are replaced by rename, never truncated in place, so
      // the mapping stays valid (an unlinked file lives on until the mapping is dropped).
      void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
      const int err = errno;
      ::close(fd);
      if (map == MAP_FAILED) return errno_status("cannot map", path, err);
      ::madvise(map, size, MADV_SEQUENTIAL);
      auto* b = new Bytes();
      b->data.reset(static_cast<uint8_t*>(map));
      b->size = size;  // capacity 0: not a pooled buffer
      return BytesPtr(b, [size](Bytes* x) {
        ::munmap(x->data.release(), size);  // released: unique_ptr must not delete[] it
        delete x;
      });
    }
    BytesPtr out = buffers_.acquire(size);
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
