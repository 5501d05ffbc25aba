// The entry point of mbuild-hub.so (see module.hpp): the one symbol the module exports.
#include "mbuild/source/hub/module.hpp"

namespace mbuild::hub {
namespace {

std::unique_ptr<ModelSource> open(std::string repo, std::string revision, HubOptions options) {
  return std::make_unique<HubSource>(std::move(repo), std::move(revision), std::move(options));
}

// A snapshot already read from the cache, handed to the one snapshot() call.
class CachedSource final : public ModelSource {
 public:
  explicit CachedSource(Snapshot snapshot) : m_snapshot(std::move(snapshot)) {}
  Result<Snapshot> snapshot() override { return std::move(m_snapshot); }

 private:
  Snapshot m_snapshot;
};

std::unique_ptr<ModelSource> open_cached(const std::filesystem::path& dir, const std::string& repo,
                                         const std::string& revision,
                                         const std::string& gguf_select) {
  auto cached = load_cached_revision(dir, repo, revision, gguf_select);
  return cached ? std::make_unique<CachedSource>(std::move(*cached)) : nullptr;
}

constexpr ModuleApi k_api{MBUILD_VERSION, module_abi(), open, open_cached};

}  // namespace
}  // namespace mbuild::hub

extern "C" __attribute__((visibility("default"))) const mbuild::hub::ModuleApi*
mbuild_hub_module_v1() {
  return &mbuild::hub::k_api;
}
