// A finding: something the reader noticed that is not fatal (a note or a warning).
#pragma once

#include <string>

namespace mbuild {

enum class Severity { info, warning };

struct Finding {
  Severity severity = Severity::warning;
  std::string where;  // file or field concerned
  std::string text;
};

}  // namespace mbuild
