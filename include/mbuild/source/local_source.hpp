// Local sources: a model folder, a single .safetensors file, and the HF cache.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "mbuild/snapshot/snapshot.hpp"

namespace mbuild {

// Reads a model folder: config.json and the weight layout it holds (an index and its shards,
// model.safetensors, Mistral consolidated*, diffusers), first match wins.
class LocalFolderSource final : public ModelSource {
 public:
  // `gguf_select` picks one GGUF quantization when the folder holds several (see
  // choose_weight_layout); a folder of several without it fails (usage) listing them.
  explicit LocalFolderSource(std::filesystem::path folder, std::string id = {},
                             std::string gguf_select = {});
  Result<Snapshot> snapshot() override;

 private:
  Result<Snapshot> read_snapshot();

  std::filesystem::path m_folder;
  std::string m_id;
  std::string m_gguf_select;
};

// Reads one .safetensors or .gguf file (a split GGUF part reads every part of its set) (and a
// config.json beside it, when there is one).
class LocalFileSource final : public ModelSource {
 public:
  explicit LocalFileSource(std::filesystem::path file);
  Result<Snapshot> snapshot() override;

 private:
  std::filesystem::path m_file;
};

// The snapshot folder the HF cache holds for a repo at a revision:
// $HF_HUB_CACHE/models--org--name/refs/<rev> -> snapshots/<commit>/ (a 40-hex rev goes straight
// to snapshots/). Fails (network: an offline miss) when the repo, ref or snapshot is missing,
// and (bad_input) when a ref does not hold a commit. `commit` receives the resolved commit.
Result<std::filesystem::path> resolve_hf_cache(const std::filesystem::path& hub_cache,
                                               const std::string& repo_id,
                                               const std::string& revision, std::string& commit);

// Reads a whole small file (config.json, an index) with a size cap.
Result<ByteBuffer> read_small_file(const std::filesystem::path& path, uint64_t max_bytes);

// Reads a weight file's header: the first 8 + N bytes of a safetensors file, or a GGUF file's
// header through its last tensor info (told apart by the GGUF magic).
Result<WeightFile> read_weight_head(const std::filesystem::path& path, std::string name);

}  // namespace mbuild
