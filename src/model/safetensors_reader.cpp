#include "model/safetensors_reader.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

namespace lk {

namespace {

using json = nlohmann::json;

// The reference implementation refuses headers above 100 MB; so do we.
constexpr uint64_t kMaxHeader = 100ull << 20;

}  // namespace

int safetensors_dtype_size(std::string_view d) {
  if (d == "F64" || d == "I64" || d == "U64") return 8;
  if (d == "F32" || d == "I32" || d == "U32") return 4;
  if (d == "F16" || d == "BF16" || d == "I16" || d == "U16") return 2;
  if (d == "I8" || d == "U8" || d == "BOOL" || d == "F8_E4M3" || d == "F8_E5M2") return 1;
  return 0;
}

Result<std::unique_ptr<SafetensorsFile>> SafetensorsFile::open(const std::string& path) {
  LK_ASSIGN_OR_RETURN(auto file, MappedFile::open(path));
  std::unique_ptr<SafetensorsFile> s(new SafetensorsFile());
  s->path_ = path;
  LK_RETURN_IF_ERROR(s->add_shard(std::move(file)));
  return s;
}

Result<std::unique_ptr<SafetensorsFile>> SafetensorsFile::from_memory(const void* data, size_t size,
                                                                      std::string name) {
  std::unique_ptr<SafetensorsFile> s(new SafetensorsFile());
  s->path_ = name;
  LK_RETURN_IF_ERROR(s->add_shard(MappedFile::borrow(data, size, std::move(name))));
  return s;
}

Status SafetensorsFile::add_shard(std::unique_ptr<MappedFile> file) {
  const std::string& p = file->path();
  const uint64_t size = file->size();
  if (size < 8)
    return corrupt(
        "{}: truncated: {} bytes, a safetensors file starts with an 8-byte header "
        "length",
        p, size);
  uint64_t n = 0;
  std::memcpy(&n, file->data(), 8);
  if (n > kMaxHeader)
    return corrupt("{}: header length {} exceeds the 100 MB limit (not a safetensors file?)", p, n);
  if (n > size - 8)
    return corrupt("{}: truncated: header length {} but only {} bytes follow", p, n, size - 8);
  const json h = json::parse(file->data() + 8, file->data() + 8 + n, nullptr, false);
  if (h.is_discarded()) return corrupt("{}: header is not valid JSON", p);
  if (!h.is_object()) return corrupt("{}: header must be a JSON object", p);
  const uint64_t data_size = size - 8 - n;
  const int shard = static_cast<int>(shards_.size());
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (auto it = h.begin(); it != h.end(); ++it) {
    const std::string& name = it.key();
    const json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) return corrupt("{}: '__metadata__' must be an object of strings", p);
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string())
          return corrupt("{}: '__metadata__.{}' must be a string", p, m.key());
        metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string what = fmt::format("{}: tensor '{}'", p, name);
    if (!v.is_object()) return corrupt("{}: entry must be an object", what);
    if (!v.contains("dtype") || !v.at("dtype").is_string())
      return corrupt("{}: field 'dtype' is missing or not a string", what);
    if (!v.contains("shape") || !v.at("shape").is_array())
      return corrupt("{}: field 'shape' is missing or not an array", what);
    if (!v.contains("data_offsets") || !v.at("data_offsets").is_array() ||
        v.at("data_offsets").size() != 2)
      return corrupt("{}: field 'data_offsets' must be an array [begin, end]", what);
    SafetensorsEntry e;
    e.name = name;
    e.shard = shard;
    e.dtype_name = v.at("dtype").get<std::string>();
    const int esize = safetensors_dtype_size(e.dtype_name);
    if (esize == 0)
      return corrupt(
          "{}: unknown dtype '{}' (valid: F64, F32, F16, BF16, I64, I32, I16, I8, U8, "
          "BOOL, F8_E4M3, F8_E5M2, ...)",
          what, e.dtype_name);
    e.supported = true;
    if (e.dtype_name == "F32")
      e.dtype = DType::kF32;
    else if (e.dtype_name == "F16")
      e.dtype = DType::kF16;
    else if (e.dtype_name == "BF16")
      e.dtype = DType::kBF16;
    else
      e.supported = false;
    uint64_t n_elem = 1;
    for (const json& d : v.at("shape")) {
      if (!d.is_number_unsigned())
        return corrupt("{}: field 'shape' must hold non-negative integers, got {}", what,
                       v.at("shape").dump());
      const uint64_t x = d.get<uint64_t>();
      if (x != 0 && n_elem > std::numeric_limits<uint64_t>::max() / 8 / x)
        return corrupt("{}: shape {} overflows", what, v.at("shape").dump());
      n_elem *= x;
      e.shape.push_back(static_cast<int64_t>(x));
    }
    const json& off = v.at("data_offsets");
    if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      return corrupt("{}: field 'data_offsets' must hold non-negative integers", what);
    e.begin = off[0].get<uint64_t>();
    e.end = off[1].get<uint64_t>();
    if (e.begin > e.end || e.end > data_size)
      return corrupt("{}: data_offsets [{}, {}] lie outside the {} data bytes (file truncated?)",
                     what, e.begin, e.end, data_size);
    if (e.end - e.begin != n_elem * static_cast<uint64_t>(esize))
      return corrupt("{}: data_offsets span {} bytes but shape {} of {} needs {}", what,
                     e.end - e.begin, v.at("shape").dump(), e.dtype_name,
                     n_elem * static_cast<uint64_t>(esize));
    if (index_.count(name) != 0)
      return corrupt("{}: duplicate tensor (also in another shard)", what);
    if (e.begin != e.end) ranges.emplace_back(e.begin, e.end);
    index_.emplace(name, entries_.size());
    entries_.push_back(std::move(e));
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t k = 1; k < ranges.size(); ++k)
    if (ranges[k].first < ranges[k - 1].second)
      return corrupt("{}: tensor data ranges overlap at byte {}", p, ranges[k].first);
  data_start_.push_back(8 + n);
  shards_.push_back(std::move(file));
  return Status::ok();
}

