// `longkv analyze sweep` and `longkv analyze figure` (filled in with the sweeps).
#include "cli/command.h"

namespace lk::cli {
int analyze_sweep_main(int, char**) {
  return report_error("analyze sweep", unsupported("not yet"));
}
int analyze_figure_main(int, char**) {
  return report_error("analyze figure", unsupported("not yet"));
}
}  // namespace lk::cli
