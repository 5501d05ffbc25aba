// The model: a snapshot parsed and checked (normalised config + tensor table).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mbuild/model/model_config.hpp"
#include "mbuild/snapshot/gguf.hpp"
#include "mbuild/snapshot/safetensors.hpp"
#include "mbuild/snapshot/shard_index.hpp"
#include "mbuild/snapshot/snapshot.hpp"

namespace mbuild {

// Named limits for a whole model, over all its files: five times the largest published
// checkpoints (~2T parameters, ~4 TB, ~100k tensors) and far below what would overflow.
inline constexpr uint64_t k_max_model_parameters = 10'000'000'000'000;  // stored elements
inline constexpr uint64_t k_max_model_data_bytes = 40'000'000'000'000;  // tensor bytes
inline constexpr size_t k_max_model_tensors = 4'000'000;

// What a GGUF file's header says beside its tensors.
struct GgufFileInfo {
  uint32_t version = 0;
  uint64_t alignment = k_gguf_default_alignment;
  uint64_t data_offset = 0;  // where the tensor data starts
  std::vector<GgufKv> metadata;
};

struct WeightFileInfo {
  std::string name;
  uint64_t size = 0;          // the whole file, data region included
  uint64_t header_bytes = 0;  // N
  uint64_t data_bytes = 0;    // tensor bytes the header describes
  size_t tensors = 0;
  std::vector<std::pair<std::string, std::string>> metadata;
  std::optional<GgufFileInfo> gguf;  // GGUF files (header_bytes: magic through tensor infos)
};

struct Model {
  ModelRef ref;
  std::optional<ModelConfig> config;
  std::optional<ShardIndex> index;
  std::vector<WeightFileInfo> files;
  std::vector<TensorInfo> tensors;  // every file's tensors, file by file, in header order
  NameStore names;                  // what tensors[i].name views
  std::vector<std::string> other_weights;
  std::vector<Finding> findings;
  // The GGUF file whose metadata describes the model (the first split), or nullptr.
  const WeightFileInfo* gguf_file() const {
    for (const WeightFileInfo& f : files) {
      if (f.gguf) {
        return &f;
      }
    }
    return nullptr;
  }
};

// A model's running totals over the files read so far.
struct ModelTotals {
  uint64_t tensors = 0;
  uint64_t parameters = 0;  // stored elements, before any quantization unpacking
  uint64_t data_bytes = 0;
};

// Adds one file's tensors to the totals; fails (bad_input naming the file and the limit) when a
// total would pass its k_max_model_* limit, leaving the totals as they were.
Result<void> add_file_totals(ModelTotals& totals, std::string_view file, size_t tensors,
                             uint64_t parameters, uint64_t data_bytes);

// Parses a snapshot: config, index and every header (in parallel), then checks index <-> shard
// consistency. Malformed input fails with bad_input naming the file, as does a model over one of
// the limits above (naming the file that crosses it); inconsistencies between well-formed pieces
// are findings.
Result<Model> build_model(Snapshot snapshot);

}  // namespace mbuild
