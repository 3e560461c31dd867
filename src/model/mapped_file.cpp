#include "model/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>

namespace lk {

namespace {

std::atomic<LoadMode> g_load_mode{LoadMode::kMmap};

constexpr size_t kHugePage = size_t{2} << 20;

// Maps the file read-only; the mapping is the data.
Status map_file(int fd, const std::string& path, size_t size, void** map, size_t* map_size,
                const uint8_t** data) {
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED)
    return io_error("{}: mmap of {} bytes failed: {}", path, size, std::strerror(errno));
  *map = p;
  *map_size = size;
  *data = static_cast<const uint8_t*>(p);
  return Status::ok();
}

// Copies the file into anonymous memory aligned to and advised for 2 MiB huge pages.
// Returns the mapping (to unmap), its size and the aligned start of the data.
Status copy_to_huge_pages(int fd, const std::string& path, size_t size, void** map,
                          size_t* map_size, const uint8_t** data) {
  const size_t len = (size + kHugePage - 1) / kHugePage * kHugePage;
  *map_size = len + kHugePage;  // room to align the start
  void* p = ::mmap(nullptr, *map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return io_error("{}: --no-mmap: cannot allocate {} bytes: {}", path, *map_size,
                    std::strerror(errno));
  *map = p;
  auto* a = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(p) + kHugePage - 1) &
                                       ~uintptr_t{kHugePage - 1});
  // Without THP ("never") the advice fails and the copy still works on 4 KiB pages.
  (void)::madvise(a, len, MADV_HUGEPAGE);
  size_t off = 0;
  while (off < size) {
    const ssize_t r = ::pread(fd, a + off, size - off, static_cast<off_t>(off));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      const int e = errno;
      ::munmap(p, *map_size);
      *map = nullptr;
      return io_error("{}: --no-mmap: read failed at byte {} of {}: {}", path, off, size,
                      r == 0 ? "file shrank while loading" : std::strerror(e));
    }
    off += static_cast<size_t>(r);
  }
  ::mprotect(a, len, PROT_READ);  // weights are read-only, as in the mapping
  *data = a;
  return Status::ok();
}

}  // namespace

void MappedFile::set_load_mode(LoadMode mode) {
  g_load_mode.store(mode);
}
LoadMode MappedFile::load_mode() {
  return g_load_mode.load();
}

Result<std::unique_ptr<MappedFile>> MappedFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return not_found("{}: no such file", path);
    return io_error("{}: cannot open: {}", path, std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    return io_error("{}: cannot stat: {}", path, std::strerror(e));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return invalid_argument("{}: is a directory, expected a file", path);
  }
  std::unique_ptr<MappedFile> m(new MappedFile());
  m->path_ = path;
  m->size_ = static_cast<size_t>(st.st_size);
  Status loaded = Status::ok();
  if (m->size_ > 0) {
    loaded = load_mode() == LoadMode::kPrivateHugePages
                 ? copy_to_huge_pages(fd, path, m->size_, &m->map_, &m->map_size_, &m->data_)
                 : map_file(fd, path, m->size_, &m->map_, &m->map_size_, &m->data_);
  }
  ::close(fd);  // a mapping keeps the file alive; a copy no longer needs it
  if (!loaded.is_ok()) return loaded;
  return m;
}

std::unique_ptr<MappedFile> MappedFile::borrow(const void* data, size_t size, std::string name) {
  std::unique_ptr<MappedFile> m(new MappedFile());
  m->data_ = static_cast<const uint8_t*>(data);
  m->size_ = size;
  m->path_ = std::move(name);
  return m;
}

MappedFile::~MappedFile() {
  if (map_ != nullptr) ::munmap(map_, map_size_);
}

}  // namespace lk
