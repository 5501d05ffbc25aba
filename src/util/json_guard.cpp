#include "mbuild/util/json_guard.hpp"

#include <algorithm>

namespace mbuild {

std::string_view json_exception_text(const std::exception& e) {
  std::string_view what = e.what();
  const size_t tag = what.find("] ");
  return tag == std::string_view::npos ? what : what.substr(tag + 2);
}

size_t json_nesting_depth(std::string_view text) {
  size_t depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

}  // namespace mbuild
