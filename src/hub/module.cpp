// The entry point of mbuild-hub.so (see module.hpp): the one symbol the module exports.
#include "hub/module.hpp"

namespace mbuild::hub {
namespace {

std::unique_ptr<ModelSource> open(std::string repo, std::string revision, HubOptions options) {
  return std::make_unique<HubSource>(std::move(repo), std::move(revision), std::move(options));
}

bool has_cached_snapshot(const std::filesystem::path& dir, const std::string& repo,
                         const std::string& commit) {
  return load_cached_snapshot(dir, repo, commit).has_value();
}

constexpr ModuleApi k_api{MBUILD_VERSION, module_abi(), open, cached_commit, has_cached_snapshot};

}  // namespace
}  // namespace mbuild::hub

extern "C" __attribute__((visibility("default"))) const mbuild::hub::ModuleApi*
mbuild_hub_module_v1() {
  return &mbuild::hub::k_api;
}
