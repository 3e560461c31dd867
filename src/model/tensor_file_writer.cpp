#include "model/tensor_file_writer.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

namespace lk {

TensorFileWriter::TensorFileWriter(std::string path, std::string what)
    : path_(std::move(path)), tmp_(path_ + ".tmp"), what_(std::move(what)) {}

TensorFileWriter::~TensorFileWriter() {
  if (f_ != nullptr) std::fclose(f_);
  if (!committed_) std::remove(tmp_.c_str());
}

Status TensorFileWriter::open() {
  f_ = std::fopen(tmp_.c_str(), "wb");
  if (f_ == nullptr) return io_error("{}: cannot create: {}", tmp_, std::strerror(errno));
  return Status::ok();
}

Status TensorFileWriter::write(const void* p, size_t n) {
  if (n > 0 && std::fwrite(p, 1, n, f_) != n)
    return io_error("{}: write failed: {}", tmp_, std::strerror(errno));
  return Status::ok();
}

Status TensorFileWriter::write_tensor(const std::string& name, uint64_t nbytes,
                                      const TensorDataFn& produce, size_t index, const void* data,
                                      size_t data_size) {
  uint64_t written = 0;
  const ByteSink sink = [&](const void* p, size_t n) -> Status {
    if (written + n > nbytes)
      return make_error(StatusCode::kInternal, "{}: tensor '{}' produced more than {} bytes", what_,
                        name, nbytes);
    written += n;
    return write(p, n);
  };
  if (Status s = produce ? produce(index, sink) : sink(data, data_size); !s) return s;
  if (written != nbytes)
    return make_error(StatusCode::kInternal, "{}: tensor '{}' produced {} bytes, expected {}",
                      what_, name, written, nbytes);
  return Status::ok();
}

Status TensorFileWriter::commit() {
  const int rc = std::fclose(f_);
  f_ = nullptr;
  if (rc != 0) return io_error("{}: close failed: {}", tmp_, std::strerror(errno));
  std::error_code ec;
  std::filesystem::rename(tmp_, path_, ec);
  if (ec) return io_error("{}: cannot rename to {}: {}", tmp_, path_, ec.message());
  committed_ = true;
  return Status::ok();
}

}  // namespace lk
