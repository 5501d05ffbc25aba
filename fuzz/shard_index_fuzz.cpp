// Fuzzes the sharded-checkpoint index reader, and the index <-> shards checks of a model that
// has the index but none of its shards.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/model.hpp"
#include "core/shard_index.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto index = mbuild::parse_shard_index("model.safetensors.index.json", input);
  if (!index) {
    return 0;
  }
  // The reader's promises: a non-empty map into safe, bounded shard names.
  if (index->weight_map.empty() || index->shards.size() > mbuild::k_max_shards) {
    std::abort();
  }
  for (const auto& entry : index->weight_map) {
    if (entry.shard >= index->shards.size() ||
        entry.name_offset + entry.name_size > index->names.size()) {
      std::abort();
    }
    (void)index->tensor(entry);
  }
  for (const std::string& shard : index->shards) {
    if (!mbuild::check_shard_name(index->name, shard)) {
      std::abort();
    }
  }
  mbuild::Snapshot snapshot;
  snapshot.ref.id = "fuzz";
  snapshot.index = std::move(*index);
  (void)mbuild::build_model(std::move(snapshot));
  return 0;
}
