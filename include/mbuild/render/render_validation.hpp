// How the validation report is printed: text, JSON and markdown. Renderers format, never
// compute: every number comes from validate_model().
#pragma once

#include <string>

#include "mbuild/report/validate.hpp"

namespace mbuild {

std::string render_validation_text(const ValidationReport& report);
std::string render_validation_json(const ValidationReport& report);
std::string render_validation_md(const ValidationReport& report);

}  // namespace mbuild
