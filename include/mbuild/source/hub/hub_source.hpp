// The Hub source: config.json and safetensors or GGUF headers over HTTP Range requests, and the
// commit-keyed cache that lets a pinned commit re-run with no request at all.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "mbuild/snapshot/snapshot.hpp"

namespace mbuild::hub {

struct HubOptions {
  std::string endpoint = "https://huggingface.co";
  std::string token;
  std::filesystem::path cache_dir;  // mbuild's own cache; empty: no cache
  bool offline = false;             // answer from the cache only
  unsigned max_in_flight = 64;      // requests in flight at once, all hosts
  unsigned max_connections = 16;    // open connections per host
  std::string ca_file;              // TLS trust: a CA bundle, a certificate folder
  std::string ca_path;
  unsigned fd_limit = 0;  // the process's descriptor limit: caps open connections (0: none)
  std::chrono::seconds timeout{10};
  std::chrono::milliseconds backoff_base{200};
  // One GGUF quantization of several ("org/name:Q4_K_M", --file): a tag, variant or file name.
  std::string gguf_select;
  // Called as files complete: (files done, files in all, bytes received).
  std::function<void(size_t, size_t, uint64_t)> progress;
};

class HubSource final : public ModelSource {
 public:
  // `repo_id` is "org/name" (already validated); `revision` empty means "main".
  HubSource(std::string repo_id, std::string revision, HubOptions options);
  Result<Snapshot> snapshot() override;

 private:
  std::string m_repo;
  std::string m_revision;
  HubOptions m_options;
};

// True for a full 40-hex commit sha.
bool is_commit_sha(std::string_view revision);

// mbuild's cache: a snapshot stored under
// <dir>/models--org--name/snapshots/<commit>/ (config.json, the index, heads.bin, and
// manifest.json written last with each file's size and hash) and refs/<revision> -> commit.
// One GGUF quantization asked for by `gguf_select` is its own entry, under
// snapshots/<commit>@<select, lower-cased>/; a select that cannot name a folder is not cached.
// A missing, short or damaged file makes the entry a miss.
std::optional<Snapshot> load_cached_snapshot(const std::filesystem::path& dir,
                                             const std::string& repo, const std::string& commit,
                                             std::string_view gguf_select = {});
std::optional<std::string> cached_commit(const std::filesystem::path& dir, const std::string& repo,
                                         const std::string& revision);
// The snapshot the cache holds for `revision` (a commit sha, or a branch or tag it has recorded),
// with ref.revision set to it: what an offline run answers from.
std::optional<Snapshot> load_cached_revision(const std::filesystem::path& dir,
                                             const std::string& repo, const std::string& revision,
                                             std::string_view gguf_select = {});
Result<void> store_snapshot(const std::filesystem::path& dir, const Snapshot& snapshot,
                            std::string_view index_bytes, const std::string& revision,
                            std::string_view gguf_select = {});
// Records refs/<revision> -> commit; nothing for a commit sha or a revision that would leave refs/.
Result<void> remember_ref(const std::filesystem::path& dir, const std::string& repo,
                          const std::string& revision, const std::string& commit);

}  // namespace mbuild::hub
