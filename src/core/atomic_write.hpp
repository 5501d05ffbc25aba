// Writing files so that readers never see half of one.
#pragma once

#include <filesystem>
#include <string_view>

#include "core/error.hpp"

namespace mbuild {

// Writes through a temporary file beside `path` and a rename; on failure nothing is left
// behind and any previous file stays intact (ErrorKind::io naming the path).
Result<void> write_file_atomic(const std::filesystem::path& path, std::string_view content);

}  // namespace mbuild
