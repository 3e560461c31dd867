// A plain-text table for terminal reports: columns padded to their widest cell (UTF-8
// aware), numbers right-aligned, an optional rule under the header.
#pragma once

#include <string>
#include <vector>

namespace lk {

class TextTable {
 public:
  // align: one char per column, 'l' or 'r'.
  TextTable(std::vector<std::string> header, std::string align);
  void add_row(std::vector<std::string> cells);
  void add_rule();  // a horizontal rule before the next row
  std::string render(const std::string& indent = "  ") const;

 private:
  std::vector<std::string> header_;
  std::string align_;
  std::vector<std::vector<std::string>> rows_;  // an empty row is a rule
};

// Display width of a UTF-8 string (one column per code point).
size_t display_width(const std::string& s);
// Greedy word wrap to `width` columns.
std::vector<std::string> wrap_text(const std::string& text, size_t width);

}  // namespace lk