Result<std::unique_ptr<SafetensorsFile>> SafetensorsFile::open_index(
    const std::string& index_path) {
  std::ifstream in(index_path);
  if (!in) return not_found("{}: cannot read (no such file?)", index_path);
  std::stringstream ss;
  ss << in.rdbuf();
  const json idx = json::parse(ss.str(), nullptr, false);
  if (idx.is_discarded() || !idx.is_object()) return corrupt("{}: not a JSON object", index_path);
  if (!idx.contains("weight_map") || !idx.at("weight_map").is_object())
    return corrupt("{}: field 'weight_map' is missing or not an object", index_path);
  const std::filesystem::path dir = std::filesystem::path(index_path).parent_path();
  std::vector<std::string> shard_names;
  std::map<std::string, std::string> want;  // tensor -> shard file
  for (auto it = idx.at("weight_map").begin(); it != idx.at("weight_map").end(); ++it) {
    if (!it.value().is_string())
      return corrupt("{}: weight_map['{}'] must be a file name", index_path, it.key());
    const std::string f = it.value().get<std::string>();
    if (f.find('/') != std::string::npos || f == ".." || f.empty())
      return corrupt("{}: weight_map['{}'] = '{}' must be a plain file name in the same folder",
                     index_path, it.key(), f);
    want[it.key()] = f;
    if (std::find(shard_names.begin(), shard_names.end(), f) == shard_names.end())
      shard_names.push_back(f);
  }
  std::sort(shard_names.begin(), shard_names.end());
  std::unique_ptr<SafetensorsFile> s(new SafetensorsFile());
  s->path_ = index_path;
  for (const auto& f : shard_names) {
    LK_ASSIGN_OR_RETURN(auto file, MappedFile::open((dir / f).string()));
    LK_RETURN_IF_ERROR(s->add_shard(std::move(file)));
  }
  for (const auto& [name, f] : want) {
    const SafetensorsEntry* e = s->find(name);
    if (e == nullptr)
      return corrupt("{}: tensor '{}' is listed in weight_map but not found in {}", index_path,
                     name, f);
    if (std::filesystem::path(s->shard_path(e->shard)).filename() != f)
      return corrupt("{}: tensor '{}' is mapped to {} but found in {}", index_path, name, f,
                     s->shard_path(e->shard));
  }
  if (s->entries_.size() != want.size()) {
    for (const auto& e : s->entries_)
      if (want.count(e.name) == 0)
        return corrupt("{}: tensor '{}' of {} is missing from weight_map", index_path, e.name,
                       s->shard_path(e.shard));
  }
  return s;
}

Result<std::unique_ptr<SafetensorsFile>> SafetensorsFile::open_dir(const std::string& dir) {
  const std::filesystem::path d(dir);
  std::error_code ec;
  if (std::filesystem::exists(d / "model.safetensors.index.json", ec))
    return open_index((d / "model.safetensors.index.json").string());
  if (std::filesystem::exists(d / "model.safetensors", ec))
    return open((d / "model.safetensors").string());
  return not_found("{}: neither model.safetensors nor model.safetensors.index.json found", dir);
}

const SafetensorsEntry* SafetensorsFile::find(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &entries_[it->second];
}

Result<TensorView> SafetensorsFile::tensor(std::string_view name) const {
  const SafetensorsEntry* e = find(name);
  if (e == nullptr) return not_found("{}: tensor '{}' not found", path_, name);
  if (!e->supported)
    return unsupported("{}: tensor '{}' has dtype {} (supported: F32, F16, BF16)", path_, name,
                       e->dtype_name);
  if (e->shape.size() > 4)
    return unsupported("{}: tensor '{}' has {} dims (at most 4 supported)", path_, name,
                       e->shape.size());
  TensorView v;
  v.name = e->name;
  v.dtype = e->dtype;
  v.n_dims = static_cast<int>(std::max<size_t>(e->shape.size(), 1));
  for (size_t k = 0; k < e->shape.size(); ++k) v.ne[k] = e->shape[e->shape.size() - 1 - k];
  v.nbytes = static_cast<int64_t>(e->end - e->begin);
  v.data = shards_[e->shard]->data() + data_start_[e->shard] + e->begin;
  return v;
}

}  // namespace lk
