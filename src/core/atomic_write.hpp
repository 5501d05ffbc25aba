// Writing files so that readers never see half of one.
#pragma once

#include <filesystem>
#include <string_view>

#include "core/error.hpp"

namespace mbuild {

enum class Durability {
  output,  // fsync before the rename: an output survives a crash whole or not at all
  cache,   // no fsync: a cache entry lost in a crash is only a miss, and fsyncs cost seconds
};

// Writes through a temporary file beside `path` and a rename; on failure nothing is left
// behind and any previous file stays intact (ErrorKind::io naming the path).
Result<void> write_file_atomic(const std::filesystem::path& path, std::string_view content,
                               Durability durability = Durability::output);

}  // namespace mbuild
