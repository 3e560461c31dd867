#include "model/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace lk {

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
  if (m->size_ > 0) {
    void* p = ::mmap(nullptr, m->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const int e = errno;
      ::close(fd);
      return io_error("{}: mmap of {} bytes failed: {}", path, m->size_, std::strerror(e));
    }
    m->data_ = static_cast<const uint8_t*>(p);
    m->owned_ = true;
  }
  ::close(fd);  // the mapping keeps the file alive
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
  if (owned_ && data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
}

}  // namespace lk
