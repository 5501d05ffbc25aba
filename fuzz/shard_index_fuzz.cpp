// Fuzzes the sharded-checkpoint index reader, and the index <-> shards checks of a model that
// has the index but none of its shards.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mbuild/model/model.hpp"
#include "mbuild/snapshot/shard_index.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto index = mbuild::parse_shard_index("model.safetensors.index.json", input);
  // The plain-JSON fast path must read what the simdjson reader reads, or fall back to it.
  auto reference = mbuild::parse_shard_index_reference("model.safetensors.index.json",
                                                       mbuild::ByteBuffer::copy_of(input));
  if (index.has_value() != reference.has_value() ||
      (!index && index.error().message() != reference.error().message())) {
    std::abort();
  }
  if (!index) {
    return 0;
  }
  if (index->total_size != reference->total_size ||
      index->total_parameters != reference->total_parameters ||
      index->shards != reference->shards ||
      index->weight_map.size() != reference->weight_map.size()) {
    std::abort();
  }
  for (size_t i = 0; i < index->weight_map.size(); ++i) {
    const auto& x = index->weight_map[i];
    const auto& y = reference->weight_map[i];
    if (x.shard != y.shard || index->tensor(x) != reference->tensor(y)) {
      std::abort();
    }
  }
  // The reader's promises: a non-empty map into safe, bounded shard names.
  if (index->weight_map.empty() || index->shards.size() > mbuild::k_max_shards) {
    std::abort();
  }
  for (const auto& entry : index->weight_map) {
    if (entry.shard >= index->shards.size() || (entry.name == nullptr && entry.name_size != 0)) {
      std::abort();
    }
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
