// A model source: where config.json and the safetensors headers come from (a local folder,
// the HF cache, the Hub). The analyses only ever see the Snapshot it returns.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mbuild/snapshot/shard_index.hpp"
#include "mbuild/util/byte_buffer.hpp"
#include "mbuild/util/error.hpp"
#include "mbuild/util/finding.hpp"

namespace mbuild {

// The largest config.json a source reads.
inline constexpr uint64_t k_max_config_bytes = 64'000'000;

struct ModelRef {
  std::string id;        // "org/name", or the folder / file name for a local source
  std::string revision;  // as asked ("main", a tag, a sha); empty for a plain folder
  std::string commit;    // the resolved 40-hex commit when known
  std::string source;    // "local", "hf-cache" or "hub"
  std::string location;  // folder path or endpoint URL (never with a token)
};

// One safetensors file: its name relative to the model root, its full size, and its first
// 8 + N bytes (the length prefix and the JSON header).
struct WeightFile {
  std::string name;
  uint64_t size = 0;
  ByteBuffer head;
};

// What reading a snapshot from the network cost (absent for local sources and cache hits).
struct TransferSummary {
  uint64_t requests = 0;      // HTTP requests: redirect hops and retries included
  uint64_t connections = 0;   // connections opened for them (fewer than requests: reuse)
  uint64_t http2 = 0;         // requests answered over HTTP/2
  uint64_t retries = 0;       // requests sent again (failures, 429, 5xx)
  uint64_t congestion = 0;    // refusals, resets, timeouts, 429 and 503 met
  uint64_t bytes = 0;         // body bytes received
  uint64_t header_files = 0;  // weight files whose header was read
  uint64_t header_reads = 0;  // ranged reads of those headers: one per file when sized right
};

struct Snapshot {
  ModelRef ref;
  std::optional<std::string> config_json;
  std::string config_name = "config.json";
  std::optional<ShardIndex> index;  // parsed by the source: it names the shards to read
  std::vector<WeightFile> files;
  std::vector<std::string> other_weights;  // pytorch_model.bin, *.gguf, ... seen beside them
  std::vector<Finding> findings;
  // Put before a file name in error messages: the folder path, or "org/name@rev/".
  std::string display_prefix;
  std::optional<TransferSummary> transfer;
};

class ModelSource {
 public:
  virtual ~ModelSource() = default;
  // Reads everything the analyses need; fails with the kind the CLI turns into an exit code.
  virtual Result<Snapshot> snapshot() = 0;
};

}  // namespace mbuild
