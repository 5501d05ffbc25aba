// The model: a snapshot parsed and checked (normalised config + tensor table).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/model_config.hpp"
#include "core/safetensors.hpp"
#include "core/shard_index.hpp"
#include "core/source.hpp"

namespace mbuild {

struct WeightFileInfo {
  std::string name;
  uint64_t size = 0;          // the whole file, data region included
  uint64_t header_bytes = 0;  // N
  uint64_t data_bytes = 0;    // tensor bytes the header describes
  size_t tensors = 0;
  std::vector<std::pair<std::string, std::string>> metadata;
};

struct Model {
  ModelRef ref;
  std::optional<ModelConfig> config;
  std::optional<ShardIndex> index;
  std::vector<WeightFileInfo> files;
  std::vector<TensorInfo> tensors;  // every file's tensors, file by file, in header order
  std::vector<std::string> other_weights;
  std::vector<Finding> findings;
};

// Parses a snapshot: config, index and every header (in parallel), then checks index <-> shard
// consistency. Malformed input fails with bad_input naming the file; inconsistencies between
// well-formed pieces are findings.
Result<Model> build_model(Snapshot snapshot);

}  // namespace mbuild
