// The Hub module (src/hub/module.hpp), loaded on first use: only a Hub id needs libcurl.
#pragma once

#include "mbuild/source/hub/module.hpp"
#include "mbuild/util/error.hpp"

namespace mbuild::cli {

// mbuild-hub.so beside the binary (the build tree) or in ../lib/mbuild/ (an install), loaded
// once and kept for the process. Fails with a network error naming the file: without the
// module the Hub cannot be reached.
Result<const hub::ModuleApi*> hub_module();

}  // namespace mbuild::cli
