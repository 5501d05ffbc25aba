// The Hub module: mbuild-hub.so, the Hub source and its cache with libcurl linked in. The CLI
// loads it with dlopen the first time a source is a Hub id, so a local folder never pays for
// libcurl and the libraries it pulls in, 30 of 38 (mbuild --version: 23.0 ms with them, 7.2
// without).
//
// The module is built from the same tree and compiler as the binary that loads it, so the table
// passes C++ types; `abi` guards against a module left over from another build.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "mbuild/source/hub/hub_source.hpp"

namespace mbuild::hub {

struct ModuleApi {
  const char* version;  // MBUILD_VERSION of the module's build
  uint64_t abi;         // module_abi() as the module's build computed it
  std::unique_ptr<ModelSource> (*open)(std::string repo, std::string revision, HubOptions options);
  // A source answering from mbuild's cache at `dir` with what it holds for `revision` (and the
  // GGUF quantization `gguf_select`, when not empty), read once; null when the cache does not
  // hold it whole.
  std::unique_ptr<ModelSource> (*open_cached)(const std::filesystem::path& dir,
                                              const std::string& repo, const std::string& revision,
                                              const std::string& gguf_select);
};

// Changes whenever a passed type changes size; the version string covers the rest.
constexpr uint64_t module_abi() {
  return (uint64_t{sizeof(HubOptions)} << 48) ^ (uint64_t{sizeof(Snapshot)} << 32) ^
         (uint64_t{sizeof(Error)} << 16) ^ uint64_t { sizeof(ModelRef) };
}

// The module's file name, and the name of its one exported function.
inline constexpr const char* k_module_file = "mbuild-hub.so";
inline constexpr const char* k_module_entry = "mbuild_hub_module_v1";

}  // namespace mbuild::hub
