// `--no-mmap` for the commands that load a model (run, bench, eval): weights are copied into
// private memory on 2 MiB huge pages instead of mapped from the file (model/mapped_file.h).
#pragma once

#include <CLI/CLI.hpp>

#include "model/mapped_file.h"

namespace lk {

inline void add_no_mmap_flag(CLI::App& app, bool& no_mmap) {
  app.add_flag("--no-mmap", no_mmap,
               "copy the weights into private memory on 2 MiB huge pages instead of mapping the "
               "file (faster decode of large models; costs a copy at load, RAM is not shared)");
}

// Call before the model is loaded.
inline void apply_no_mmap_flag(bool no_mmap) {
  MappedFile::set_load_mode(no_mmap ? LoadMode::kPrivateHugePages : LoadMode::kMmap);
}

}  // namespace lk
