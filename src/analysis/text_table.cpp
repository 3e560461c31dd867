#include "analysis/text_table.h"

#include <algorithm>
#include <sstream>

namespace lk {

size_t display_width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

std::vector<std::string> wrap_text(const std::string& text, size_t width) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string word, line;
  while (in >> word) {
    if (!line.empty() && display_width(line) + 1 + display_width(word) > width) {
      lines.push_back(line);
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

TextTable::TextTable(std::vector<std::string> header, std::string align)
    : header_(std::move(header)), align_(std::move(align)) {
  align_.resize(header_.size(), 'l');
}

void TextTable::add_row(std::vector<std::string> cells) {
  cells.resize(header_.size());
  rows_.push_back(std::move(cells));
}

void TextTable::add_rule() {
  rows_.emplace_back();
}

std::string TextTable::render(const std::string& indent) const {
  std::vector<size_t> w(header_.size(), 0);
  for (size_t c = 0; c < header_.size(); ++c) w[c] = display_width(header_[c]);
  for (const auto& r : rows_)
    for (size_t c = 0; c < r.size(); ++c) w[c] = std::max(w[c], display_width(r[c]));
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out = indent;
    for (size_t c = 0; c < cells.size(); ++c) {
      const size_t pad = w[c] - display_width(cells[c]);
      if (align_[c] == 'r')
        out += std::string(pad, ' ') + cells[c];
      else
        out += cells[c] + (c + 1 < cells.size() ? std::string(pad, ' ') : "");
      if (c + 1 < cells.size()) out += "  ";
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  size_t total = 0;
  for (size_t c = 0; c < w.size(); ++c) total += w[c] + (c ? 2 : 0);
  std::string rule = indent;
  for (size_t i = 0; i < total; ++i) rule += "─";
  rule += "\n";
  std::string out = line(header_) + rule;
  for (const auto& r : rows_) out += r.empty() ? rule : line(r);
  return out;
}

}  // namespace lk
