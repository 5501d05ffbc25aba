// The sharded-checkpoint index (model.safetensors.index.json and its kin).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mbuild/util/byte_buffer.hpp"
#include "mbuild/util/error.hpp"
#include "mbuild/util/name_store.hpp"

namespace mbuild {

inline constexpr uint64_t k_max_index_bytes = 256'000'000;
inline constexpr size_t k_max_shards = 10'000;

// Index file names, in the order a folder or repo is searched for them.
inline constexpr std::string_view k_index_names[] = {
    "model.safetensors.index.json",
    "consolidated.safetensors.index.json",
    "diffusion_pytorch_model.safetensors.index.json",
};

struct ShardIndex {
  std::string name;                    // the index file's name
  std::optional<uint64_t> total_size;  // metadata.total_size (number or numeric string)
  std::optional<uint64_t> total_parameters;
  std::vector<std::string> shards;  // distinct shard names, first-seen order
  struct Entry {
    const char* name;  // in names
    uint32_t name_size;
    uint32_t shard;  // into shards
  };
  std::vector<Entry> weight_map;
  NameStore names;  // what the entries' names point into: the file's bytes, or copies

  std::string_view tensor(const Entry& e) const { return std::string_view(e.name, e.name_size); }
};

// Parses an index; fails on malformed JSON, a missing or empty weight_map, or an unsafe shard name.
// The index keeps `bytes` when its names can be viewed in place (no escapes): no copy of them.
Result<ShardIndex> parse_shard_index(std::string_view file, ByteBuffer bytes);
Result<ShardIndex> parse_shard_index(std::string_view file, std::string_view bytes);
// The same read by simdjson alone, without the plain-JSON fast path: the fuzzer's reference.
Result<ShardIndex> parse_shard_index_reference(std::string_view file, const ByteBuffer& bytes);

// Checks that a shard name from weight_map stays inside the model folder.
Result<void> check_shard_name(std::string_view file, std::string_view shard);

}  // namespace mbuild
