// Writing files so that readers never see half of one.
#pragma once

#include <filesystem>
#include <string_view>

#include "mbuild/util/error.hpp"

namespace mbuild {

enum class Durability {
  output,  // fsync the file before the rename and the folder after it: an output survives a
           // crash whole or not at all
  cache,   // no fsync: a cache entry lost in a crash is only a miss, and fsyncs cost seconds
};

// Writes through a temporary file beside `path` and a rename; on failure nothing is left
// behind and any previous file stays intact (ErrorKind::io naming the path). The temporary file
// is named ".<file name>.tmp.<pid>.<random>": hidden, and never ending like an output. A kill
// between the write and the rename leaves it behind; a later successful write of the same path
// removes such leftovers once their process is gone and they are over a minute old.
//
// A path that names a device, a pipe or a socket (/dev/stdout, /dev/null, a FIFO), directly or
// through a symlink, is written in place: renaming over it would replace the device.
Result<void> write_file_atomic(const std::filesystem::path& path, std::string_view content,
                               Durability durability = Durability::output);

// True for a name write_file_atomic gives its temporary files while writing `file_name`.
bool is_atomic_write_temp(std::string_view name, std::string_view file_name);

}  // namespace mbuild
